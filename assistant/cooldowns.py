"""Per-member cooldowns: a burst of questions is fine, a flood is slowed down.

Each member has a bucket of `burst` questions that refills one question per cooldown period. An
empty bucket refuses the question with how long to wait, telling the member once per period.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from assistant.errors import SlowDown

# Questions a member may ask back to back before the cooldown applies.
MEMBER_BURST_QUESTIONS = 3
# Above this many tracked members, buckets that have refilled completely are dropped.
PRUNE_ABOVE_MEMBERS = 4096


@dataclass
class _Bucket:
    questions: float
    updated_at: float
    told_at: float = float("-inf")


class Cooldowns:
    """Token buckets keyed by member."""

    def __init__(
        self,
        cooldown_seconds: float,
        *,
        burst: int = MEMBER_BURST_QUESTIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cooldown_seconds = cooldown_seconds
        self._burst = burst
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}

    def take(self, key: Hashable) -> None:
        """Spend one question of `key`'s bucket, or raise SlowDown when it is empty."""
        if self._cooldown_seconds <= 0:
            return
        now = self._clock()
        bucket = self._buckets.get(key) or _Bucket(float(self._burst), now)
        refilled = (now - bucket.updated_at) / self._cooldown_seconds
        bucket.questions, bucket.updated_at = min(float(self._burst), bucket.questions + refilled), now
        self._buckets[key] = bucket
        if bucket.questions >= 1:
            bucket.questions -= 1
            self._prune(now)
            return
        notify = now - bucket.told_at >= self._cooldown_seconds
        if notify:
            bucket.told_at = now
        raise SlowDown((1 - bucket.questions) * self._cooldown_seconds, notify=notify)

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= PRUNE_ABOVE_MEMBERS:
            return
        full_after = self._burst * self._cooldown_seconds
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated_at < full_after}
