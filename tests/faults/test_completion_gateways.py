"""The completions service behind gateways that frame, label, count and retry in their own ways.

Each case goes through the real bot: the member sees the whole answer once, the model is asked
once (a whole answer is never asked for again, so never billed again), and the ledger counts what
the service reported, or the bot's estimate when the report is missing or counts nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from assistant.errors import ServiceUnavailable
from assistant.model.completions import RetryPolicy
from assistant.model.wire import REQUEST_ID_HEADERS
from tests.conftest import Harness
from tests.fakes.completions import ZERO_USAGE, Reply
from tests.faults.checks import USAGE_TOKENS, BotWarnings, answer, assert_recorded, ledger, reply_texts
from tests.faults.conftest import FAST_RETRY, STREAM_MODES, STREAMED_ONLY

TEXT = "A gateway passed this answer along, framed its own way."


@STREAMED_ONLY
@pytest.mark.parametrize(
    "framing",
    [
        {"line_end": "\r"},
        {"line_end": "\r\n", "byte_order_mark": True},
        {"split_data": True},
        {"blank_lines": False},
        {"stream_content_type": "application/json"},
        {"unstreamed_content_type": "text/plain; charset=utf-8"},
        {"unstreamed_content_type": "text/html"},
    ],
    ids=[
        "cr-only",
        "crlf-bom",
        "multi-line-data",
        "no-blank-lines",
        "labelled-json",
        "whole-text",
        "whole-html",
    ],
)
async def test_every_framing_is_answered_once_and_counted(harness: Harness, framing: dict[str, Any]) -> None:
    reply = answer(TEXT)
    for name, value in framing.items():
        setattr(reply, name, value)
    harness.model.enqueue(reply)
    asked = await harness.ask("through the gateway")
    assert await reply_texts(harness, asked) == [TEXT]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)
    assert len(harness.model.requests) == 1


@STREAM_MODES
async def test_a_usage_of_zero_tokens_is_recorded_as_an_estimate(harness: Harness) -> None:
    harness.model.enqueue(Reply(text=TEXT, usage=dict(ZERO_USAGE)))
    asked = await harness.ask("count this")
    assert await reply_texts(harness, asked) == [TEXT]
    tally = await ledger(harness)
    assert (tally.requests, tally.estimated_requests, tally.failed_requests) == (1, 1, 0)
    assert tally.prompt_tokens > 0 and tally.completion_tokens > 0


@pytest.mark.parametrize("header", REQUEST_ID_HEADERS)
async def test_each_failed_attempt_is_logged_with_the_gateways_request_id(
    harness: Harness, bot_warnings: BotWarnings, header: str
) -> None:
    failure = Reply(status=503, error_code="model_unavailable", request_id_header=header)
    harness.model.enqueue(*[failure] * FAST_RETRY.attempts)
    asked = await harness.ask("anyone?")
    assert await reply_texts(harness, asked) == [ServiceUnavailable.user_message]
    attempts = [line for line in bot_warnings.lines if "Completions attempt" in line]
    assert [f"request id req-fake-{n}" in line for n, line in enumerate(attempts, start=1)] == [True] * 3
    assert bot_warnings.errors == []


async def test_a_gateway_that_retries_by_itself_is_given_up_on_at_the_deadline(harness: Harness) -> None:
    await harness.stop_bot()
    # Each failed attempt takes 0.6 s at the gateway: a second one could end past the 1 s deadline.
    await harness.start_bot(retry=RetryPolicy(attempts=3, base_delay_seconds=0.01, deadline_seconds=1.0))
    slow = Reply(status=502, error_code=None, error_message="upstream failed", delay_seconds=0.6)
    harness.model.enqueue(*[slow] * 3)
    asked = await harness.ask("slow gateway?")
    assert await reply_texts(harness, asked) == [ServiceUnavailable.user_message]
    assert len(harness.model.requests) == 1
    await assert_recorded(harness, turns=0, requests=0, failed=1, tokens=0)
