"""Bot conversation threads in PostgreSQL, mirrored in memory (see :mod:`storage.threads`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from storage.postgres.database import PostgresDatabase
from storage.postgres.history import affected
from storage.threads import ConversationThread

_RECORD = (
    "INSERT INTO conversation_threads (thread_id, guild_id, parent_id, starter_id, created_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (thread_id) DO UPDATE SET"
    " guild_id = excluded.guild_id, parent_id = excluded.parent_id,"
    " starter_id = excluded.starter_id, created_at = excluded.created_at"
)


class PostgresThreadStore:
    """Records bot conversation threads in PostgreSQL."""

    def __init__(self, database: PostgresDatabase, *, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._clock = clock
        self._known: dict[int, ConversationThread] = {}

    async def load(self) -> int:
        """Read every recorded thread into memory; return how many there are."""
        rows = await self._database.fetch(
            "SELECT thread_id, guild_id, parent_id, starter_id, created_at FROM conversation_threads"
        )
        self._known = {row["thread_id"]: ConversationThread(*row) for row in rows}
        return len(self._known)

    def get(self, thread_id: int) -> ConversationThread | None:
        """Return the conversation thread with this id, if it is one."""
        return self._known.get(thread_id)

    async def find(self, thread_id: int) -> ConversationThread | None:
        """Read one thread from the database (another process may have recorded it) and mirror it."""
        rows = await self._database.fetch(
            "SELECT thread_id, guild_id, parent_id, starter_id, created_at FROM conversation_threads"
            " WHERE thread_id = $1",
            thread_id,
        )
        if not rows:
            return None
        self._known[thread_id] = thread = ConversationThread(*rows[0])
        return thread

    async def add(
        self, thread_id: int, *, guild_id: int, parent_id: int, starter_id: int
    ) -> ConversationThread:
        """Record a new conversation thread."""
        thread = ConversationThread(thread_id, guild_id, parent_id, starter_id, int(self._clock()))
        async with self._database.connection() as db:
            await db.execute(_RECORD, thread_id, guild_id, parent_id, starter_id, thread.created_at)
        self._known[thread_id] = thread
        return thread

    async def remove(self, thread_id: int) -> bool:
        """Forget a thread (it was deleted) and its history; return whether it was a conversation."""
        self._known.pop(thread_id, None)
        async with self._database.transaction() as db:
            status = await db.execute("DELETE FROM conversation_threads WHERE thread_id = $1", thread_id)
            await db.execute("DELETE FROM history WHERE channel_id = $1", thread_id)
        return affected(status) > 0
