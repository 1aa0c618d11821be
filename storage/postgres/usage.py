"""Usage, reservations and server budgets in PostgreSQL, shared by every process (see :mod:`storage.usage`).

A hold is one call of the `reserve_tokens` function (migrations 0001, 0005): under an advisory lock
per server and day it checks that the totals have not grown since the admission read them, then
inserts the hold, so concurrent requests in any number of processes never both take the room only
one may have.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import astuple
from datetime import date

import asyncpg

from storage.postgres.database import PostgresDatabase
from storage.postgres.history import affected
from storage.usage import DayReport, LedgerKey, Standing, StoredBudgets, Tally

# Another request changing the totals between read and hold makes the hold retry; this bounds it.
RESERVE_ATTEMPTS = 20  # only holds made meanwhile by other processes make one retry
# No answer holds its tokens longer (the request timeout is at most 15 minutes, with retries):
# older reservations were left by a process that stopped without settling them.
RESERVATION_LIFETIME_SECONDS = 3_600

_SELECT_STANDING = """
SELECT
    COALESCE((SELECT total_tokens FROM usage_guild_daily WHERE guild_id = $1 AND day = $2), 0),
    (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations WHERE guild_id = $1 AND day = $2),
    (SELECT COALESCE(SUM(total_tokens), 0) FROM usage_daily
        WHERE guild_id = $1 AND day = $2 AND user_id = $3),
    (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations
        WHERE guild_id = $1 AND day = $2 AND user_id = $3),
    (SELECT daily_tokens FROM guild_budgets WHERE guild_id = $1),
    (SELECT user_daily_tokens FROM guild_budgets WHERE guild_id = $1)
"""
_RESERVE = "SELECT reserve_tokens($1, $2, $3, $4, $5, $6, $7)"
_TAKE_RESERVATION = "DELETE FROM usage_reservations WHERE id = $1 RETURNING guild_id, user_id, day"
_ADD_TO_LEDGER = (
    "INSERT INTO usage_daily AS u (guild_id, day, user_id, requests, failed_requests, estimated_requests,"
    " prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, total_tokens)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (guild_id, day, user_id) DO UPDATE SET"
    " requests = u.requests + excluded.requests,"
    " failed_requests = u.failed_requests + excluded.failed_requests,"
    " estimated_requests = u.estimated_requests + excluded.estimated_requests,"
    " prompt_tokens = u.prompt_tokens + excluded.prompt_tokens,"
    " completion_tokens = u.completion_tokens + excluded.completion_tokens,"
    " reasoning_tokens = u.reasoning_tokens + excluded.reasoning_tokens,"
    " cached_tokens = u.cached_tokens + excluded.cached_tokens,"
    " total_tokens = u.total_tokens + excluded.total_tokens"
)
_ADD_TO_GUILD_TOTAL = (
    "INSERT INTO usage_guild_daily AS g (guild_id, day, total_tokens) VALUES ($1, $2, $3)"
    " ON CONFLICT (guild_id, day) DO UPDATE SET total_tokens = g.total_tokens + excluded.total_tokens"
)
_SET_BUDGETS = (
    "INSERT INTO guild_budgets AS b (guild_id, daily_tokens, user_daily_tokens, updated_by, updated_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guild_id) DO UPDATE SET"
    " daily_tokens = excluded.daily_tokens,"
    " user_daily_tokens = COALESCE(excluded.user_daily_tokens, b.user_daily_tokens),"
    " updated_by = excluded.updated_by, updated_at = excluded.updated_at"
    " RETURNING daily_tokens, user_daily_tokens"
)
_SELECT_BUDGETS = "SELECT daily_tokens, user_daily_tokens FROM guild_budgets WHERE guild_id = $1"
_SELECT_GUILD_DAY = (
    "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(failed_requests), 0),"
    " COALESCE(SUM(estimated_requests), 0), COALESCE(SUM(prompt_tokens), 0),"
    " COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(reasoning_tokens), 0),"
    " COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(total_tokens), 0)"
    " FROM usage_daily WHERE guild_id = $1 AND day = $2"
)
_SELECT_MEMBER_DAY = (
    "SELECT requests, failed_requests, estimated_requests, prompt_tokens, completion_tokens,"
    " reasoning_tokens, cached_tokens, total_tokens"
    " FROM usage_daily WHERE guild_id = $1 AND day = $2 AND user_id = $3"
)
_SELECT_TOP_MEMBERS = (
    "SELECT user_id, requests, failed_requests, estimated_requests, prompt_tokens, completion_tokens,"
    " reasoning_tokens, cached_tokens, total_tokens"
    " FROM usage_daily WHERE guild_id = $1 AND day = $2 ORDER BY total_tokens DESC, user_id LIMIT $3"
)
_SELECT_HELD = "SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations WHERE guild_id = $1 AND day = $2"


class PostgresUsageStore:
    """Reads and writes usage, reservations and server budgets in PostgreSQL."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database
        # This process's holders of one server's day take turns, as SQLite's connection lock makes
        # them: otherwise they would all read the same totals and all but one retry. Only holders in
        # other processes (an overlapping deploy) can still make a hold retry.
        self._turns: weakref.WeakValueDictionary[tuple[int, date], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def reserve(
        self, key: LedgerKey, tokens: int, admit: Callable[[Standing], bool], *, now_seconds: int
    ) -> tuple[int | None, Standing]:
        """Hold `tokens` if `admit` accepts the standing and the totals have not moved by the hold."""
        turn = self._turns.setdefault((key.guild_id, key.day), asyncio.Lock())
        async with turn:
            return await self._reserve_in_turn(key, tokens, admit, now_seconds)

    async def _reserve_in_turn(
        self, key: LedgerKey, tokens: int, admit: Callable[[Standing], bool], now_seconds: int
    ) -> tuple[int | None, Standing]:
        for _ in range(RESERVE_ATTEMPTS):
            async with self._database.connection() as db:
                standing = await _standing(db, key)
                if not admit(standing):
                    return None, standing
                held = await db.fetchval(
                    _RESERVE, *_key(key), tokens, now_seconds, standing.guild_tokens, standing.user_tokens
                )
            if held is not None:
                return int(held), standing
        raise RuntimeError(f"the usage totals kept changing during {RESERVE_ATTEMPTS} reservation attempts")

    async def standing(self, key: LedgerKey) -> Standing:
        """Return the budgets and the tokens used and held for a server and member on a day."""
        async with self._database.connection() as db:
            return await _standing(db, key)

    async def settle(self, reservation_id: int, tally: Tally, *, fallback: LedgerKey) -> None:
        """Replace a reservation by the tally, on the reservation's day (`fallback` if it is gone)."""
        async with self._database.transaction() as db:
            await _add(db, await _take_reservation(db, reservation_id) or fallback, tally)

    async def release(self, reservation_id: int, *, fallback: LedgerKey) -> None:
        """Drop a failed request's reservation and count the failure (no tokens)."""
        async with self._database.transaction() as db:
            await _add(db, await _take_reservation(db, reservation_id) or fallback, Tally(failed_requests=1))

    async def clear_reservations(self) -> int:
        """Delete the reservations older than any answer in flight (other processes hold the young ones)."""
        async with self._database.connection() as db:
            status = await db.execute(
                "DELETE FROM usage_reservations WHERE created_at < EXTRACT(EPOCH FROM now())::bigint - $1",
                RESERVATION_LIFETIME_SECONDS,
            )
        return affected(status)

    async def budgets(self, guild_id: int) -> StoredBudgets:
        """Return a server's stored budgets (all None when its admins never set any)."""
        async with self._database.connection() as db:
            row = await db.fetchrow(_SELECT_BUDGETS, guild_id)
        return StoredBudgets() if row is None else StoredBudgets(*row)

    async def set_budgets(
        self, guild_id: int, daily_tokens: int, user_daily_tokens: int | None, *, by: int, now_seconds: int
    ) -> StoredBudgets:
        """Store a server's budgets; `user_daily_tokens=None` keeps the member budget it had."""
        async with self._database.connection() as db:
            row = await db.fetchrow(_SET_BUDGETS, guild_id, daily_tokens, user_daily_tokens, by, now_seconds)
        assert row is not None
        return StoredBudgets(*row)

    async def day_report(self, key: LedgerKey, *, top_count: int) -> DayReport:
        """Return a server's day and one member's in one snapshot, with the `top_count` biggest users."""
        async with self._database.transaction() as db:
            await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            budgets = await db.fetchrow(_SELECT_BUDGETS, key.guild_id)
            guild = await db.fetchrow(_SELECT_GUILD_DAY, key.guild_id, key.day)
            member = await db.fetchrow(_SELECT_MEMBER_DAY, *_key(key))
            top = await db.fetch(_SELECT_TOP_MEMBERS, key.guild_id, key.day, top_count)
            held = await db.fetchval(_SELECT_HELD, key.guild_id, key.day)
        return DayReport(
            StoredBudgets() if budgets is None else StoredBudgets(*budgets),
            _tally(guild),
            _tally(member),
            [(row["user_id"], _tally(tuple(row)[1:])) for row in top],
            held_tokens=int(held),
        )


async def _standing(db: asyncpg.Connection, key: LedgerKey) -> Standing:
    """Read the server's budgets and what it and the member have recorded and hold, in one statement."""
    row = await db.fetchrow(_SELECT_STANDING, *_key(key))
    assert row is not None
    guild_recorded, guild_held, user_recorded, user_held, daily_tokens, user_daily_tokens = row
    return Standing(
        budgets=StoredBudgets(daily_tokens, user_daily_tokens),
        guild_tokens=int(guild_recorded + guild_held),
        guild_held_tokens=int(guild_held),
        user_tokens=int(user_recorded + user_held),
        user_held_tokens=int(user_held),
    )


def _key(key: LedgerKey) -> tuple[int, object, int]:
    return key.guild_id, key.day, key.user_id


async def _take_reservation(db: asyncpg.Connection, reservation_id: int) -> LedgerKey | None:
    """Delete a reservation and return whose day it held, or None when it was already gone."""
    row = await db.fetchrow(_TAKE_RESERVATION, reservation_id)
    return None if row is None else LedgerKey(row["guild_id"], row["user_id"], row["day"])


async def _add(db: asyncpg.Connection, key: LedgerKey, tally: Tally) -> None:
    """Add a tally to the key's row of the ledger (and tokens to the server's day total)."""
    await db.execute(_ADD_TO_LEDGER, *_key(key), *astuple(tally))
    if tally.total_tokens:
        await db.execute(_ADD_TO_GUILD_TOTAL, key.guild_id, key.day, tally.total_tokens)


def _tally(row: asyncpg.Record | tuple[int, ...] | None) -> Tally:
    return Tally() if row is None else Tally(*(int(value) for value in row))
