"""The end-to-end audit (run at every harness teardown) catches what it is there to catch."""

from __future__ import annotations

import logging
import sys
from typing import Any

from tests.audit import leaked_secrets, mention_problems, secrets_sent
from tests.fakes.discord import RecordedRequest

SECRET = "sk-audit-secret"
NONE = {"parse": []}


def request(method: str, path: str, body: Any) -> RecordedRequest:
    """Return a request as the fake Discord records it."""
    return RecordedRequest(method, path, {}, body, {"Authorization": f"Bot {SECRET}"}, 0.0)


def record(message: str, *args: object, exc_info: Any = None) -> logging.LogRecord:
    """Return a log record as a logger would make it."""
    return logging.LogRecord("discord.http", logging.DEBUG, __file__, 1, message, args, exc_info)


def test_a_secret_in_a_message_an_argument_or_a_traceback_is_found() -> None:
    try:
        raise RuntimeError(f"token {SECRET} rejected")
    except RuntimeError:
        failure = sys.exc_info()
    records = [
        record("clean line"),
        record("sent %s", {"token": SECRET}),
        record("failed", exc_info=failure),
    ]
    assert len(leaked_secrets(records, [SECRET, ""])) == 2


def test_a_secret_in_a_body_or_url_is_found_but_not_in_the_auth_header() -> None:
    requests = [
        request("POST", "/channels/1/messages", {"content": "hi", "allowed_mentions": NONE}),
        request("POST", "/channels/1/messages", {"content": f"my key is {SECRET}"}),
        request("GET", f"/webhooks/1/{SECRET}", None),
    ]
    assert secrets_sent(requests, [SECRET]) == ["POST /channels/1/messages", f"GET /webhooks/1/{SECRET}"]


def test_every_send_and_edit_route_must_parse_no_mentions() -> None:
    requests = [
        request("POST", "/channels/1/messages", {"content": "ok", "allowed_mentions": NONE}),
        request("POST", "/channels/1/messages", {"content": "no field"}),
        request(
            "PATCH", "/channels/1/messages/2", {"content": "x", "allowed_mentions": {"parse": ["users"]}}
        ),
        request(
            "POST", "/webhooks/1/tok", {"content": "x", "allowed_mentions": {"parse": [], "users": ["3"]}}
        ),
        request("PATCH", "/webhooks/1/tok/messages/@original", {"content": "x", "allowed_mentions": NONE}),
        request("POST", "/interactions/1/tok/callback", {"type": 4, "data": {"content": "x"}}),
        request("POST", "/interactions/1/tok/callback", {"type": 5, "data": {"flags": 64}}),  # a deferral
        request("POST", "/channels/1/typing", None),
    ]
    problems = mention_problems(requests)
    assert [line.split(":")[0] for line in problems] == [
        "POST /channels/1/messages",
        "PATCH /channels/1/messages/2",
        "POST /webhooks/1/tok",
        "POST /interactions/1/tok/callback",
    ]
