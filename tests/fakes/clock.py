"""A clock the test moves by hand, for the bot's `clock=` (UTC day boundaries, reset times)."""

from __future__ import annotations

from datetime import datetime, timedelta


class MovableClock:
    """Returns `now` until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self.now += delta
