"""The ledger of answered triggers in SQLite (see :mod:`storage.answered`)."""

from __future__ import annotations

from storage.sqlite.database import Database

_CLAIM = "INSERT INTO answered_triggers (trigger_id, claimed_at) VALUES (?, ?) ON CONFLICT DO NOTHING"


class SqliteAnsweredLedger:
    """Claims message and interaction ids once each, in SQLite."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim(self, trigger_id: int, *, now_seconds: int) -> bool:
        """Record `trigger_id` as being answered; return False when another session already claimed it."""
        async with self._database.locked() as db:
            cursor = await db.execute(_CLAIM, (trigger_id, now_seconds))
            return cursor.rowcount == 1

    async def prune(self, *, before_seconds: int) -> int:
        """Forget the claims made before `before_seconds` (unix time); return how many."""
        async with self._database.transaction() as db:
            cursor = await db.execute("DELETE FROM answered_triggers WHERE claimed_at < ?", (before_seconds,))
            return cursor.rowcount
