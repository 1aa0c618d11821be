"""The ledger of answered triggers in PostgreSQL, shared by every process (see :mod:`storage.answered`)."""

from __future__ import annotations

from storage.postgres.database import PostgresDatabase
from storage.postgres.history import affected

_CLAIM = "INSERT INTO answered_triggers (trigger_id, claimed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"


class PostgresAnsweredLedger:
    """Claims message and interaction ids once each, across processes: the primary key decides."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def claim(self, trigger_id: int, *, now_seconds: int) -> bool:
        """Record `trigger_id` as being answered; return False when another session already claimed it."""
        async with self._database.connection() as db:
            return affected(await db.execute(_CLAIM, trigger_id, now_seconds)) == 1

    async def prune(self, *, before_seconds: int) -> int:
        """Forget the claims made before `before_seconds` (unix time); return how many."""
        async with self._database.connection() as db:
            status = await db.execute("DELETE FROM answered_triggers WHERE claimed_at < $1", before_seconds)
        return affected(status)
