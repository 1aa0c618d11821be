"""What every fault test asserts after the fault: the records are consistent and the bot still answers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from storage.usage import Tally
from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.fakes.discord import FakeUser

# A successful answer's usage, as the service reports it, so the ledger can be checked to the token.
USAGE = {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}
USAGE_TOKENS = USAGE["total_tokens"]
BOT_PACKAGES = frozenset({"bot", "assistant", "cogs", "storage"})


def answer(text: str = "Here is the answer.") -> Reply:
    """Return a successful reply with the known usage."""
    return Reply(text=text, usage=dict(USAGE))


async def answer_held_until(harness: Harness, text: str = "Here is the answer.") -> asyncio.Event:
    """Script the next answer (with the known usage) to wait for the returned event; return it."""
    release = asyncio.Event()
    reply = answer(text)
    reply.release = release
    harness.model.enqueue(reply)
    return release


async def ledger(harness: Harness, member: FakeUser | None = None) -> Tally:
    """Return today's tally of a member (alice by default), once nothing is held in flight any more."""
    await harness.settled()
    assert harness.bot is not None
    report = await harness.bot.quotas.report(harness.guild.id, (member or harness.alice).id)
    assert report.day.held_tokens == 0, "a reservation outlived its request"
    return report.day.member


async def assert_recorded(
    harness: Harness, *, turns: int, requests: int, failed: int, tokens: int, channel: Any = None
) -> None:
    """Assert the channel's stored turns and alice's day: answered and failed requests, tokens."""
    assert await harness.stored_turns(channel) == turns
    tally = await ledger(harness)
    assert (tally.requests, tally.failed_requests, tally.total_tokens) == (requests, failed, tokens)


async def reply_texts(
    harness: Harness, asked: dict[str, Any], count: int = 1, channel: Any = None
) -> list[str]:
    """Wait for the bot's messages after `asked` and return their final contents."""
    await harness.replies_to(asked, count, channel=channel)
    await harness.settled()
    where = channel or harness.channel
    return [m["content"] for m in harness.discord.bot_messages(where) if int(m["id"]) > int(asked["id"])]


async def assert_still_answers(
    harness: Harness, *, author: FakeUser | None = None, channel: Any = None
) -> None:
    """Ask again after the fault: the bot is alive and answers normally."""
    harness.model.enqueue(Reply(text="Still here."))
    asked = await harness.ask("are you still there?", author=author or harness.bob, channel=channel)
    assert await reply_texts(harness, asked, channel=channel) == ["Still here."]


class BotWarnings(logging.Handler):
    """Collect the warnings and errors the bot's own modules log, and let a test wait for them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self._logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        """Keep a record of the bot's (not discord.py's or the fakes') as "LEVEL logger: message"."""
        if record.name.split(".")[0] in BOT_PACKAGES:
            self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")
            self._logged.set()

    async def wait(self, count: int = 1, timeout: float = 5.0) -> list[str]:
        """Wait until at least `count` lines were logged, and return them all."""
        async with asyncio.timeout(timeout):
            while len(self.lines) < count:
                self._logged.clear()
                await self._logged.wait()
        return self.lines

    @property
    def errors(self) -> list[str]:
        """Return the ERROR (and worse) lines: an expected fault must never log one."""
        return [line for line in self.lines if not line.startswith("WARNING")]
