"""The wire format on its own: error classification, Retry-After and usage parsing, no server."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import pytest
from multidict import CIMultiDict

from assistant.errors import BadRequest, ContentFiltered, OutOfCredit, RateLimited, ServiceUnavailable
from assistant.model.wire import (
    REQUEST_ID_HEADERS,
    Usage,
    classify_error,
    parse_retry_after,
    parse_usage,
    request_id_of,
)


def test_retry_after_as_an_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after({"retry-after": formatdate(now + 7, usegmt=True)}, now=now) == 7.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, {"error": {"code": 429, "message": "slow down"}}, RateLimited),
        (200, {"error": {"type": "insufficient_quota", "code": None}}, OutOfCredit),
        (429, {"error": {"type": "requests", "code": "rate_limit_exceeded"}}, RateLimited),
        (400, {"error": {"type": "invalid_request_error", "code": "content_filter"}}, ContentFiltered),
        (200, {"error": {"message": "upstream failed"}}, ServiceUnavailable),
        (503, b"Service Unavailable", ServiceUnavailable),
        (400, {"error": "a bare string"}, BadRequest),
        (404, {"message": "no route", "code": "channel:not_found"}, ServiceUnavailable),
    ],
)
def test_classification_of_odd_envelopes(status: int, body: Any, error: type) -> None:
    assert type(classify_error(status, body)) is error


def test_the_code_decides_before_the_type() -> None:
    body = {"error": {"code": "insufficient_token_quota", "type": "insufficient_quota"}}
    error = classify_error(403, body)
    assert isinstance(error, OutOfCredit) and error.scope == "key"


def test_usage_ignores_nonsense_counts() -> None:
    raw = {"prompt_tokens": 10.0, "completion_tokens": True, "total_tokens": float("nan"), "cached_tokens": 5}
    assert parse_usage(raw) == Usage(prompt_tokens=10, total_tokens=10)
    assert parse_usage(None) is None and parse_usage([1, 2]) is None


def test_error_detail_is_short_and_names_the_request() -> None:
    error = classify_error(400, {"error": {"code": "bad", "message": "x" * 5000}}, request_id="req-9")
    assert str(error).startswith("HTTP 400, code bad (request id req-9): xxx") and len(str(error)) < 360


@pytest.mark.parametrize(
    "raw",
    [
        {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        {"total_tokens": 0, "prompt_tokens_details": {"cached_tokens": 0}},
        {"prompt_tokens": None, "completion_tokens": None},
    ],
)
def test_a_usage_that_counts_no_tokens_is_no_usage(raw: dict[str, Any]) -> None:
    assert parse_usage(raw) is None


@pytest.mark.parametrize("header", REQUEST_ID_HEADERS)
def test_the_request_id_of_each_common_gateway(header: str) -> None:
    assert request_id_of(CIMultiDict({header.title(): "abc-123", "Content-Type": "text/plain"})) == "abc-123"
    assert request_id_of(CIMultiDict({"Content-Type": "text/plain"})) is None
