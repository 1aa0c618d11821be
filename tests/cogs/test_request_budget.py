"""The request budget, end to end, on a fake Discord that rate limits like Discord."""

from __future__ import annotations

import asyncio
import bisect
import re

import pytest

from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.fakes.discord import RecordedRequest
from tests.fakes.discord_limits import GLOBAL_REQUESTS_PER_SECOND

EXEMPT = re.compile(r"^/interactions/\d+/[^/]+/callback$|^/webhooks/")


@pytest.fixture
def discord_rate_limits() -> bool:
    return True


def busiest_second(requests: list[RecordedRequest]) -> int:
    """Return the most requests counted against the global limit that Discord admitted in one second."""
    times = sorted(r.time for r in requests if r.status != 429 and not EXEMPT.match(r.path))
    return max((bisect.bisect_left(times, at + 1.0) - n for n, at in enumerate(times)), default=0)


def spend_global_limit_elsewhere(harness: Harness, *, clears_in_seconds: float) -> None:
    """Play another program on the bot's token that has just used up the whole global limit."""
    now = asyncio.get_running_loop().time()
    harness.discord.rate_limits.spend(GLOBAL_REQUESTS_PER_SECOND, now=now - 1.0 + clears_in_seconds)


async def test_a_global_429_from_elsewhere_while_typing_does_not_silence_the_bot(harness: Harness) -> None:
    # discord.py 2.7.1 clears its global lock before sleeping off a global 429 and sets it again
    # only after: the typing request, cancelled in that sleep when its answer arrives, would leave
    # every later request waiting for ever.
    release = asyncio.Event()
    harness.model.enqueue(Reply(text="Still here.", release=release), Reply(text="And again."))
    spend_global_limit_elsewhere(harness, clears_in_seconds=0.3)
    asked = await harness.ask("first")
    await harness.discord.wait_for(lambda: harness.discord.rate_limits.global_429s == 1)
    release.set()  # the answer arrives while the typing request sleeps off its 429
    [answer] = await harness.replies_to(asked)
    assert answer["content"] == "Still here."
    again = await harness.ask("second")
    [answer] = await harness.replies_to(again)
    assert answer["content"] == "And again."


async def test_sixty_streamed_answers_at_once_all_arrive_within_discords_limit(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(stream=True)
    people = [
        (
            harness.discord.add_text_channel(harness.guild, f"room-{n}"),
            harness.discord.add_member(harness.guild, f"m{n}"),
        )
        for n in range(60)
    ]
    harness.model.default = lambda request: Reply(
        text=f"Answer {request.number}. " + "More words arrive. " * 20, chunk_size=40, chunk_delay_seconds=0.1
    )
    before = len(harness.discord.requests)
    asked = await asyncio.gather(*(harness.ask(f"question {n}", author=member, channel=channel)
                                   for n, (channel, member) in enumerate(people)))  # fmt: skip
    for message, (channel, _) in zip(asked, people, strict=True):
        await harness.replies_to(message, channel=channel)
    await harness.settled()
    finals = [harness.discord.bot_messages(channel)[0]["content"] for channel, _ in people]
    assert all(text.startswith("Answer ") and text.endswith("More words arrive. ") for text in finals)
    limits = harness.discord.rate_limits
    assert (limits.global_429s, limits.route_429s) == (0, 0)
    burst = harness.discord.requests[before:]  # this bot's; the one the harness stopped had its own budget
    assert busiest_second(burst) <= harness.settings.discord_requests_per_second


async def test_a_short_streamed_answer_is_posted_once(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(stream=True)
    harness.model.enqueue(Reply(text="Short and quick.", chunk_size=4))
    asked = await harness.ask("quick one")
    [answer] = await harness.replies_to(asked)
    await harness.settled()
    [answer] = harness.discord.bot_messages(harness.channel)
    assert answer["content"] == "Short and quick." and answer["edits"] == []
