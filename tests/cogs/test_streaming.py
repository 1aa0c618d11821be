"""Streaming, end to end: answers grow in place, paced per channel, split exactly like whole answers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from assistant.delivery.posting import CUT_OFF_NOTE
from assistant.delivery.splitting import split_message
from assistant.delivery.streaming import STREAMING_MARKER
from tests.conftest import Harness
from tests.fakes.completions import Reply

EDIT_INTERVAL_SECONDS = 0.25


@pytest.fixture
def discord_rate_limits() -> bool:
    """Discord's rate limits bear on these answers: the fake enforces them."""
    return True


async def streaming(harness: Harness, **overrides: Any) -> None:
    await harness.stop_bot()
    await harness.start_bot(stream=True, **overrides)


def edit_times(message: dict[str, Any]) -> list[float]:
    return [edit["time"] for edit in message["edits"]]


async def test_a_mention_streams_into_a_message_that_grows_and_ends_clean(harness: Harness) -> None:
    await streaming(harness, edit_interval_seconds=EDIT_INTERVAL_SECONDS)
    text = " ".join(f"word{n}" for n in range(80))
    harness.model.enqueue(Reply(text=text, chunk_size=12, chunk_delay_seconds=0.03))
    asked = await harness.ask("stream please")
    [answer] = await harness.replies_to(asked)
    await harness.settled()
    [answer] = harness.discord.bot_messages(harness.channel)
    assert harness.model.requests[0].json["stream"] is True
    assert harness.model.requests[0].json["stream_options"] == {"include_usage": True}
    assert answer["content"] == text
    assert answer["message_reference"]["message_id"] == asked["id"]
    first_shown = answer["edits"][0]["content"] if answer["edits"] else answer["content"]
    growing = [first_shown] + [edit["content"] for edit in answer["edits"]]
    # Visible before the answer was complete, growing, with the marker until the final edit.
    assert growing[0].endswith(STREAMING_MARKER) or len(answer["edits"]) > 0
    assert all(state.endswith(STREAMING_MARKER) for state in growing[:-1])
    assert not growing[-1].endswith(STREAMING_MARKER)
    # At most one edit per pace interval on this message.
    times = edit_times(answer)
    assert len(times) >= 2
    assert all(b - a >= EDIT_INTERVAL_SECONDS * 0.9 for a, b in itertools.pairwise(times))
    assert await harness.stored_turns() == 2


async def test_first_text_is_visible_before_the_stream_ends(harness: Harness) -> None:
    await streaming(harness)
    text = "The first words arrive quickly. " * 10
    harness.model.enqueue(Reply(text=text, chunk_size=16, chunk_delay_seconds=0.05))
    asked = await harness.ask("quick start?")
    await harness.replies_to(asked)
    # The message was created showing only the beginning, marked as still being written.
    posted = next(r for r in harness.discord.requests if r.method == "POST" and r.path.endswith("/messages"))
    assert posted.json["content"].endswith(STREAMING_MARKER)
    assert len(posted.json["content"]) < len(text)
    assert text.startswith(posted.json["content"][: -len(STREAMING_MARKER)])


async def test_two_channels_stream_at_once_without_slowing_each_other(harness: Harness) -> None:
    await streaming(harness, edit_interval_seconds=EDIT_INTERVAL_SECONDS)
    other = harness.discord.add_text_channel(harness.guild, "other")
    for _ in range(2):
        harness.model.enqueue(Reply(text="chunk " * 60, chunk_size=6, chunk_delay_seconds=0.02))
    first = await harness.ask("one")
    second = await harness.ask("two", author=harness.bob, channel=other)
    [a] = await harness.replies_to(first)
    [b] = await harness.replies_to(second, channel=other)
    await harness.settled()
    a, b = harness.discord.bot_messages(harness.channel)[0], harness.discord.bot_messages(other)[0]
    times_a, times_b = edit_times(a), edit_times(b)
    assert len(times_a) >= 3 and len(times_b) >= 3
    # Each channel keeps its own pace, so their edits interleave closer than one interval apart.
    closest = min(abs(x - y) for x in times_a for y in times_b)
    assert closest < EDIT_INTERVAL_SECONDS * 0.9


async def test_a_long_answer_with_code_streams_into_the_same_messages_as_without_streaming(
    harness: Harness,
) -> None:
    code = "```python\n" + "".join(f"result_{n} = work({n})  # step {n}\n" for n in range(110)) + "```\n"
    text = "Here is the program.\n\n" + "It does several things. " * 50 + "\n\n" + code + "\nDone. " * 40
    assert len(text) > 5000
    await streaming(harness)
    harness.model.enqueue(Reply(text=text, chunk_size=97))
    asked = await harness.ask("long code")
    expected = split_message(text)
    await harness.replies_to(asked, count=len(expected))
    await harness.settled()
    streamed = [m["content"] for m in harness.discord.bot_messages(harness.channel)]
    assert streamed == expected
    # Every send and every edit stayed within the limit and pinged nobody.
    writes = [r for r in harness.discord.requests if r.method in ("POST", "PATCH") and "/messages" in r.path]
    assert writes and all(len(r.json["content"]) <= 2000 for r in writes)
    assert all(r.json["allowed_mentions"]["parse"] == [] for r in writes)


async def test_a_stream_cut_midway_keeps_its_text_ends_with_a_note_and_stores_nothing(
    harness: Harness,
) -> None:
    await streaming(harness)
    harness.model.enqueue(
        Reply(text="Part of an answer that will not finish. " * 5, chunk_size=20, cut_after_chunks=4)
    )
    asked = await harness.ask("this will break")
    [answer] = await harness.replies_to(asked)
    await harness.settled()
    [answer] = harness.discord.bot_messages(harness.channel)
    assert answer["content"].startswith("Part of an answer that will")
    assert answer["content"].endswith(CUT_OFF_NOTE.format(reason="the connection to the AI service dropped."))
    assert STREAMING_MARKER not in answer["content"]
    assert await harness.stored_turns() == 0
    assert len(harness.model.requests) == 1  # text was shown, so no retry


async def test_a_failure_before_any_text_is_retried_then_streams(harness: Harness) -> None:
    await streaming(harness)
    harness.model.enqueue(
        Reply(status=503, error_code="model_unavailable", headers={"Retry-After": "0"}),
        Reply(text="Second time lucky."),
    )
    asked = await harness.ask("retry me")
    await harness.replies_to(asked)
    await harness.settled()
    assert harness.discord.bot_messages(harness.channel)[0]["content"] == "Second time lucky."
    assert len(harness.model.requests) == 2


async def test_ask_streams_through_the_interaction(harness: Harness) -> None:
    await streaming(harness)
    text = "Interaction streaming works. " * 20
    harness.model.enqueue(Reply(text=text, chunk_size=25, chunk_delay_seconds=0.02))
    interaction = await harness.discord.slash(
        "ask", {"question": "stream?"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: [m["content"] for m in interaction.messages()] == [text])
    edits = [r for r in harness.discord.requests if r.method == "PATCH" and r.path.startswith("/webhooks/")]
    assert edits and all(r.json["allowed_mentions"]["parse"] == [] for r in edits)


async def test_chat_threads_stream_too(harness: Harness) -> None:
    await streaming(harness)
    harness.model.enqueue(Reply(text="Thread answer, streamed. " * 8, chunk_size=30))
    await harness.discord.slash(
        "chat", {"prompt": "stream in a thread"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(harness.channel)))
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.discord.wait_for(
        lambda: (
            [m["content"] for m in harness.discord.bot_messages(thread)][1:]
            == ["Thread answer, streamed. " * 8]
        )
    )


async def test_without_streaming_each_answer_is_posted_whole(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Posted in one go. " * 10, chunk_size=5))
    asked = await harness.ask("whole please")
    [answer] = await harness.replies_to(asked)
    assert harness.model.requests[0].json.get("stream") in (None, False)
    assert answer["content"] == "Posted in one go. " * 10
    assert answer["edits"] == []
