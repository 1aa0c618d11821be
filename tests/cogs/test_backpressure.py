"""Back-pressure and shutdown, end to end: floods are slowed, busy channels say so, restarts tell."""

from __future__ import annotations

import asyncio

from assistant.errors import ChannelBusy, ShuttingDown
from tests.conftest import Harness
from tests.fakes.completions import Reply


async def test_a_flooding_member_is_slowed_with_one_clear_reply(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(member_cooldown_seconds=60.0)
    asked = [await harness.ask(f"question {n}") for n in range(6)]
    await harness.replies_to(asked[0], count=4)
    await harness.settled()
    replies = [m["content"] for m in harness.discord.bot_messages(harness.channel)]
    slow_downs = [r for r in replies if r.startswith("You're asking faster")]
    assert len(slow_downs) == 1
    assert len(harness.model.requests) == 3  # the burst
    # Another member is not affected.
    other = await harness.ask("my turn", author=harness.bob)
    await harness.replies_to(other)
    assert len(harness.model.requests) == 4


async def test_a_channel_at_its_limit_answers_busy_and_keeps_nothing_waiting(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(channel_queue_limit=2)
    release = asyncio.Event()
    harness.model.enqueue(Reply(text="one", release=release), Reply(text="two", release=release))
    first = await harness.ask("first", author=harness.alice)
    await harness.ask("second", author=harness.bob)
    await harness.model.wait_requests(2)
    third = await harness.ask("third", author=harness.admin)
    [busy] = await harness.replies_to(third)
    assert busy["content"] == ChannelBusy.user_message
    release.set()
    await harness.replies_to(first, count=3)
    assert len(harness.model.requests) == 2


async def test_shutdown_lets_an_answer_in_flight_finish(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Finished before stopping.", delay_seconds=0.5))
    asked = await harness.ask("slow one")
    await harness.model.wait_requests(1)
    await harness.stop_bot()  # grace is 2 s in the tests
    [answer] = [m for m in harness.discord.bot_messages(harness.channel) if int(m["id"]) > int(asked["id"])]
    assert answer["content"] == "Finished before stopping."


async def test_an_answer_that_outlives_the_grace_is_told_the_bot_is_restarting(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(shutdown_grace_seconds=0.2)
    harness.model.enqueue(Reply(hang=True))
    asked = await harness.ask("never finishes")
    await harness.model.wait_requests(1)
    await harness.stop_bot()
    [told] = [m for m in harness.discord.bot_messages(harness.channel) if int(m["id"]) > int(asked["id"])]
    assert told["content"] == ShuttingDown.user_message
    assert await _stored(harness) == 0


async def _stored(harness: Harness) -> int:
    await harness.start_bot()
    return await harness.stored_turns()
