"""The gateway connection breaks: the bot reconnects (resuming when it can) and keeps answering.

Answers go out over REST, so one being written while the gateway is down still arrives; questions
asked after the reconnect are answered as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.conftest import Harness
from tests.faults.checks import (
    USAGE_TOKENS,
    answer_held_until,
    assert_recorded,
    assert_still_answers,
    reply_texts,
)

OP_RECONNECT, OP_INVALID_SESSION = 7, 9


@asynccontextmanager
async def reconnects(harness: Harness, *, resumes: int = 0, identifies: int = 0) -> AsyncIterator[None]:
    """Around a fault: wait until the bot is back after `resumes` RESUMEs and `identifies` IDENTIFYs."""
    gateway = harness.discord.gateway
    expected = (len(gateway.resume_payloads) + resumes, len(gateway.identify_payloads) + identifies)
    yield

    def back() -> bool:
        counts = (len(gateway.resume_payloads), len(gateway.identify_payloads))
        return counts == expected and bool(gateway.live_sessions())

    await harness.discord.wait_for(back)
    await harness.discord.caught_up()


async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
    """Identify again without discord.py's 5 s pause (it protects Discord's identify rate limit)."""


@pytest.mark.parametrize("code", [4000, 1006], ids=["4000", "abnormal-1006"])
async def test_a_dropped_connection_is_resumed_and_questions_still_answered(
    harness: Harness, code: int
) -> None:
    async with reconnects(harness, resumes=1):
        await harness.discord.close_gateway(code)
    await assert_still_answers(harness)


async def test_reconnect_opcode_resumes_and_questions_still_answered(harness: Harness) -> None:
    async with reconnects(harness, resumes=1):
        await harness.discord.send_op(OP_RECONNECT, None)
    await assert_still_answers(harness)


@pytest.mark.parametrize(
    ("resumable", "expected"),
    [(True, {"resumes": 1}), (False, {"identifies": 1})],
    ids=["resumable", "not-resumable"],
)
async def test_an_invalid_session_reconnects_and_questions_still_answered(
    harness: Harness, resumable: bool, expected: dict[str, Any]
) -> None:
    assert harness.bot is not None
    harness.bot.before_identify_hook = identify_at_once  # type: ignore[method-assign]
    async with reconnects(harness, **expected):
        await harness.discord.send_op(OP_INVALID_SESSION, resumable)
    await assert_still_answers(harness)


async def test_an_answer_written_while_the_gateway_is_down_still_arrives(harness: Harness) -> None:
    release = await answer_held_until(harness, "Written during the outage.")
    asked = await harness.ask("hi")
    await harness.model.wait_requests(1)
    async with reconnects(harness, resumes=1):
        await harness.discord.close_gateway(4000)
        release.set()
        assert await reply_texts(harness, asked) == ["Written during the outage."]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)
    await assert_still_answers(harness)
