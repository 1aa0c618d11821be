"""Small statistics for the benchmark: percentiles of samples, and the event loop's lag."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable

# How often the lag probe wakes; its oversleep is how long something held the event loop.
PROBE_INTERVAL_SECONDS = 0.005


def percentile(samples: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `samples` (0 for none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Iterable[float]) -> dict[str, float]:
    """Return p50, p99 and max of durations in seconds, in milliseconds rounded to 0.01 ms."""
    samples = list(seconds)
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 0.50) * 1000, 2),
        "p99": round(percentile(samples, 0.99) * 1000, 2),
        "max": round(max(samples, default=0.0) * 1000, 2),
    }


class LoopLag:
    """Measures how late the event loop wakes a task that sleeps a few milliseconds at a time.

    A blocking call in the bot (or in the fakes, which share the loop) shows up as lag.
    """

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)
            self.samples.append(max(0.0, loop.time() - before - PROBE_INTERVAL_SECONDS))
