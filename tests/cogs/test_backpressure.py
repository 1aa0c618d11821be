"""Back-pressure and shutdown, end to end: floods are dropped, busy channels say so, restarts tell."""

from __future__ import annotations

import asyncio

import pytest

from assistant.delivery.requests import ROUTE_REQUESTS
from assistant.errors import ChannelBusy, ShuttingDown, TooManyWaiting
from tests.conftest import Harness
from tests.fakes.completions import Reply


@pytest.fixture
def discord_rate_limits() -> bool:
    """Discord's rate limits bear on these answers: the fake enforces them."""
    return True


async def test_a_member_who_waits_for_each_answer_is_never_slowed(harness: Harness) -> None:
    # As many answers as Discord lets a bot post in one channel within 5 s (5), back to back.
    for n in range(ROUTE_REQUESTS):
        asked = await harness.ask(f"question {n}")
        [answer] = await harness.replies_to(asked)
        assert not answer["content"].startswith("You already have")
    assert len(harness.model.requests) == ROUTE_REQUESTS


async def test_a_flooding_member_gets_one_notice_and_the_extra_questions_are_dropped(
    harness: Harness,
) -> None:
    await harness.stop_bot()
    await harness.start_bot(member_queue_limit=2)
    release = asyncio.Event()
    harness.model.enqueue(*(Reply(text=f"answer {n}", release=release) for n in range(2)))
    asked = [await harness.ask(f"question {n}") for n in range(6)]
    await harness.model.wait_requests(1)
    notices = await harness.replies_to(asked[1])
    assert [m["content"] for m in notices] == [TooManyWaiting(2).user_message]
    # Another member is not affected.
    other = await harness.ask("my turn", author=harness.bob)
    await harness.model.wait_requests(2)
    release.set()
    await harness.replies_to(other)
    await harness.settled()
    texts = [m["content"] for m in harness.discord.bot_messages(harness.channel)]
    assert texts.count(TooManyWaiting(2).user_message) == 1
    assert [r.messages[-1]["content"] for r in harness.model.requests] == [
        "alice: question 0",
        "bob: my turn",
        "alice: question 1",
    ]
    # Once the flood is answered, the member asks freely again, and would be told again.
    again = await harness.ask("after the flood")
    [answer] = await harness.replies_to(again)
    assert answer["content"] != TooManyWaiting(2).user_message


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
