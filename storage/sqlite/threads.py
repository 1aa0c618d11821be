"""Bot conversation threads in SQLite, mirrored in memory (see :mod:`storage.threads`)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from storage.sqlite.database import Database
from storage.threads import ConversationThread


class SqliteThreadStore:
    """Records bot conversation threads in SQLite."""

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._clock = clock
        self._known: dict[int, ConversationThread] = {}

    async def load(self) -> int:
        """Read every recorded thread into memory; return how many there are."""
        async with self._database.reading() as db:
            cursor = await db.execute(
                "SELECT thread_id, guild_id, parent_id, starter_id, created_at FROM conversation_threads"
            )
            rows = await cursor.fetchall()
        self._known = {row["thread_id"]: _thread(row) for row in rows}
        return len(self._known)

    def get(self, thread_id: int) -> ConversationThread | None:
        """Return the conversation thread with this id, if it is one."""
        return self._known.get(thread_id)

    async def find(self, thread_id: int) -> ConversationThread | None:
        """Read one thread from the database (another process may have recorded it) and mirror it."""
        async with self._database.reading() as db:
            cursor = await db.execute(
                "SELECT thread_id, guild_id, parent_id, starter_id, created_at FROM conversation_threads"
                " WHERE thread_id = ?",
                (thread_id,),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        self._known[thread_id] = thread = _thread(row)
        return thread

    async def add(
        self, thread_id: int, *, guild_id: int, parent_id: int, starter_id: int
    ) -> ConversationThread:
        """Record a new conversation thread."""
        thread = ConversationThread(thread_id, guild_id, parent_id, starter_id, int(self._clock()))
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO conversation_threads"
                " (thread_id, guild_id, parent_id, starter_id, created_at) VALUES (?, ?, ?, ?, ?)",
                (thread.thread_id, thread.guild_id, thread.parent_id, thread.starter_id, thread.created_at),
            )
        self._known[thread_id] = thread
        return thread

    async def remove(self, thread_id: int) -> bool:
        """Forget a thread (it was deleted) and its history; return whether it was a conversation."""
        self._known.pop(thread_id, None)
        async with self._database.transaction() as db:
            cursor = await db.execute("DELETE FROM conversation_threads WHERE thread_id = ?", (thread_id,))
            await db.execute("DELETE FROM history WHERE channel_id = ?", (thread_id,))
            return cursor.rowcount > 0


def _thread(row: sqlite3.Row) -> ConversationThread:
    return ConversationThread(
        thread_id=row["thread_id"],
        guild_id=row["guild_id"],
        parent_id=row["parent_id"],
        starter_id=row["starter_id"],
        created_at=row["created_at"],
    )
