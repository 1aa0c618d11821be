"""Thread store on a real SQLite file: recorded threads survive a reopen; removal forgets history."""

from __future__ import annotations

from pathlib import Path

from storage.history import Exchange, Turn
from storage.sqlite.database import Database
from storage.sqlite.history import SqliteHistoryStore
from storage.sqlite.threads import SqliteThreadStore


async def test_threads_survive_reopening(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "bot.db")
    store = SqliteThreadStore(database, clock=lambda: 1_700_000_000)
    await store.add(10, guild_id=1, parent_id=2, starter_id=3)
    await database.close()
    reopened = await Database.open(tmp_path / "bot.db")
    try:
        again = SqliteThreadStore(reopened)
        assert again.get(10) is None  # nothing until loaded
        assert await again.load() == 1
        thread = again.get(10)
        assert thread is not None
        assert (thread.guild_id, thread.parent_id, thread.starter_id, thread.created_at) == (
            1,
            2,
            3,
            1_700_000_000,
        )
    finally:
        await reopened.close()


async def test_removing_a_thread_forgets_it_and_its_history(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "bot.db")
    try:
        store, history = SqliteThreadStore(database), SqliteHistoryStore(database)
        await store.add(10, guild_id=1, parent_id=2, starter_id=3)
        turn = Turn("user", "hi", 5, "ann")
        await history.append_exchange(Exchange(1, 10, turn, Turn("assistant", "hello", 5)))
        await history.append_exchange(Exchange(1, 2, turn, Turn("assistant", "hello", 5)))
        assert await store.remove(10) is True
        assert store.get(10) is None
        assert await history.count(10) == 0
        assert await history.count(2) == 2
        assert await store.remove(10) is False
    finally:
        await database.close()
