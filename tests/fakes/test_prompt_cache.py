"""The fake's prompt cache: OpenAI's rule (a shared prefix from 1,024 tokens, in steps of 128)."""

from __future__ import annotations

import aiohttp

from assistant.model.tokens import REPLY_PRIMING_TOKENS, estimate_message_tokens, estimate_text_tokens
from tests.fakes.completions import FakeCompletions
from tests.fakes.prompt_cache import PromptCache, billable_cached, message_keys

LONG = "Every answer explains one step. " * 300  # 1,801 tokens of content


def test_only_prefixes_from_1024_tokens_count_in_steps_of_128() -> None:
    assert [billable_cached(n) for n in (0, 1_023, 1_024, 1_151, 1_152, 5_000)] == [
        0,
        0,
        1_024,
        1_024,
        1_152,
        4_992,
    ]


def test_whole_shared_messages_count_their_tokens_and_the_first_difference_its_common_text() -> None:
    cache = PromptCache()
    first = [{"role": "system", "content": "S"}, {"role": "user", "content": LONG + "question one"}]
    cache.remember(message_keys(first))
    second = [{"role": "system", "content": "S"}, {"role": "user", "content": LONG + "question two"}]
    shared = estimate_message_tokens("S") + estimate_text_tokens(LONG + "question ")
    assert cache.shared_prefix_tokens(message_keys(second)) == shared


def test_a_different_role_shares_nothing_of_that_message() -> None:
    cache = PromptCache()
    cache.remember(message_keys([{"role": "system", "content": "S"}, {"role": "user", "content": LONG}]))
    other = [{"role": "system", "content": "S"}, {"role": "assistant", "content": LONG}]
    assert cache.shared_prefix_tokens(message_keys(other)) == estimate_message_tokens("S")


def test_the_longest_prefix_among_all_earlier_prompts_is_served() -> None:
    cache = PromptCache()
    system = {"role": "system", "content": "S"}
    cache.remember(message_keys([system, {"role": "user", "content": "short"}]))
    cache.remember(
        message_keys([system, {"role": "user", "content": LONG}, {"role": "assistant", "content": "a"}])
    )
    asked = [system, {"role": "user", "content": LONG}, {"role": "user", "content": "next"}]
    prompt, cached = cache.serve(asked)
    assert prompt == sum(estimate_message_tokens(m["content"]) for m in asked) + REPLY_PRIMING_TOKENS
    assert cached == billable_cached(estimate_message_tokens("S") + estimate_message_tokens(LONG))


async def test_the_server_reports_cached_tokens_in_usage_when_asked_to() -> None:
    async with FakeCompletions(api_key="k", prompt_cache=True) as fake, aiohttp.ClientSession() as session:
        history = [{"role": "system", "content": "S"}, {"role": "user", "content": LONG}]
        reported = []
        for messages in (history, [*history, {"role": "assistant", "content": "a"}]):
            async with session.post(
                f"{fake.base_url}/chat/completions",
                json={"model": fake.model, "messages": messages},
                headers={"Authorization": "Bearer k"},
            ) as response:
                reported.append((await response.json())["usage"])
    assert reported[0]["prompt_tokens_details"]["cached_tokens"] == 0
    shared = estimate_message_tokens("S") + estimate_message_tokens(LONG)  # 1,810 tokens
    assert shared == 1_810
    assert reported[1]["prompt_tokens_details"]["cached_tokens"] == 1_792  # 14 steps of 128
    assert reported[1]["prompt_tokens"] == shared + estimate_message_tokens("a") + REPLY_PRIMING_TOKENS
