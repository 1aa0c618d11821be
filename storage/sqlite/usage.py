"""Usage, reservations and server budgets in SQLite (see :mod:`storage.usage`).

The hold is written by one statement that succeeds only if the totals are still those the check
read, so two concurrent requests can never both see the room that only one of them may take.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import astuple
from datetime import date

import aiosqlite

from storage.sqlite.database import Database
from storage.usage import DayReport, LedgerKey, Standing, StoredBudgets, Tally

# Written out (not generated from Tally's fields) so every query reads as plain SQL; the columns are in
# Tally's field order, and tests/storage/test_usage.py checks the two agree.
TALLY_COLUMNS = (
    "requests, failed_requests, estimated_requests, prompt_tokens, completion_tokens,"
    " reasoning_tokens, cached_tokens, total_tokens"
)
_SELECT_GUILD_DAY = (
    "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(failed_requests), 0),"
    " COALESCE(SUM(estimated_requests), 0), COALESCE(SUM(prompt_tokens), 0),"
    " COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(reasoning_tokens), 0),"
    " COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(total_tokens), 0)"
    " FROM usage_daily WHERE guild_id = ? AND day = ?"
)
_SELECT_MEMBER_DAY = (
    "SELECT requests, failed_requests, estimated_requests, prompt_tokens, completion_tokens,"
    " reasoning_tokens, cached_tokens, total_tokens"
    " FROM usage_daily WHERE guild_id = ? AND day = ? AND user_id = ?"
)
_SELECT_TOP_MEMBERS = (
    "SELECT user_id, requests, failed_requests, estimated_requests, prompt_tokens, completion_tokens,"
    " reasoning_tokens, cached_tokens, total_tokens"
    " FROM usage_daily WHERE guild_id = ? AND day = ? ORDER BY total_tokens DESC, user_id LIMIT ?"
)
_ADD_TO_LEDGER = (
    "INSERT INTO usage_daily (guild_id, day, user_id, requests, failed_requests, estimated_requests,"
    " prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, total_tokens)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (guild_id, day, user_id) DO UPDATE SET"
    " requests = requests + excluded.requests,"
    " failed_requests = failed_requests + excluded.failed_requests,"
    " estimated_requests = estimated_requests + excluded.estimated_requests,"
    " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
    " completion_tokens = completion_tokens + excluded.completion_tokens,"
    " reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,"
    " cached_tokens = cached_tokens + excluded.cached_tokens,"
    " total_tokens = total_tokens + excluded.total_tokens"
)
_ADD_TO_GUILD_TOTAL = (
    "INSERT INTO usage_guild_daily (guild_id, day, total_tokens) VALUES (?, ?, ?)"
    " ON CONFLICT (guild_id, day) DO UPDATE SET total_tokens = total_tokens + excluded.total_tokens"
)
_SET_BUDGETS = (
    "INSERT INTO guild_budgets (guild_id, daily_tokens, user_daily_tokens, updated_by, updated_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
    " daily_tokens = excluded.daily_tokens,"
    # An omitted member budget (NULL) keeps the one the server had.
    " user_daily_tokens = COALESCE(excluded.user_daily_tokens, guild_budgets.user_daily_tokens),"
    " updated_by = excluded.updated_by, updated_at = excluded.updated_at"
    " RETURNING daily_tokens, user_daily_tokens"
)


class SqliteUsageStore:
    """Reads and writes usage, reservations and server budgets in SQLite."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def reserve(
        self, key: LedgerKey, tokens: int, admit: Callable[[Standing], bool], *, now_seconds: int
    ) -> tuple[int | None, Standing]:
        """Hold `tokens` if `admit` accepts the standing read in the same transaction.

        Return the reservation's id (None when refused) and the standing `admit` was shown.
        """
        for _ in range(RESERVE_ATTEMPTS):
            # Two statements instead of a BEGIN … COMMIT transaction's four: this runs before every
            # model call. The lock keeps this process's other work off the connection meanwhile.
            async with self._database.locked() as db:
                standing = await _standing(db, key)
                if not admit(standing):
                    return None, standing
                values = {
                    **_key_values(key),
                    "tokens": tokens,
                    "now": now_seconds,
                    "seen_guild": standing.guild_tokens,
                    "seen_user": standing.user_tokens,
                }
                rows = list(await db.execute_fetchall(_RESERVE_IF_UNCHANGED, values))
            if rows:
                return int(rows[0][0]), standing
        raise RuntimeError(f"the usage totals kept changing during {RESERVE_ATTEMPTS} reservation attempts")

    async def standing(self, key: LedgerKey) -> Standing:
        """Return the budgets and the tokens used and held for a server and member on a day."""
        async with self._database.reading() as db:
            return await _standing(db, key)

    async def settle(self, reservation_id: int, tally: Tally, *, fallback: LedgerKey) -> None:
        """Replace a reservation by the tally, on the reservation's day (`fallback` if it is gone)."""
        async with self._database.transaction() as db:
            key = await _take_reservation(db, reservation_id) or fallback
            await _add(db, key, tally)

    async def release(self, reservation_id: int, *, fallback: LedgerKey) -> None:
        """Drop a failed request's reservation and count the failure (no tokens)."""
        async with self._database.transaction() as db:
            key = await _take_reservation(db, reservation_id) or fallback
            await _add(db, key, Tally(failed_requests=1))

    async def clear_reservations(self) -> int:
        """Delete every reservation (at start-up nothing is in flight) and return how many there were."""
        async with self._database.transaction() as db:
            cursor = await db.execute("DELETE FROM usage_reservations")
            return cursor.rowcount

    async def budgets(self, guild_id: int) -> StoredBudgets:
        """Return a server's stored budgets (all None when its admins never set any)."""
        async with self._database.reading() as db:
            return await _budgets(db, guild_id)

    async def set_budgets(
        self, guild_id: int, daily_tokens: int, user_daily_tokens: int | None, *, by: int, now_seconds: int
    ) -> StoredBudgets:
        """Store a server's budgets; `user_daily_tokens=None` keeps the member budget it had."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                _SET_BUDGETS, (guild_id, daily_tokens, user_daily_tokens, by, now_seconds)
            )
            row = await cursor.fetchone()
        assert row is not None
        return StoredBudgets(row["daily_tokens"], row["user_daily_tokens"])

    async def day_report(self, key: LedgerKey, *, top_count: int) -> DayReport:
        """Return a server's day and one member's in one snapshot, with the `top_count` biggest users."""
        day = key.day.isoformat()
        async with self._database.reading() as db:
            budgets = await _budgets(db, key.guild_id)
            cursor = await db.execute(_SELECT_GUILD_DAY, (key.guild_id, day))
            guild = _tally(await cursor.fetchone())
            cursor = await db.execute(_SELECT_MEMBER_DAY, (key.guild_id, day, key.user_id))
            member = _tally(await cursor.fetchone())
            cursor = await db.execute(_SELECT_TOP_MEMBERS, (key.guild_id, day, top_count))
            top = [(row["user_id"], _tally(tuple(row)[1:])) for row in await cursor.fetchall()]
            cursor = await db.execute(
                "SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations WHERE guild_id = ? AND day = ?",
                (key.guild_id, day),
            )
            held = await cursor.fetchone()
        return DayReport(budgets, guild, member, top, held_tokens=int(held[0]) if held else 0)


# A server's and one member's recorded and held tokens on a day, and the server's budgets.
_SELECT_STANDING = """
SELECT
    COALESCE((SELECT total_tokens FROM usage_guild_daily WHERE guild_id = :g AND day = :d), 0),
    (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations WHERE guild_id = :g AND day = :d),
    (SELECT COALESCE(SUM(total_tokens), 0) FROM usage_daily
        WHERE guild_id = :g AND day = :d AND user_id = :u),
    (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations
        WHERE guild_id = :g AND day = :d AND user_id = :u),
    (SELECT daily_tokens FROM guild_budgets WHERE guild_id = :g),
    (SELECT user_daily_tokens FROM guild_budgets WHERE guild_id = :g)
"""
# Holds the tokens only if the totals (the same sums as above) have not grown since the admission was
# decided on them: one atomic statement, so no other writer, another process included, slips in
# between. Totals that shrank meanwhile (a settlement below its estimate) are no reason to retry:
# admission that had room at a higher total has room at a lower one.
_RESERVE_IF_UNCHANGED = """
INSERT INTO usage_reservations (guild_id, day, user_id, tokens, created_at)
SELECT :g, :d, :u, :tokens, :now
WHERE COALESCE((SELECT total_tokens FROM usage_guild_daily WHERE guild_id = :g AND day = :d), 0)
      + (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations WHERE guild_id = :g AND day = :d)
      <= :seen_guild
  AND (SELECT COALESCE(SUM(total_tokens), 0) FROM usage_daily
          WHERE guild_id = :g AND day = :d AND user_id = :u)
      + (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations
          WHERE guild_id = :g AND day = :d AND user_id = :u)
      <= :seen_user
RETURNING id
"""
# Another process holding between this one's read and hold makes the hold retry; this bounds it.
RESERVE_ATTEMPTS = 20


async def _standing(db: aiosqlite.Connection, key: LedgerKey) -> Standing:
    """Read the server's budgets and what it and the member have recorded and hold on the key's day.

    One statement: it runs before every model call, and each statement is a trip to the database thread.
    """
    rows = await db.execute_fetchall(_SELECT_STANDING, _key_values(key))
    [(guild_recorded, guild_held, user_recorded, user_held, daily_tokens, user_daily_tokens)] = rows
    return Standing(
        budgets=StoredBudgets(daily_tokens, user_daily_tokens),
        guild_tokens=guild_recorded + guild_held,
        guild_held_tokens=guild_held,
        user_tokens=user_recorded + user_held,
        user_held_tokens=user_held,
    )


def _key_values(key: LedgerKey) -> dict[str, object]:
    return {"g": key.guild_id, "d": key.day.isoformat(), "u": key.user_id}


async def _budgets(db: aiosqlite.Connection, guild_id: int) -> StoredBudgets:
    cursor = await db.execute(
        "SELECT daily_tokens, user_daily_tokens FROM guild_budgets WHERE guild_id = ?", (guild_id,)
    )
    row = await cursor.fetchone()
    return StoredBudgets() if row is None else StoredBudgets(row["daily_tokens"], row["user_daily_tokens"])


async def _take_reservation(db: aiosqlite.Connection, reservation_id: int) -> LedgerKey | None:
    """Delete a reservation and return whose day it held, or None when it was already gone."""
    rows = await db.execute_fetchall(
        "DELETE FROM usage_reservations WHERE id = ? RETURNING guild_id, user_id, day", (reservation_id,)
    )
    for row in rows:
        return LedgerKey(row["guild_id"], row["user_id"], date.fromisoformat(row["day"]))
    return None


async def _add(db: aiosqlite.Connection, key: LedgerKey, tally: Tally) -> None:
    """Add a tally to the key's row of the ledger (and tokens to the server's day total)."""
    day = key.day.isoformat()
    await db.execute(_ADD_TO_LEDGER, (key.guild_id, day, key.user_id, *astuple(tally)))
    if tally.total_tokens:
        await db.execute(_ADD_TO_GUILD_TOTAL, (key.guild_id, day, tally.total_tokens))


def _tally(row: sqlite3.Row | tuple[int, ...] | None) -> Tally:
    return Tally() if row is None else Tally(*(int(value) for value in row))
