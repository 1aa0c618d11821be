"""The completions service misbehaves: every fault ends in an answer or a reply saying what went wrong.

After each fault the history holds whole exchanges only (none for a failed question), the day's
ledger counts a failed call as one failed request with no tokens and a retried call once, nothing
stays reserved, and the bot answers the next question.
"""

from __future__ import annotations

import pytest

from assistant.delivery.posting import CUT_OFF_NOTE
from assistant.errors import (
    AuthenticationFailed,
    ContextTooLong,
    MalformedReply,
    OutOfCredit,
    RateLimited,
    RequestTimedOut,
    ServiceUnavailable,
)
from assistant.model.wire import QUOTA_SCOPES
from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.faults.checks import (
    USAGE_TOKENS,
    answer,
    assert_recorded,
    assert_still_answers,
    ledger,
    reply_texts,
)
from tests.faults.conftest import FAST_RETRY, STREAM_MODES, STREAMED_ONLY

ATTEMPTS = FAST_RETRY.attempts
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


def rate_limited(retry_after: str = "0") -> Reply:
    """Return a 429 with Retry-After, as a busy gateway sends it."""
    return Reply(
        status=429,
        error_code="rate_limit_exceeded",
        error_message="Rate limit reached for requests",
        headers={"Retry-After": retry_after},
    )


def server_error(status: int, body: str) -> Reply:
    """Return a 5xx with a JSON error envelope or a proxy's HTML page."""
    if body == "html":
        return Reply(status=status, raw_body=HTML_502, content_type="text/html")
    return Reply(status=status, error_code=None, error_message="upstream error", error_type="server_error")


async def assert_failed_once_then_recovers(harness: Harness, asked: dict, user_message: str) -> None:
    """The member is told `user_message`; nothing is stored; one failed request, no tokens; still alive."""
    assert await reply_texts(harness, asked) == [user_message]
    await assert_recorded(harness, turns=0, requests=0, failed=1, tokens=0)
    await assert_still_answers(harness)


# --- rate limits and server errors: retried, then told ------------------------------------------


@STREAM_MODES
async def test_a_rate_limit_storm_is_retried_then_the_member_is_told_to_retry_later(harness: Harness) -> None:
    harness.model.enqueue(*[rate_limited() for _ in range(ATTEMPTS)])
    asked = await harness.ask("busy?")
    await assert_failed_once_then_recovers(harness, asked, RateLimited.user_message)
    assert len(harness.model.requests) == ATTEMPTS + 1  # the storm, then the next question


@STREAM_MODES
async def test_a_rate_limit_that_clears_is_answered_and_counted_once(harness: Harness) -> None:
    harness.model.enqueue(rate_limited(), rate_limited(), answer("Made it."))
    asked = await harness.ask("busy?")
    assert await reply_texts(harness, asked) == ["Made it."]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)
    assert len(harness.model.requests) == 3


async def test_a_retry_after_beyond_the_cap_is_not_waited_for(harness: Harness) -> None:
    harness.model.enqueue(rate_limited(retry_after="3600"))
    asked = await harness.ask("busy for an hour?")
    await assert_failed_once_then_recovers(harness, asked, RateLimited.user_message)
    assert len(harness.model.requests) == 2  # no retry, then the next question


@STREAM_MODES
@pytest.mark.parametrize(
    ("status", "body"), [(500, "json"), (502, "html"), (503, "json"), (503, "html")], ids=str
)
async def test_server_errors_are_retried_then_the_member_is_told(
    harness: Harness, status: int, body: str
) -> None:
    harness.model.enqueue(*[server_error(status, body) for _ in range(ATTEMPTS)])
    asked = await harness.ask("anyone home?")
    await assert_failed_once_then_recovers(harness, asked, ServiceUnavailable.user_message)
    assert len(harness.model.requests) == ATTEMPTS + 1


@STREAM_MODES
async def test_a_server_error_that_clears_is_answered_and_counted_once(harness: Harness) -> None:
    harness.model.enqueue(server_error(502, "html"), answer("Back up."))
    asked = await harness.ask("anyone home?")
    assert await reply_texts(harness, asked) == ["Back up."]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)


# --- timeouts, cut streams, unreadable replies: not retried once the request may have been billed --


@STREAM_MODES
async def test_a_service_that_never_answers_times_out_without_retry(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(request_timeout_seconds=0.5)  # the same settings otherwise, streaming or not
    harness.model.enqueue(Reply(hang=True))
    asked = await harness.ask("hello?")
    await assert_failed_once_then_recovers(harness, asked, RequestTimedOut.user_message)
    assert len(harness.model.requests) == 2


@STREAMED_ONLY
async def test_a_stream_cut_after_text_keeps_the_text_says_so_and_stores_nothing(harness: Harness) -> None:
    text = "The first part arrives. " * 4
    harness.model.enqueue(Reply(text=text, chunk_size=24, cut_after_chunks=2))
    asked = await harness.ask("tell me everything")
    note = CUT_OFF_NOTE.format(reason="the connection to the AI service dropped.")
    assert await reply_texts(harness, asked) == [text[:48] + note]
    assert len(harness.model.requests) == 1  # text was shown: a retry would repeat it
    # The service billed what it generated: recorded as one answered request, estimated.
    assert await harness.stored_turns() == 0
    tally = await ledger(harness)
    assert (tally.requests, tally.estimated_requests, tally.failed_requests) == (1, 1, 0)
    assert tally.total_tokens > 0
    await assert_still_answers(harness)


@STREAMED_ONLY
async def test_a_stream_cut_before_any_text_is_retried_and_counted_once(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="lost", cut_after_chunks=0), answer("Second try."))
    asked = await harness.ask("again?")
    assert await reply_texts(harness, asked) == ["Second try."]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)
    assert len(harness.model.requests) == 2


@STREAM_MODES
async def test_malformed_json_is_told_and_not_retried(harness: Harness, stream: bool) -> None:
    raw = 'data: {"choices": [{"delta": {"content": "Hel\n\n' if stream else '{"choices": [{"message": '
    harness.model.enqueue(Reply(raw_body=raw))
    asked = await harness.ask("parse this")
    await assert_failed_once_then_recovers(harness, asked, MalformedReply.user_message)
    assert len(harness.model.requests) == 2


# --- refusals: told at once, never retried --------------------------------------------------------


@pytest.mark.parametrize("code", sorted(QUOTA_SCOPES))
async def test_each_evolink_quota_code_says_whose_credit_ran_out(harness: Harness, code: str) -> None:
    harness.model.enqueue(Reply(status=402, error_code=code, error_message="insufficient quota"))
    asked = await harness.ask("one more?")
    expected = OutOfCredit(scope=QUOTA_SCOPES[code]).user_message
    await assert_failed_once_then_recovers(harness, asked, expected)
    assert len(harness.model.requests) == 2


@STREAMED_ONLY
async def test_out_of_credit_is_told_on_the_streaming_path_too(harness: Harness) -> None:
    harness.model.enqueue(Reply(status=402, error_code="key_daily_quota_exhausted"))
    asked = await harness.ask("one more?")
    await assert_failed_once_then_recovers(harness, asked, OutOfCredit(scope="key_daily").user_message)


@STREAM_MODES
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("context_length_exceeded", "This model's maximum context length is 400000 tokens."),
        (None, "Input is too long: prompt is too long for this model"),
    ],
    ids=["by-code", "by-message"],
)
async def test_a_context_too_long_suggests_reset(harness: Harness, code: str | None, message: str) -> None:
    harness.model.enqueue(
        Reply(status=400, error_code=code, error_message=message, error_type="invalid_request_error")
    )
    asked = await harness.ask("a long conversation")
    await assert_failed_once_then_recovers(harness, asked, ContextTooLong.user_message)
    assert len(harness.model.requests) == 2


@STREAM_MODES
async def test_a_rejected_key_tells_the_member_an_admin_must_fix_it(harness: Harness) -> None:
    harness.model.enqueue(Reply(status=401, error_code="invalid_api_key", error_message="Invalid key"))
    asked = await harness.ask("hello")
    await assert_failed_once_then_recovers(harness, asked, AuthenticationFailed.user_message)
    assert len(harness.model.requests) == 2
