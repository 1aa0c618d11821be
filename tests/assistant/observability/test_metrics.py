"""/metrics after real questions on the fakes: counts and histograms move, labels stay anonymous."""

from __future__ import annotations

from tests.assistant.observability.scrape import samples, value
from tests.conftest import Harness
from tests.fakes.completions import Reply

USAGE = {
    "prompt_tokens": 50,
    "completion_tokens": 30,
    "total_tokens": 80,
    "prompt_tokens_details": {"cached_tokens": 20},
    "completion_tokens_details": {"reasoning_tokens": 10},
}
# Every label name the bot uses: none of them can hold text, a name or a member/channel/server id.
USAGE_KINDS = ("prompt", "completion", "reasoning", "cached")
LABEL_NAMES = {"path", "outcome", "kind", "error", "method", "status", "scope", "budget", "shard"}


async def test_answered_questions_move_the_counts_and_histograms(harness: Harness) -> None:
    before = await samples(harness)
    assert value(before, "assistant_questions_total", path="channel", outcome="answered") == 0
    harness.model.enqueue(Reply(text="One.", usage=USAGE), Reply(text="Two.", usage=USAGE))
    for question in ("first?", "second?"):
        await harness.replies_to(await harness.ask(question))
    await harness.settled()
    after = await samples(harness)
    assert value(after, "assistant_questions_total", path="channel", outcome="answered") == 2
    assert value(after, "assistant_answer_seconds_count", path="channel") == 2
    assert value(after, "assistant_first_text_seconds_count", path="channel") == 2
    assert value(after, "assistant_answer_seconds_sum", path="channel") > 0
    tokens = {kind: value(after, "assistant_model_tokens_total", kind=kind) for kind in USAGE_KINDS}
    assert tokens == {"prompt": 100, "completion": 60, "reasoning": 20, "cached": 40}
    posted = value(after, "assistant_discord_requests_total", method="POST", status="200")
    assert posted >= 2 + value(before, "assistant_discord_requests_total", method="POST", status="200")
    assert value(after, "assistant_conversations_waiting") == 0
    assert value(after, "assistant_shards_connected") == value(after, "assistant_shards") == 1
    assert value(after, "assistant_gateway_latency_seconds", shard="0") >= 0


async def test_a_slash_command_counts_as_a_command(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="42."))
    interaction = await harness.discord.slash(
        "ask", {"question": "meaning?"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    await harness.settled()
    found = await samples(harness)
    assert value(found, "assistant_questions_total", path="command", outcome="answered") == 1
    assert value(found, "assistant_first_text_seconds_count", path="command") == 1


async def test_model_errors_and_retries_are_counted_by_class(harness: Harness) -> None:
    busy = Reply(status=503, error_message="upstream overloaded")
    harness.model.enqueue(busy, Reply(text="Back."), busy, busy, busy)
    await harness.replies_to(await harness.ask("retried then answered"))
    await harness.replies_to(await harness.ask("fails for good"))
    await harness.settled()
    found = await samples(harness)
    assert value(found, "assistant_completions_errors_total", error="ServiceUnavailable") == 4
    assert value(found, "assistant_completions_retries_total", error="ServiceUnavailable") == 3
    assert value(found, "assistant_questions_total", path="channel", outcome="answered") == 1
    assert value(found, "assistant_questions_total", path="channel", outcome="model_error") == 1


async def test_budget_refusals_are_counted_by_budget(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Spent.", usage={"prompt_tokens": 900, "completion_tokens": 200,
                                                      "total_tokens": 1100}))  # fmt: skip
    await harness.stop_bot()
    await harness.start_bot(user_daily_tokens=1_000)
    await harness.replies_to(await harness.ask("spend it"))
    await harness.replies_to(await harness.ask("one more"))
    await harness.settled()
    found = await samples(harness)
    assert value(found, "assistant_budget_refusals_total", budget="member") == 1
    assert value(found, "assistant_questions_total", path="channel", outcome="budget") == 1
    assert harness.model.requests[-1].messages[-1]["content"].endswith("spend it")


async def test_no_label_carries_text_a_name_or_an_id(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Private matters."))
    await harness.replies_to(await harness.ask("my-unique-question-words"))
    await harness.settled()
    found = await samples(harness)
    ids = (harness.alice.id, harness.channel.id, harness.guild.id, harness.discord.bot_user.id)
    secrets = ["my-unique-question-words", "Private matters", harness.alice.name, *map(str, ids)]
    labelled = [sample for sample in found if sample.labels]
    assert labelled
    for sample in labelled:
        assert set(sample.labels) - {"le"} <= LABEL_NAMES, sample
        for label_value in sample.labels.values():
            assert not any(secret in label_value for secret in secrets), sample
            assert len(label_value) <= 24, sample


async def test_a_streamed_answer_times_its_first_text(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(stream=True)
    harness.model.enqueue(Reply(text="Streamed " * 40, chunk_size=30))
    await harness.replies_to(await harness.ask("stream it"))
    await harness.settled()
    found = await samples(harness)
    assert value(found, "assistant_questions_total", path="channel", outcome="answered") == 1
    assert value(found, "assistant_first_text_seconds_count", path="channel") == 1
    first = value(found, "assistant_first_text_seconds_sum", path="channel")
    assert 0 < first <= value(found, "assistant_answer_seconds_sum", path="channel")
