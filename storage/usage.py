"""The usage ledger (per server, member and UTC day), reservations in flight, and server budgets.

The budget check and the reservation are one unit of work (:meth:`UsageStore.reserve`): two
concurrent requests, in one process or several, can never both see the room that only one of them
may take. What counts as "room" is the caller's decision (``admit``); a store only counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class Tally:
    """Requests and tokens counted for one member, or a whole server, on one day."""

    requests: int = 0
    failed_requests: int = 0
    estimated_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class LedgerKey:
    """Whose usage, on which UTC day."""

    guild_id: int
    user_id: int
    day: date


@dataclass(frozen=True)
class StoredBudgets:
    """A server's budgets as its admins set them: None = the default, 0 = unlimited."""

    daily_tokens: int | None = None
    user_daily_tokens: int | None = None


@dataclass(frozen=True)
class Standing:
    """A server's and one member's tokens on a day, recorded plus held in flight, and their budgets."""

    budgets: StoredBudgets
    guild_tokens: int
    guild_held_tokens: int
    user_tokens: int
    user_held_tokens: int


@dataclass(frozen=True)
class DayReport:
    """One consistent read of a server's day: its budgets, its totals, one member's, the top members."""

    budgets: StoredBudgets
    guild: Tally
    member: Tally
    top: list[tuple[int, Tally]]
    held_tokens: int  # the server's, by answers in flight


class UsageStore(Protocol):
    """Reads and writes usage, reservations and server budgets."""

    async def reserve(
        self, key: LedgerKey, tokens: int, admit: Callable[[Standing], bool], *, now_seconds: int
    ) -> tuple[int | None, Standing]:
        """Hold `tokens` if `admit` accepts the standing read atomically with the hold.

        Return the reservation's id (None when refused) and the standing `admit` was shown.
        """
        ...

    async def standing(self, key: LedgerKey) -> Standing:
        """Return the budgets and the tokens used and held for a server and member on a day."""
        ...

    async def settle(self, reservation_id: int, tally: Tally, *, fallback: LedgerKey) -> None:
        """Replace a reservation by the tally, on the reservation's day (`fallback` if it is gone)."""
        ...

    async def release(self, reservation_id: int, *, fallback: LedgerKey) -> None:
        """Drop a failed request's reservation and count the failure (no tokens)."""
        ...

    async def clear_reservations(self) -> int:
        """Delete the reservations no answer in flight can still hold; return how many there were."""
        ...

    async def budgets(self, guild_id: int) -> StoredBudgets:
        """Return a server's stored budgets (all None when its admins never set any)."""
        ...

    async def set_budgets(
        self, guild_id: int, daily_tokens: int, user_daily_tokens: int | None, *, by: int, now_seconds: int
    ) -> StoredBudgets:
        """Store a server's budgets; `user_daily_tokens=None` keeps the member budget it had."""
        ...

    async def day_report(self, key: LedgerKey, *, top_count: int) -> DayReport:
        """Return a server's day and one member's in one snapshot, with the `top_count` biggest users."""
        ...
