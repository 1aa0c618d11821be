"""Count the bot's HTTP requests to Discord, and note when an answer's first text is posted.

discord.py makes every REST call through one aiohttp session, which takes an
:class:`aiohttp.TraceConfig`: its end-of-request callback sees the method, the status and the
headers, never a body. The URL is only matched against the two routes that post a message (a
channel message, an interaction followup); it is not recorded, as it can hold an interaction token.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import aiohttp

from assistant.observability import metrics
from assistant.observability.answers import ANSWER_IN_FLIGHT

HTTP_SWITCHING_PROTOCOLS = 101  # the gateway's websocket upgrade: not a REST request
HTTP_TOO_MANY_REQUESTS = 429
RATE_LIMIT_SCOPES = ("user", "global", "shared")
# POST routes that create a message members see: /channels/{id}/messages and a followup
# /webhooks/{application}/{token}.
_POSTS_TEXT = re.compile(r"/channels/\d+/messages$|/webhooks/\d+/[^/]+$")


def trace_config() -> aiohttp.TraceConfig:
    """Return the trace configuration to give discord.py (`http_trace=`)."""
    config = aiohttp.TraceConfig()
    config.on_request_end.append(_on_request_end)
    config.on_request_exception.append(_on_request_exception)
    return config


async def _on_request_end(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
) -> None:
    recorder = metrics.current()
    status = params.response.status
    if recorder is None or status == HTTP_SWITCHING_PROTOCOLS:
        return
    recorder.child(recorder.discord_requests, params.method, str(status)).inc()
    if status == HTTP_TOO_MANY_REQUESTS:
        scope = params.response.headers.get("X-RateLimit-Scope", "unknown")
        recorder.discord_rate_limited.labels(
            scope if scope in ("user", "global", "shared") else "unknown"
        ).inc()
    elif status < 300 and params.method == "POST" and _POSTS_TEXT.search(params.url.path):
        in_flight = ANSWER_IN_FLIGHT.get()
        if in_flight is not None:
            in_flight.first_text()


async def _on_request_exception(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
) -> None:
    recorder = metrics.current()
    if recorder is not None:
        recorder.discord_requests.labels(params.method, "error").inc()
