"""The database: created where DATABASE_URL says, WAL and foreign keys on, migrations applied once."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from storage.connect import open_storage
from storage.errors import StorageError
from storage.sqlite.database import Database, pending_migrations


async def test_open_creates_the_folder_and_applies_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "bot.db"
    database = await Database.open(path)
    try:
        assert path.exists()
        assert await database.schema_version() == len(pending_migrations(0))
        async with database.reading() as db:
            journal = await (await db.execute("PRAGMA journal_mode")).fetchone()
            foreign_keys = await (await db.execute("PRAGMA foreign_keys")).fetchone()
        assert journal is not None and journal[0] == "wal"
        assert foreign_keys is not None and foreign_keys[0] == 1
    finally:
        await database.close()


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    first = await Database.open(path)
    version = await first.schema_version()
    await first.close()
    second = await Database.open(path)
    try:
        assert await second.schema_version() == version
        assert pending_migrations(version) == []
    finally:
        await second.close()


async def test_a_failed_unit_of_work_leaves_nothing_behind(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "bot.db")
    try:
        with pytest.raises(RuntimeError):
            async with database.transaction() as db:
                await db.execute(
                    "INSERT INTO history (channel_id, role, content, tokens, created_at)"
                    " VALUES (1, 'user', 'x', 1, 0)"
                )
                raise RuntimeError("boom")
        async with database.reading() as db:
            row = await (await db.execute("SELECT COUNT(*) FROM history")).fetchone()
        assert row is not None and row[0] == 0
    finally:
        await database.close()


async def test_the_newest_turns_query_uses_the_channel_index(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "bot.db")
    try:
        async with database.reading() as db:
            cursor = await db.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM history"
                " WHERE channel_id = ? AND id < ? ORDER BY id DESC LIMIT 64",
                (1, 10),
            )
            plan = " ".join(str(row[3]) for row in await cursor.fetchall())
        assert "history_channel_newest" in plan
        assert "TEMP B-TREE" not in plan  # no sort: the index already gives the order
    finally:
        await database.close()


async def test_a_schema_newer_than_the_code_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await (await open_storage(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as newer:
        newer.execute("PRAGMA user_version = 999")
    with pytest.raises(StorageError) as refused:
        await open_storage(path)
    assert str(refused.value).startswith(f"DATABASE_URL ({path}): the database's schema is at version 999")
