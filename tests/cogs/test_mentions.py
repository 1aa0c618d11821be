"""Mentions, end to end: what members see in Discord and what the model is sent."""

from __future__ import annotations

import asyncio

import pytest

from assistant.delivery.splitting import split_message
from assistant.errors import AuthenticationFailed
from cogs.mentions import EMPTY_MENTION_HINT
from tests.conftest import Harness
from tests.fakes.completions import Reply


@pytest.fixture
def discord_rate_limits() -> bool:
    """Discord's rate limits bear on these answers: the fake enforces them."""
    return True


async def test_a_mention_is_answered_with_a_reply_to_the_member(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Use `list.reverse()` or slicing: `xs[::-1]`."))
    asked = await harness.ask("how do I reverse a list?")
    [answer] = await harness.replies_to(asked)
    assert answer["content"] == "Use `list.reverse()` or slicing: `xs[::-1]`."
    assert answer["message_reference"]["message_id"] == asked["id"]
    [request] = harness.model.requests
    assert request.json["model"] == "gpt-5.2"
    assert request.messages[0]["role"] == "system"
    assert request.messages[-1] == {"role": "user", "content": "alice: how do I reverse a list?"}
    assert any(channel_id == harness.channel.id for channel_id, _ in harness.discord.typing)


async def test_even_a_fast_answer_shows_typing_first(harness: Harness) -> None:
    asked = await harness.ask("quick one")
    await harness.replies_to(asked)
    [(channel_id, typed_at)] = harness.discord.typing
    posted = next(r for r in harness.discord.requests if r.method == "POST" and r.path.endswith("/messages"))
    assert channel_id == harness.channel.id and typed_at <= posted.time


async def test_a_reply_to_the_bot_counts_as_a_mention(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="First answer."), Reply(text="Second answer."))
    asked = await harness.ask("first?")
    [answer] = await harness.replies_to(asked)
    follow_up = await harness.discord.user_says(
        harness.channel, harness.alice, "and why?", reply_to=int(answer["id"]), ping_reply=False
    )
    [second] = await harness.replies_to(follow_up)
    assert second["content"] == "Second answer."
    assert harness.model.requests[-1].messages[-1]["content"] == "alice: and why?"


async def test_messages_not_addressed_to_the_bot_are_ignored(harness: Harness) -> None:
    other_bot = harness.discord.add_member(harness.guild, "otherbot", bot=True)
    await harness.discord.user_says(harness.channel, harness.alice, "just chatting")
    await harness.discord.user_says(harness.channel, harness.alice, "@everyone look at this")
    await harness.discord.user_says(harness.channel, other_bot, f"<@{harness.discord.bot_user.id}> hello bot")
    # A question after them is answered, and is the only thing the model ever saw.
    asked = await harness.ask("are you there?")
    await harness.replies_to(asked)
    assert [r.messages[-1]["content"] for r in harness.model.requests] == ["alice: are you there?"]


async def test_the_bots_own_messages_never_trigger_it(harness: Harness) -> None:
    harness.model.enqueue(Reply(text=f"You can mention me like <@{harness.discord.bot_user.id}>."))
    asked = await harness.ask("how do I call you?")
    await harness.replies_to(asked)
    second = await harness.ask("thanks")
    await harness.replies_to(second)
    assert len(harness.model.requests) == 2


async def test_an_empty_mention_gets_a_hint_and_no_model_call(harness: Harness) -> None:
    asked = await harness.ask("   ")
    [hint] = await harness.replies_to(asked)
    assert hint["content"] == EMPTY_MENTION_HINT
    assert harness.model.requests == []


async def test_history_carries_earlier_exchanges_and_survives_a_restart(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Paris."))
    first = await harness.ask("capital of France?")
    await harness.replies_to(first)
    await harness.stop_bot()
    await harness.start_bot()
    harness.model.enqueue(Reply(text="About 2 million."))
    second = await harness.ask("its population?", author=harness.bob)
    await harness.replies_to(second)
    sent = harness.model.requests[-1].messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "alice: capital of France?"
    assert sent[2]["content"] == "Paris."
    assert sent[3]["content"] == "bob: its population?"


async def test_two_quick_questions_are_answered_in_order_the_second_seeing_the_first(
    harness: Harness,
) -> None:
    release = asyncio.Event()
    harness.model.enqueue(Reply(text="one", release=release), Reply(text="two"))
    first = await harness.ask("question one")
    second = await harness.ask("question two")
    await harness.model.wait_requests(1)
    release.set()
    answers = await harness.replies_to(first, count=2)
    assert [a["content"] for a in answers] == ["one", "two"]
    assert answers[1]["message_reference"]["message_id"] == second["id"]
    assert harness.model.requests[1].messages[-3:] == [
        {"role": "user", "content": "alice: question one"},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "alice: question two"},
    ]


async def test_one_members_slow_answer_does_not_hold_up_another_member(harness: Harness) -> None:
    release = asyncio.Event()
    harness.model.enqueue(Reply(text="slow", release=release), Reply(text="fast"))
    slow = await harness.ask("a long question")
    await harness.model.wait_requests(1)
    fast = await harness.ask("a quick one", author=harness.bob)
    [answer] = await harness.replies_to(fast)
    assert answer["content"] == "fast"
    assert harness.discord.bot_messages(harness.channel) == [answer]
    # bob's request started before alice's exchange completed, so it does not carry it.
    assert [m["role"] for m in harness.model.requests[1].messages] == ["system", "user"]
    release.set()
    await harness.replies_to(slow, count=2)


async def test_a_long_answer_is_split_into_messages_under_the_limit(harness: Harness) -> None:
    code = "```python\n" + "\n".join(f"print({n})  # line {n}" for n in range(150)) + "\n```"
    text = ("Intro paragraph. " * 60).strip() + "\n\n" + code + "\n\nThat's all. " + "Done. " * 100
    harness.model.enqueue(Reply(text=text))
    asked = await harness.ask("write a long program")
    await harness.model.wait_requests(1)
    await harness.discord.wait_for(
        lambda: sum(len(m["content"]) for m in harness.discord.bot_messages(harness.channel)) >= len(text)
    )
    parts = [m["content"] for m in harness.discord.bot_messages(harness.channel)]
    assert len(parts) >= 3
    assert all(len(part) <= 2000 for part in parts)
    assert parts[0].startswith("Intro paragraph.")
    for part in parts:
        assert part.count("```") % 2 == 0, "every message has balanced code fences"
    reopened = [p for p in parts[1:] if p.startswith("```python\n")]
    assert reopened, "the cut code block is reopened with its language"
    # Exactly the splitter's parts (whose lossless joining is property-tested), in order.
    assert parts == split_message(text)
    # The first part replies to the member; the whole answer is one stored turn.
    assert (
        parts
        and harness.discord.bot_messages(harness.channel)[0]["message_reference"]["message_id"] == asked["id"]
    )
    assert await harness.stored_turns() == 2


async def test_nothing_the_model_writes_pings_anyone(harness: Harness) -> None:
    harness.model.enqueue(Reply(text=f"@everyone @here <@{harness.bob.id}> <@&{harness.guild.id}> hi"))
    asked = await harness.ask("ping everybody")
    [answer] = await harness.replies_to(asked)
    assert answer["pinged"] == []
    sends = [r for r in harness.discord.requests if r.method in ("POST", "PATCH") and "/messages" in r.path]
    assert sends and all(r.json["allowed_mentions"]["parse"] == [] for r in sends)


async def test_a_model_failure_is_explained_and_leaves_history_as_it_was(harness: Harness) -> None:
    harness.model.enqueue(Reply(status=401, error_code="invalid_api_key", error_message="bad key"))
    asked = await harness.ask("hello?")
    [reply] = await harness.replies_to(asked)
    assert reply["content"] == AuthenticationFailed.user_message
    assert "sk-" not in reply["content"]
    assert await harness.stored_turns() == 0


async def test_a_question_over_the_context_budget_is_refused_clearly(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(context_tokens=300)
    asked = await harness.ask("explain " + "this " * 500)
    [reply] = await harness.replies_to(asked)
    assert "too long" in reply["content"]
    assert harness.model.requests == []


async def test_a_mention_replying_to_someone_carries_their_message_as_context(harness: Harness) -> None:
    original = await harness.discord.user_says(
        harness.channel, harness.bob, "The mitochondria is the powerhouse."
    )
    asked = await harness.discord.user_says(
        harness.channel,
        harness.alice,
        f"<@{harness.discord.bot_user.id}> is this right?",
        reply_to=int(original["id"]),
    )
    await harness.replies_to(asked)
    assert harness.model.requests[0].messages[-1]["content"] == (
        'alice: [replying to bob: "The mitochondria is the powerhouse."]\nis this right?'
    )
