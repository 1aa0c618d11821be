"""The chat-completions wire format: answers, usage and errors as the service sends them.

Pure functions over bodies and headers, so they are unit-testable without a server; the client in
:mod:`assistant.model.completions` does the HTTP. Parsing is tolerant: unknown keys are ignored and nulls
or missing ``*_details`` are fine. Errors are classified by ``error.code`` (or ``error.type``) first,
then by HTTP status, because EvoLink (a New API gateway) and OpenAI disagree on statuses.

A reply with no content but a ``message.refusal`` string returns the refusal as the answer's text:
the refusal is the model's answer to the member, and showing it helps more than "no answer".
``reasoning_content`` is never part of the text.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.errors import (
    AuthenticationFailed,
    BadRequest,
    CompletionError,
    ContentFiltered,
    ContextTooLong,
    EmptyAnswer,
    MalformedReply,
    OutOfCredit,
    RateLimited,
    ServiceUnavailable,
)

MESSAGE_EXCERPT_CHARS = 300
QUOTA_SCOPES: dict[str, str] = {
    **dict.fromkeys(
        ("insufficient_quota", "insufficient_user_quota", "quota_not_enough", "account_balance_insufficient"),
        "account",
    ),
    **dict.fromkeys(("insufficient_token_quota", "key_quota_exhausted"), "key"),
    **dict.fromkeys(("token_daily_quota_exceeded", "key_daily_quota_exhausted"), "key_daily"),
}
AUTH_CODES = frozenset(
    {"invalid_api_key", "key_disabled", "key_expired", "key_model_not_allowed", "authentication_error"}
)
CONTENT_POLICY_CODES = frozenset({"content_policy_violation", "content_filter", "sensitive_content"})
CONTEXT_CODES = frozenset({"context_length_exceeded"})
CONTEXT_PHRASES = (
    "maximum context length",
    "context_length_exceeded",
    "too many tokens",
    "prompt is too long",
)
RATE_LIMIT_CODES = frozenset({"rate_limit_exceeded", "rate_limited", "rate_limit_error"})
# Where common gateways put their id of a request: OpenAI and New API, Anthropic-style gateways,
# One API, LiteLLM (looked up case-insensitively in aiohttp's headers).
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-oneapi-request-id", "x-litellm-call-id")
UNAVAILABLE_CODES = frozenset(
    {"no_available_channel", "model_unavailable", "server_error", "service_unavailable"}
)


@dataclass(frozen=True)
class Usage:
    """Token counts of one completion, as the service reported them (or as the caller estimated)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0  # usage.prompt_tokens_details.cached_tokens
    reasoning_tokens: int = 0  # usage.completion_tokens_details.reasoning_tokens
    estimated: bool = False  # True when the service sent no usage and the caller estimated it


@dataclass(frozen=True)
class Completion:
    """A whole answer."""

    text: str
    finish_reason: str | None
    usage: Usage | None  # None when the reply carried no usage
    request_id: str | None = None  # the gateway's request id (REQUEST_ID_HEADERS), for the logs


@dataclass(frozen=True)
class TextDelta:
    """The next piece of a streamed answer's text."""

    text: str


@dataclass(frozen=True)
class StreamEnd:
    """The end of a streamed answer; always the last event."""

    finish_reason: str | None
    usage: Usage | None
    request_id: str | None = None


StreamEvent = TextDelta | StreamEnd


def parse_completion(body: bytes, request_id: str | None = None) -> Completion:
    """Read a chat.completion body, tolerating unknown keys and nulls; raise if it holds no answer."""
    payload = load_json(body, "reply", request_id)
    if not isinstance(payload, Mapping):
        raise MalformedReply(f"reply is not an object{id_suffix(request_id)}")
    if payload.get("error"):
        raise classify_error(200, payload, request_id=request_id)
    choice = first_choice(payload)
    if choice is None:
        raise MalformedReply(f"reply has no choices{id_suffix(request_id)}")
    message = choice.get("message")
    text = _message_text(message) if isinstance(message, Mapping) else ""
    finish_reason = str_or_none(choice.get("finish_reason"))
    require_answer(text, finish_reason, request_id)
    return Completion(text, finish_reason, parse_usage(payload.get("usage")), request_id)


def parse_usage(raw: object) -> Usage | None:
    """Read a ``usage`` object; None when it is missing, null, or counts no tokens at all.

    No answer costs nothing: a usage of zero tokens comes from a gateway that did not count them,
    and is as good as none (the caller then records its estimate).
    """
    if not isinstance(raw, Mapping):
        return None
    prompt, completion = _count(raw.get("prompt_tokens")), _count(raw.get("completion_tokens"))
    total = _count(raw.get("total_tokens")) or prompt + completion
    if total == 0:
        return None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cached_tokens=_count(_get(raw.get("prompt_tokens_details"), "cached_tokens")),
        reasoning_tokens=_count(_get(raw.get("completion_tokens_details"), "reasoning_tokens")),
    )


def classify_error(
    status: int,
    body: bytes | Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    request_id: str | None = None,
) -> CompletionError:
    """Turn an error answer (an envelope, a bare object or an HTML page) into the matching error."""
    raw_code, kind, message = _error_fields(body)
    if status < 400 and isinstance(raw_code, int) and 400 <= raw_code < 600:
        status = raw_code  # an error event inside a 200 stream, carrying an HTTP-like code
    code = "" if raw_code is None or isinstance(raw_code, bool) else str(raw_code).strip().lower()
    message = " ".join(message.split())[:MESSAGE_EXCERPT_CHARS]
    detail = f"HTTP {status}" + (f", code {code}" if code else "") + id_suffix(request_id)
    detail += f": {message}" if message else ""
    retry_after = parse_retry_after(headers or {})
    names = tuple(name for name in (code, kind.strip().lower()) if name)  # the code wins over the type
    by_code = _classify_code(names, status, detail, retry_after)
    return by_code or _classify_status(status, message, detail, retry_after)


def _classify_code(
    names: tuple[str, ...], status: int, detail: str, retry_after: float | None
) -> CompletionError | None:
    for name in names:
        if name in QUOTA_SCOPES:
            return OutOfCredit(detail, scope=QUOTA_SCOPES[name])
        if name in AUTH_CODES:
            return AuthenticationFailed(detail)
        if name in CONTENT_POLICY_CODES:
            return ContentFiltered(detail)
        if name in CONTEXT_CODES:
            return ContextTooLong(detail)
        if name in RATE_LIMIT_CODES:
            return RateLimited(detail, retry_after_seconds=retry_after)
        if name in UNAVAILABLE_CODES or name.startswith("channel:"):
            return ServiceUnavailable(detail, status=status if status >= 500 else 503)
    return None


def _classify_status(status: int, message: str, detail: str, retry_after: float | None) -> CompletionError:
    if status in (401, 403):
        return AuthenticationFailed(detail)
    if status == 402:
        return OutOfCredit(detail, scope="account")
    if status == 429:
        return RateLimited(detail, retry_after_seconds=retry_after)
    if status >= 500:
        return ServiceUnavailable(detail, status=status)
    if any(phrase in message.lower() for phrase in CONTEXT_PHRASES):
        return ContextTooLong(detail)
    if status >= 300:
        return BadRequest(detail)
    return ServiceUnavailable(detail, status=502)  # an error object inside a 2xx answer: upstream failed


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Read ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date; None when absent."""
    if milliseconds := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_fields(body: bytes | Mapping[str, Any]) -> tuple[object, str, str]:
    """Return (code, type, message) from an error envelope, a bare error object or a non-JSON body."""
    payload: object = body
    if isinstance(body, bytes):
        try:
            payload = json.loads(body)
        except ValueError:
            return None, "", body.decode("utf-8", errors="replace")
    if not isinstance(payload, Mapping):
        return None, "", str(payload)
    error = payload.get("error") or payload
    if not isinstance(error, Mapping):
        return None, "", str(error)
    return error.get("code"), str_or_none(error.get("type")) or "", str_or_none(error.get("message")) or ""


def require_answer(text: str, finish_reason: str | None, request_id: str | None) -> None:
    """Raise ContentFiltered or EmptyAnswer when there is no visible text."""
    if text.strip():
        return
    if finish_reason == "content_filter":
        raise ContentFiltered(f"the content filter left no text{id_suffix(request_id)}")
    raise EmptyAnswer(f"no text, finish_reason {finish_reason!r}{id_suffix(request_id)}")


def _message_text(message: Mapping[str, Any]) -> str:
    """The visible text of a message: its content, else its refusal; never ``reasoning_content``."""
    text = content_text(message.get("content"))
    refusal = message.get("refusal")
    if not text.strip() and isinstance(refusal, str):
        return refusal
    return text


def content_text(content: object) -> str:
    """Text of a ``content`` value: a string, null, or a list of parts carrying ``text``."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, Mapping) and part.get("type") not in ("reasoning", "thinking"):
            parts.append(str_or_none(part.get("text")) or "")
    return "".join(parts)


def first_choice(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return ``choices[0]`` when there is one (the usage chunk of a stream has none)."""
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        return choices[0]
    return None


def load_json(raw: bytes, what: str, request_id: str | None) -> Any:
    """Decode JSON, raising MalformedReply (with a short excerpt) when it is not."""
    try:
        return json.loads(raw)
    except ValueError:
        excerpt = " ".join(raw[:100].decode("utf-8", errors="replace").split())
        raise MalformedReply(f"{what} is not JSON{id_suffix(request_id)}: {excerpt!r}") from None


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """Return the request id a gateway sent (the first of REQUEST_ID_HEADERS), for the logs."""
    return next((value for name in REQUEST_ID_HEADERS if (value := headers.get(name))), None)


def id_suffix(request_id: str | None) -> str:
    """Return " (request id …)" for an error detail, or nothing."""
    return f" (request id {request_id})" if request_id else ""


def _get(mapping: object, key: str) -> object:
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**63:
        return 0  # also rejects NaN and infinities, which Python's json accepts
    return int(value)


def str_or_none(value: object) -> str | None:
    """Return the value when it is a string, else None."""
    return value if isinstance(value, str) else None
