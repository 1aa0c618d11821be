"""The chat-completions client: one POST per answer, classified errors, bounded retries.

Knows nothing of Discord. The wire format (parsing, error classification) lives in
:mod:`assistant.model.wire` and the streaming format in :mod:`assistant.model.sse`; the answer types
are re-exported here so callers import from one place.

Retried: :class:`RateLimited`, :class:`ServiceUnavailable`, :class:`ConnectionFailed` (their
``retryable`` flag), up to ``RetryPolicy.attempts`` attempts within ``RetryPolicy.deadline_seconds``
(:mod:`assistant.model.retrying`), and for a stream only until its first text. Never retried:
timeouts once the request was sent (it may have been billed), and everything else. Every error
carries the gateway's request id, when it sent one. The API key goes into the Authorization header
and nowhere else: it is scrubbed from every error's text, and the client's repr leaves it out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from assistant.errors import CompletionError, ConnectionFailed, RequestTimedOut
from assistant.model.reasoning import PARAMETER, ReasoningEffortRejected, rejection_of
from assistant.model.retrying import Attempts, RetryPolicy
from assistant.model.sse import read_stream
from assistant.model.wire import (
    Completion,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
    classify_error,
    parse_completion,
    request_id_of,
)

__all__ = [
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUTS",
    "Completion",
    "CompletionsClient",
    "RetryPolicy",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "Timeouts",
    "Usage",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits; ``read_seconds`` is the idle time allowed between two reads."""

    connect_seconds: float = 10.0
    read_seconds: float = 120.0
    total_seconds: float = 300.0


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


class CompletionsClient:
    """Ask an OpenAI-compatible chat-completions service for answers, over the bot's one session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeouts = timeouts
        self.retry = retry
        self._api_key = api_key  # used only in the Authorization header; scrubbed from every error
        self._sleep = sleep
        self._clock = clock
        self._url = f"{self.base_url}/chat/completions"
        # Once the service rejects reasoning_effort, it is not sent again by this process.
        self.reasoning_effort_supported = True
        self.rejected_efforts: set[str] = set()
        self._timeout = aiohttp.ClientTimeout(
            total=timeouts.total_seconds, connect=timeouts.connect_seconds, sock_read=timeouts.read_seconds
        )

    def __repr__(self) -> str:
        return f"CompletionsClient(base_url={self.base_url!r}, model={self.model!r})"

    async def complete(
        self, messages: Sequence[Mapping[str, Any]], *, reasoning_effort: str | None = None
    ) -> Completion:
        """Ask for a whole answer, retrying transient failures."""
        body = self._body(messages, stream=False, reasoning_effort=reasoning_effort)
        attempts = self._attempts()
        while True:
            attempts.begin()
            try:
                return await self._complete_once(body)
            except ReasoningEffortRejected as exc:
                body = self._without_reasoning_effort(body, exc)
                continue  # the same question again, not a retry of a failure
            except CompletionError as exc:
                await attempts.failed(self._scrubbed(exc))

    async def stream(
        self, messages: Sequence[Mapping[str, Any]], *, reasoning_effort: str | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Yield the answer as text deltas then one StreamEnd; retry only until the first delta."""
        body = self._body(messages, stream=True, reasoning_effort=reasoning_effort)
        attempts = self._attempts()
        while True:
            attempts.begin()
            delivered = False
            try:
                async with aclosing(self._stream_once(body)) as events:
                    async for event in events:
                        delivered = delivered or isinstance(event, TextDelta)
                        yield event
                return
            except ReasoningEffortRejected as exc:
                body = self._without_reasoning_effort(body, exc)
                continue
            except CompletionError as exc:
                await attempts.failed(self._scrubbed(exc), retryable=not delivered)

    def _attempts(self) -> Attempts:
        return Attempts(self.retry, clock=self._clock, sleep=self._sleep)

    def _body(
        self, messages: Sequence[Mapping[str, Any]], *, stream: bool, reasoning_effort: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [dict(message) for message in messages]}
        if self.sends_reasoning_effort(reasoning_effort):
            body[PARAMETER] = reasoning_effort
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def sends_reasoning_effort(self, effort: str | None) -> bool:
        """Tell whether a request asking for `effort` carries it (the service has not rejected it)."""
        return effort is not None and self.reasoning_effort_supported and effort not in self.rejected_efforts

    def _without_reasoning_effort(
        self, body: dict[str, Any], rejected: ReasoningEffortRejected
    ) -> dict[str, Any]:
        """Stop sending what the service rejected (the parameter or one value); return the body without it."""
        effort = body.get(PARAMETER)
        # Requests in flight together may all be rejected: the first one tells the log.
        if rejected.rejected == "parameter" and self.reasoning_effort_supported:
            self.reasoning_effort_supported = False
            log.warning(
                "The completions service does not support reasoning_effort (%s): questions are sent "
                "without it from now on, so REASONING_EFFORT and /config reasoning have no effect",
                self._scrubbed(rejected),
            )
        elif rejected.rejected == "value" and str(effort) not in self.rejected_efforts:
            self.rejected_efforts.add(str(effort))
            log.warning(
                "The completions service rejects reasoning_effort %r (%s): it is not sent from now on",
                effort,
                self._scrubbed(rejected),
            )
        return {key: value for key, value in body.items() if key != PARAMETER}

    async def _complete_once(self, body: dict[str, Any]) -> Completion:
        async with self._post(body) as response:
            raw = await response.read()
        return parse_completion(raw, request_id_of(response.headers))

    async def _stream_once(self, body: dict[str, Any]) -> AsyncGenerator[StreamEvent, None]:
        async with self._post(body) as response:
            request_id = request_id_of(response.headers)
            async with aclosing(read_stream(response.content.iter_any(), request_id)) as events:
                async for event in events:
                    yield event

    @asynccontextmanager
    async def _post(self, body: dict[str, Any]) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST the body; raise the classified error on a non-2xx answer or a transport failure.

        Whatever fails while the response is open (its status, its body, its reading) raises a
        :class:`CompletionError` carrying the response's request id.
        """
        headers = {"Authorization": "Bearer " + self._api_key}  # concatenation, so a Secret str works
        request_id: str | None = None
        try:
            async with self._session.post(
                self._url, json=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                request_id = request_id_of(response.headers)
                if not 200 <= response.status < 300:
                    raw = await response.read()
                    if PARAMETER in body and (rejected := rejection_of(response.status, raw)) is not None:
                        error = classify_error(response.status, raw, request_id=request_id)
                        raise ReasoningEffortRejected(str(error), rejected=rejected)
                    raise classify_error(response.status, raw, response.headers, request_id=request_id)
                yield response
        except CompletionError as exc:
            exc.request_id = exc.request_id or request_id
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = self._transport_error(exc)
            error.request_id = request_id
            raise error from exc

    def _transport_error(self, exc: aiohttp.ClientError | TimeoutError) -> CompletionError:
        """Return the error to raise for a failure to connect, to send or to read."""
        if isinstance(exc, aiohttp.ConnectionTimeoutError):  # nothing was sent, so this is safe to retry
            return ConnectionFailed(f"no connection within {self.timeouts.connect_seconds:g}s")
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return RequestTimedOut(f"no data for {self.timeouts.read_seconds:g}s")
        if isinstance(exc, TimeoutError):
            return RequestTimedOut(f"no complete answer within {self.timeouts.total_seconds:g}s")
        return ConnectionFailed(f"{type(exc).__name__}: {exc}")

    def _scrubbed(self, exc: CompletionError) -> CompletionError:
        """Remove the API key from the error's text, in case the service echoed it back."""
        if self._api_key:
            exc.args = tuple(
                arg.replace(self._api_key, "***") if isinstance(arg, str) else arg for arg in exc.args
            )
        return exc
