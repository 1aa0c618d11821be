"""When to try a completions request again: a count of attempts, backoff, and a total deadline.

Behind a gateway that retries by itself (a LiteLLM proxy, a New API channel list), one failed
attempt can take many seconds, and the bot's attempts multiply the gateway's. So besides the count,
one question's retries end within ``RetryPolicy.deadline_seconds`` of its first attempt: a retry is
made only if its wait plus the slowest attempt so far still ends within the deadline. Every failed
attempt is logged once, with the gateway's request id, and says whether it is retried.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from assistant.errors import CompletionError, RateLimited
from assistant.observability import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry rate limits, 5xx and connection failures."""

    attempts: int = 3  # in total, the first one included
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0  # a longer Retry-After is not waited for: the error is raised at once
    deadline_seconds: float = 20.0  # from the first attempt's start, waits included


class Attempts:
    """One request's attempts: counts and times them, and waits before the next one or gives up."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._began = self._started
        self._slowest_seconds = 0.0
        self.number = 0

    def begin(self) -> None:
        """Mark the start of the next attempt."""
        self.number += 1
        self._began = self._clock()

    async def failed(self, exc: CompletionError, *, retryable: bool = True) -> None:
        """Log the failed attempt; wait before the next one, or raise `exc` when none may be made."""
        self._slowest_seconds = max(self._slowest_seconds, self._clock() - self._began)
        delay, why_not = self._next_delay(exc) if retryable else (None, "text was already shown")
        status = getattr(exc, "status", 429 if isinstance(exc, RateLimited) else None)
        log.warning(
            "Completions attempt %d/%d failed with %s (status %s, request id %s); %s",
            self.number,
            self._policy.attempts,
            type(exc).__name__,
            status,
            exc.request_id or "none",
            f"retrying in {delay:.1f}s" if delay is not None else f"not retried: {why_not}",
        )
        metrics.completion_failed(exc, retrying=delay is not None)
        if delay is None:
            raise exc
        await self._sleep(delay)

    def _next_delay(self, exc: CompletionError) -> tuple[float | None, str]:
        """Return the wait before the next attempt, or None and why there is none."""
        policy = self._policy
        if not exc.retryable:
            return None, "it would fail the same way"
        if self.number >= policy.attempts:
            return None, "that was the last attempt"
        if isinstance(exc, RateLimited) and exc.retry_after_seconds is not None:
            delay = exc.retry_after_seconds
            if delay > policy.max_delay_seconds:  # the member is better told to come back later
                return None, f"Retry-After {delay:g}s is over {policy.max_delay_seconds:g}s"
        else:
            backoff = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** (self.number - 1))
            delay = backoff * random.uniform(0.75, 1.0)
        ends_at = self._clock() - self._started + delay + self._slowest_seconds
        if ends_at > policy.deadline_seconds:
            return None, f"another attempt could end past the {policy.deadline_seconds:g}s retry deadline"
        return delay, ""
