"""Preflight checks of the completions service: is the key accepted, has it credit, is the model there?

The models list (``GET {base}/models``) answers the key and the model questions without spending a
token; then one minimal chat completion through the bot's own :class:`CompletionsClient` proves the
credit too (a listed model says nothing about the balance). A service without the models route
(404/405) gets just the completion. Failures are described by HTTP status
and error code only: the service's own message may echo the key, even partially.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping

import aiohttp

from assistant.errors import (
    AuthenticationFailed,
    BadRequest,
    CompletionError,
    ContentFiltered,
    EmptyAnswer,
    MalformedReply,
    OutOfCredit,
    RateLimited,
    ServiceUnavailable,
)
from assistant.model.completions import CompletionsClient, RetryPolicy, Timeouts
from assistant.model.wire import classify_error
from assistant.preflight.results import (
    CONNECT_TIMEOUT_SECONDS,
    CheckResult,
    Status,
    Unreachable,
    http_get,
    shown_url,
    skipped,
)
from assistant.settings import Settings

KEY, MODEL, REASONING = "EvoLink API key", "Model", "Reasoning effort"
PING_MESSAGES = ({"role": "user", "content": "ping"},)
# How classify_error starts every error's text: "HTTP 402, code insufficient_user_quota (request id …): …".
_ERROR_PREFIX = re.compile(r"^HTTP (\d{3})(?:, code ([^\s(:]+))?")
KEY_FIX = "copy EVOLINK_API_KEY again from your EvoLink dashboard (API keys), without spaces or quotes"
BASE_URL_FIX = "check EVOLINK_BASE_URL: the service's API base, e.g. https://api.evolink.ai/v1"
MODEL_FIX = "set EVOLINK_MODEL to a model id your key may use (see your EvoLink dashboard)"
CREDIT_FIXES = {
    "account": "top up the balance of your EvoLink account",
    "key": "raise this key's spending limit in your EvoLink dashboard",
    "key_daily": "this key's daily allowance is used up: wait for midnight or raise it in the dashboard",
}


async def check_completions(
    settings: Settings, session: aiohttp.ClientSession, timeout_seconds: float
) -> list[CheckResult]:
    """Check the key and the model with the models list, or with a minimal completion when it has none."""
    url = f"{settings.evolink_base_url}/models"
    headers = {"Authorization": "Bearer " + settings.evolink_api_key.reveal()}
    try:
        status, body, answer_headers = await http_get(session, url, headers, timeout_seconds)
    except Unreachable as exc:
        return [_unreachable(settings, exc.reason), _skipped_model()]
    if status in (404, 405):  # an OpenAI-compatible service need not list its models
        return await _check_with_completion(settings, session, timeout_seconds)
    if not 200 <= status < 300:
        return [_service_failure(settings, classify_error(status, body, answer_headers)), _skipped_model()]
    ids = _model_ids(body)
    if ids is None:
        summary = f"{shown_url(url)} did not answer with a list of models"
        return [CheckResult(Status.FAIL, KEY, summary, BASE_URL_FIX), _skipped_model()]
    listed = check_model_listed(settings.evolink_model, ids)
    if listed.status is not Status.OK:
        return [_key_accepted(settings), listed]
    # A listed model does not prove the account has credit: only an answer does (a few tokens).
    return await _check_with_completion(settings, session, timeout_seconds)


def check_model_listed(model: str, ids: list[str]) -> CheckResult:
    """Pass when the service lists the model; else name the closest ids it does list."""
    if model in ids:
        return CheckResult(Status.OK, MODEL, f"{model} is available")
    close = difflib.get_close_matches(model, ids, n=3)
    listed = f"{len(ids)} model{'' if len(ids) == 1 else 's'}"
    found = f"{model} is not among the {listed} the service lists for this key"
    hint = f" (close: {', '.join(close)})" if close else ""
    return CheckResult(Status.FAIL, MODEL, found + hint, "set EVOLINK_MODEL to a model id the service lists")


async def _check_with_completion(
    settings: Settings, session: aiohttp.ClientSession, timeout_seconds: float
) -> list[CheckResult]:
    """Ask for a one-word answer: it proves the key, the credit and the model at once."""
    client = CompletionsClient(
        session,
        base_url=settings.evolink_base_url,
        api_key=settings.evolink_api_key.reveal(),
        model=settings.evolink_model,
        timeouts=Timeouts(min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds, timeout_seconds),
        retry=RetryPolicy(attempts=1),  # the check reports what happened; a retry would only delay that
    )
    try:
        await client.complete(PING_MESSAGES, reasoning_effort=settings.reasoning_effort)
    except (EmptyAnswer, ContentFiltered):
        pass  # an answer without text still went through the key, the credit and the model
    except BadRequest as exc:
        status, code = _status_and_code(exc)
        if status == 404 and code is None:  # neither route exists: this URL is not the API's base
            summary = f"{shown_url(settings.evolink_base_url)} has no chat completions (HTTP 404)"
            return [CheckResult(Status.FAIL, KEY, summary, BASE_URL_FIX), _skipped_model()]
        summary = f"{settings.evolink_model} was refused ({_short(exc)})"
        return [_key_accepted(settings), CheckResult(Status.FAIL, MODEL, summary, MODEL_FIX)]
    except CompletionError as exc:
        return [_service_failure(settings, exc), _skipped_model()]
    answered = CheckResult(Status.OK, MODEL, f"{settings.evolink_model} answered a test message")
    return [_key_accepted(settings), answered, *_reasoning_ignored(settings, client)]


def _reasoning_ignored(settings: Settings, client: CompletionsClient) -> list[CheckResult]:
    """Return a warning when the service rejected the reasoning effort the bot sends (else nothing)."""
    effort = settings.reasoning_effort
    if effort is None or client.sends_reasoning_effort(effort):
        return []
    what = "reasoning_effort" if not client.reasoning_effort_supported else f"reasoning_effort {effort}"
    summary = f"the service does not accept {what}: the bot asks without it, so the setting is ignored"
    fix = "set REASONING_EFFORT= (empty) to stop sending it, or use a model that supports it"
    return [CheckResult(Status.WARN, REASONING, summary, fix)]


def _service_failure(settings: Settings, exc: CompletionError) -> CheckResult:
    """Turn a classified service error into the key's failed line, with the fix that helps."""
    host, short = shown_url(settings.evolink_base_url), _short(exc)
    if isinstance(exc, AuthenticationFailed):
        return CheckResult(Status.FAIL, KEY, f"rejected by {host} ({short})", KEY_FIX)
    if isinstance(exc, OutOfCredit):
        fix = CREDIT_FIXES.get(exc.scope, CREDIT_FIXES["account"])
        return CheckResult(Status.FAIL, KEY, f"accepted, but out of credit ({short})", fix)
    if isinstance(exc, RateLimited):
        summary = f"not confirmed: {host} is rate limiting ({short})"
        return CheckResult(Status.FAIL, KEY, summary, "wait a minute, then run the check again")
    if isinstance(exc, ServiceUnavailable):
        fix = "try again in a few minutes; if it persists, " + BASE_URL_FIX
        return CheckResult(Status.FAIL, KEY, f"not confirmed: {host} is failing ({short})", fix)
    if isinstance(exc, BadRequest):
        summary = f"not confirmed: {host} refused the request ({short})"
        return CheckResult(Status.FAIL, KEY, summary, BASE_URL_FIX)
    if isinstance(exc, MalformedReply):
        summary = f"not confirmed: {host} did not answer like a chat-completions service"
        return CheckResult(Status.FAIL, KEY, summary, BASE_URL_FIX)
    return _unreachable(settings, str(exc))  # timeouts and lost connections: their text is the client's


def _unreachable(settings: Settings, reason: str) -> CheckResult:
    summary = f"not confirmed: {shown_url(settings.evolink_base_url)} is unreachable ({reason})"
    return CheckResult(Status.FAIL, KEY, summary, BASE_URL_FIX)


def _key_accepted(settings: Settings) -> CheckResult:
    return CheckResult(Status.OK, KEY, f"accepted by {shown_url(settings.evolink_base_url)}")


def _skipped_model() -> CheckResult:
    return skipped(MODEL, "EVOLINK_API_KEY")


def _model_ids(body: bytes) -> list[str] | None:
    """Return the ids of an OpenAI models list, or None when the body is not one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, list):
        return None
    return [str(item["id"]) for item in data if isinstance(item, Mapping) and "id" in item]


def _status_and_code(exc: CompletionError) -> tuple[int | None, str | None]:
    match = _ERROR_PREFIX.match(str(exc))
    return (int(match[1]), match[2]) if match else (None, None)


def _short(exc: CompletionError) -> str:
    """Return e.g. "HTTP 401, code invalid_api_key": never the service's words, which may echo the key."""
    status, code = _status_and_code(exc)
    if status is None:
        return type(exc).__name__
    return f"HTTP {status}" + (f", code {code}" if code else "")
