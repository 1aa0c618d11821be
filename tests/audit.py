"""Checks run after every end-to-end test, over everything the bot logged and sent.

- No secret (the completions API key, the Discord token) in any log record, at any level, from any
  logger (the bot's, discord.py's, aiohttp's), tracebacks included, nor in any request body or URL
  the bot sent to Discord (the Authorization header and the gateway IDENTIFY are where they belong).
- Every message the bot created or edited, on every route (channel messages, interaction callbacks,
  followups and their edits), carried ``allowed_mentions`` with ``parse: []``, and pinged nobody.
- With the fake's rate limits on, the bot drew no global 429 (unless the test played another
  program spending the same bot's limit).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from tests.fakes.discord import FakeDiscord, RecordedRequest

# POST creates and PATCH edits on these routes carry message content.
MESSAGE_ROUTE = re.compile(
    r"^/channels/\d+/messages(?:/\d+)?$"  # a channel message, or an edit of one
    r"|^/webhooks/\d+/[^/]+(?:/messages/(?:@original|\d+))?$"  # a followup, or an edit of one
)
CALLBACK_ROUTE = re.compile(r"^/interactions/\d+/[^/]+/callback$")
# Interaction callbacks that post or update a message (4 and 7); 5 and 6 are deferrals, 9 a modal.
CALLBACKS_WITH_CONTENT = frozenset({4, 7})
_FORMATTER = logging.Formatter("%(name)s %(levelname)s %(message)s")


def leaked_secrets(records: Iterable[logging.LogRecord], secrets: Iterable[str]) -> list[str]:
    """Return every formatted log record (with its traceback) that contains one of `secrets`."""
    wanted = [secret for secret in secrets if secret]
    shown = (_FORMATTER.format(record) for record in records)
    return [text for text in shown if any(secret in text for secret in wanted)]


def secrets_sent(requests: Iterable[RecordedRequest], secrets: Iterable[str]) -> list[str]:
    """Return "METHOD path" of every request whose URL or body contains one of `secrets`."""
    wanted = [secret for secret in secrets if secret]
    found = []
    for request in requests:
        sent = f"{request.path}?{json.dumps(request.query)} {json.dumps(request.json)}"
        if any(secret in sent for secret in wanted):
            found.append(f"{request.method} {request.path}")
    return found


def mention_problems(requests: Iterable[RecordedRequest]) -> list[str]:
    """Return a line for every message send or edit that did not carry ``allowed_mentions: {parse: []}``."""
    problems = []
    for request in requests:
        body = _message_body(request)
        if body is None:
            continue
        allowed = body.get("allowed_mentions")
        if not isinstance(allowed, dict) or allowed.get("parse") != [] or _names_anyone(allowed):
            problems.append(f"{request.method} {request.path}: allowed_mentions={allowed!r}")
    return problems


def pinged_by_bot(fake: FakeDiscord) -> list[str]:
    """Return who any message of the bot (or any edit of one) would have notified on Discord."""
    bot_id = str(fake.bot_user.id)
    messages = [*fake.world.messages.values(), *fake.world.deleted_messages]
    pinged = []
    for message in messages:
        if message["author"]["id"] != bot_id:
            continue
        pinged += message["pinged"]
        pinged += [who for edit in message["edits"] for who in edit["pinged"]]
    return pinged


def _message_body(request: RecordedRequest) -> dict[str, Any] | None:
    """Return the message part of a request that creates or edits a message, else None."""
    body = request.json if isinstance(request.json, dict) else None
    if request.method in ("POST", "PATCH") and MESSAGE_ROUTE.match(request.path):
        return body or {}
    is_callback = request.method == "POST" and CALLBACK_ROUTE.match(request.path) is not None
    if is_callback and body is not None and body.get("type") in CALLBACKS_WITH_CONTENT:
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    return None


def _names_anyone(allowed: dict[str, Any]) -> bool:
    """Tell whether allowed_mentions still lets a listed user, role or the replied-to author be pinged."""
    return bool(allowed.get("users") or allowed.get("roles") or allowed.get("replied_user"))


def audit(fake: FakeDiscord, records: Iterable[logging.LogRecord], secrets: Iterable[str]) -> None:
    """Fail the test if a secret leaked or a send or edit could have pinged anyone."""
    secrets = list(secrets)
    assert not leaked_secrets(records, secrets), leaked_secrets(records, secrets)
    assert not secrets_sent(fake.requests, secrets), secrets_sent(fake.requests, secrets)
    assert not mention_problems(fake.requests), mention_problems(fake.requests)
    assert not pinged_by_bot(fake), pinged_by_bot(fake)
    limits = fake.rate_limits
    if not limits.spent_elsewhere:
        assert limits.global_429s == 0, f"the bot drew {limits.global_429s} global 429s"
