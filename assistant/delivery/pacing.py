"""Edit pacing: Discord operations on one channel are spaced out; channels never wait on each other.

Discord rate-limits message creates and edits per channel. Streaming an answer means many edits, so
each channel gets its own slot schedule: an operation takes the next free slot of its channel
(reserved synchronously, so concurrent answers in one channel queue up fairly) and sleeps until
then. Another channel's schedule is untouched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

# About one edit per second per channel keeps well inside Discord's per-channel limits.
EDIT_INTERVAL_SECONDS = 1.0
# Above this many tracked channels, schedules already in the past are dropped.
PRUNE_ABOVE_CHANNELS = 1024


class Pacer:
    """Spaces out operations per key (a channel) by a fixed interval."""

    def __init__(
        self,
        interval_seconds: float = EDIT_INTERVAL_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._sleep = sleep
        self._next_free: dict[Hashable, float] = {}

    async def wait(self, key: Hashable) -> None:
        """Wait for the next free slot of `key`, then return (the slot is taken)."""
        now = self._clock()
        slot = max(now, self._next_free.get(key, now))
        self._next_free[key] = slot + self.interval_seconds
        self._prune(now)
        if slot > now:
            await self._sleep(slot - now)

    def mark(self, key: Hashable) -> None:
        """Record an operation made without waiting (an answer's first message), taking a slot."""
        now = self._clock()
        self._next_free[key] = max(now, self._next_free.get(key, now)) + self.interval_seconds

    def _prune(self, now: float) -> None:
        if len(self._next_free) > PRUNE_ABOVE_CHANNELS:
            self._next_free = {key: at for key, at in self._next_free.items() if at > now}
