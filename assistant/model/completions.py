"""The chat-completions client: one POST per answer, classified errors, bounded retries.

Knows nothing of Discord. The wire format (parsing, error classification) lives in
:mod:`assistant.model.wire` and the streaming format in :mod:`assistant.model.sse`; the answer types
are re-exported here so callers import from one place.

Retried: :class:`RateLimited`, :class:`ServiceUnavailable`, :class:`ConnectionFailed` (their
``retryable`` flag), up to ``RetryPolicy.attempts`` attempts in total, and for a stream only until its
first text. Never retried: timeouts once the request was sent (it may have been billed), and
everything else. The API key goes into the Authorization header and nowhere else: it is scrubbed
from every error's text, and the client's repr leaves it out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from assistant.errors import CompletionError, ConnectionFailed, RateLimited, RequestTimedOut
from assistant.model.sse import stream_events
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
class RetryPolicy:
    """How often and how patiently to retry rate limits, 5xx and connection failures."""

    attempts: int = 3  # in total, the first one included
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0  # a longer Retry-After is not waited for: the error is raised at once


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
    ) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeouts = timeouts
        self.retry = retry
        self._api_key = api_key  # used only in the Authorization header; scrubbed from every error
        self._sleep = sleep
        self._url = f"{self.base_url}/chat/completions"
        self._timeout = aiohttp.ClientTimeout(
            total=timeouts.total_seconds, connect=timeouts.connect_seconds, sock_read=timeouts.read_seconds
        )

    def __repr__(self) -> str:
        return f"CompletionsClient(base_url={self.base_url!r}, model={self.model!r})"

    async def complete(self, messages: Sequence[Mapping[str, str]]) -> Completion:
        """Ask for a whole answer, retrying transient failures."""
        body = self._body(messages, stream=False)
        attempt = 1
        while True:
            try:
                return await self._complete_once(body)
            except CompletionError as exc:
                await self._before_retry(self._scrubbed(exc), attempt)
            attempt += 1

    async def stream(self, messages: Sequence[Mapping[str, str]]) -> AsyncGenerator[StreamEvent, None]:
        """Yield the answer as text deltas then one StreamEnd; retry only until the first delta."""
        body = self._body(messages, stream=True)
        attempt = 1
        while True:
            delivered = False
            try:
                async with aclosing(self._stream_once(body)) as events:
                    async for event in events:
                        delivered = delivered or isinstance(event, TextDelta)
                        yield event
                return
            except CompletionError as exc:
                if delivered:
                    self._scrubbed(exc)
                    raise
                await self._before_retry(self._scrubbed(exc), attempt)
            attempt += 1

    def _body(self, messages: Sequence[Mapping[str, str]], *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [dict(message) for message in messages]}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def _complete_once(self, body: dict[str, Any]) -> Completion:
        async with self._post(body) as response:
            raw = await response.read()
        return parse_completion(raw, request_id_of(response.headers))

    async def _stream_once(self, body: dict[str, Any]) -> AsyncGenerator[StreamEvent, None]:
        async with self._post(body) as response:
            request_id = request_id_of(response.headers)
            if response.content_type == "application/json":  # a gateway that answered in one piece
                completion = parse_completion(await response.read(), request_id)
                yield TextDelta(completion.text)
                yield StreamEnd(completion.finish_reason, completion.usage, request_id)
                return
            async with aclosing(stream_events(response.content.iter_any(), request_id)) as events:
                async for event in events:
                    yield event

    @asynccontextmanager
    async def _post(self, body: dict[str, Any]) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST the body; raise the classified error on a non-2xx answer or a transport failure."""
        headers = {"Authorization": "Bearer " + self._api_key}  # concatenation, so a Secret str works
        try:
            async with self._session.post(
                self._url, json=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                if not 200 <= response.status < 300:
                    raw = await response.read()
                    raise classify_error(
                        response.status, raw, response.headers, request_id=request_id_of(response.headers)
                    )
                yield response
        except aiohttp.ConnectionTimeoutError as exc:  # nothing was sent, so this is safe to retry
            raise ConnectionFailed(f"no connection within {self.timeouts.connect_seconds:g}s") from exc
        except aiohttp.ServerTimeoutError as exc:
            raise RequestTimedOut(f"no data for {self.timeouts.read_seconds:g}s") from exc
        except TimeoutError as exc:
            raise RequestTimedOut(f"no complete answer within {self.timeouts.total_seconds:g}s") from exc
        except aiohttp.ClientError as exc:
            raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc

    async def _before_retry(self, exc: CompletionError, attempt: int) -> None:
        """Sleep before the next attempt, or raise ``exc`` when it must not be retried."""
        delay = self._retry_delay(exc, attempt)
        if delay is None:
            raise exc
        status = getattr(exc, "status", 429 if isinstance(exc, RateLimited) else None)
        log.warning(
            "Completions attempt %d/%d failed with %s (status %s); retrying in %.1fs",
            attempt,
            self.retry.attempts,
            type(exc).__name__,
            status,
            delay,
        )
        await self._sleep(delay)

    def _retry_delay(self, exc: CompletionError, attempt: int) -> float | None:
        if not exc.retryable or attempt >= self.retry.attempts:
            return None
        if isinstance(exc, RateLimited) and exc.retry_after_seconds is not None:
            if exc.retry_after_seconds > self.retry.max_delay_seconds:
                return None  # the member is better told to come back later than kept waiting
            return exc.retry_after_seconds
        backoff = min(self.retry.max_delay_seconds, self.retry.base_delay_seconds * 2 ** (attempt - 1))
        return backoff * random.uniform(0.75, 1.0)

    def _scrubbed(self, exc: CompletionError) -> CompletionError:
        """Remove the API key from the error's text, in case the service echoed it back."""
        if self._api_key:
            exc.args = tuple(
                arg.replace(self._api_key, "***") if isinstance(arg, str) else arg for arg in exc.args
            )
        return exc
