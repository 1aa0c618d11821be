"""History store on both backends: newest turns, block windows, exchanges whole, forget."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from storage.backend import Storage
from storage.connect import DatabaseTarget, open_storage
from storage.history import Exchange, HistoryStore, Turn, window_boundary
from storage.sqlite import history as history_module
from storage.sqlite.database import Database, pending_migrations
from storage.sqlite.history import SqliteHistoryStore


@pytest.fixture
def history(storage: Storage) -> HistoryStore:
    return storage.history


def exchange(channel_id: int, n: int, tokens: int = 10) -> Exchange:
    return Exchange(
        guild_id=1,
        channel_id=channel_id,
        question=Turn(role="user", content=f"q{n}", tokens=tokens, author_name="Ann", author_id=7),
        answer=Turn(role="assistant", content=f"a{n}", tokens=tokens),
    )


async def test_newest_turns_come_oldest_first_within_the_budget(history: HistoryStore) -> None:
    for n in range(5):
        await history.append_exchange(exchange(1, n))
    turns = await history.newest(1, budget_tokens=40)
    assert [turn.content for turn in turns] == ["q3", "a3", "q4", "a4"]
    assert turns[0].author_name == "Ann" and turns[0].author_id == 7


async def test_channels_are_separate(history: HistoryStore) -> None:
    await history.append_exchange(exchange(1, 1))
    await history.append_exchange(exchange(2, 2))
    assert [turn.content for turn in await history.newest(2, budget_tokens=1000)] == ["q2", "a2"]


async def test_a_long_window_is_read_whole(history: HistoryStore) -> None:
    count = 128  # exchanges: more turns than one read used to fetch
    for n in range(count):
        await history.append_exchange(exchange(1, n, tokens=1))
    turns = await history.newest(1, budget_tokens=10_000)
    assert len(turns) == count * 2
    assert turns[0].content == "q0" and turns[-1].content == f"a{count - 1}"


async def test_a_turn_that_does_not_fit_stops_the_walk(history: HistoryStore) -> None:
    await history.append_exchange(exchange(1, 0, tokens=5))
    await history.append_exchange(exchange(1, 1, tokens=50))
    assert await history.newest(1, budget_tokens=60) == [Turn(role="assistant", content="a1", tokens=50)]


async def test_forget_deletes_only_that_channel_and_counts(history: HistoryStore) -> None:
    for n in range(3):
        await history.append_exchange(exchange(1, n))
    await history.append_exchange(exchange(2, 9))
    assert await history.forget(1) == 6
    assert await history.count(1) == 0
    assert await history.count(2) == 2


async def test_history_survives_reopening(target: DatabaseTarget) -> None:
    storage = await open_storage(target)
    await storage.history.append_exchange(exchange(1, 1))
    await storage.close()
    reopened = await open_storage(target)
    try:
        assert await reopened.history.count(1) == 2
    finally:
        await reopened.close()


def test_the_window_starts_at_the_first_block_boundary_that_fits() -> None:
    assert window_boundary(900, 1_000, 500) == 0  # everything fits
    assert window_boundary(1_001, 1_000, 500) == 500  # one token over: a whole block goes
    assert window_boundary(1_500, 1_000, 500) == 500
    assert window_boundary(1_501, 1_000, 500) == 1_000
    assert window_boundary(1_501, 1_000, 1) == 501  # a one-token block slides


async def test_a_window_keeps_its_start_as_history_grows_until_it_overflows(history: HistoryStore) -> None:
    for n in range(4):
        await history.append_exchange(exchange(1, n))  # 20 tokens an exchange, 80 in all
    first = await history.window(1, budget_tokens=60, block_tokens=40)
    assert [turn.content for turn in first] == ["q2", "a2", "q3", "a3"]  # 40 tokens dropped at once
    await history.append_exchange(exchange(1, 4))
    assert [turn.content for turn in await history.window(1, budget_tokens=60, block_tokens=40)] == [
        "q2", "a2", "q3", "a3", "q4", "a4",
    ]  # fmt: skip
    await history.append_exchange(exchange(1, 5))
    third = await history.window(1, budget_tokens=60, block_tokens=40)
    assert [turn.content for turn in third] == ["q4", "a4", "q5", "a5"]


async def test_running_totals_restart_after_forget(history: HistoryStore) -> None:
    for n in range(3):
        await history.append_exchange(exchange(1, n))
    await history.forget(1)
    await history.append_exchange(exchange(1, 9))
    assert await history.window(1, budget_tokens=20, block_tokens=10) == await history.newest(
        1, budget_tokens=20
    )


async def test_the_migration_gives_existing_turns_their_running_totals(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as old:  # a database as version 3 left it
        for _, script in pending_migrations(0)[:3]:
            old.executescript(script)
        old.execute("PRAGMA user_version = 3")
        rows = [(channel, "user", f"m{n}", n + 1, 0) for n in range(6) for channel in (1, 2)]
        old.executemany(
            "INSERT INTO history (channel_id, role, content, tokens, created_at) VALUES (?, ?, ?, ?, ?)", rows
        )
        old.commit()
    database = await Database.open(path)
    try:
        async with database.reading() as db:
            cursor = await db.execute("SELECT running_tokens FROM history WHERE channel_id = 2 ORDER BY id")
            assert [row[0] for row in await cursor.fetchall()] == [1, 3, 6, 10, 15, 21]
        store = SqliteHistoryStore(database)
        await store.append_exchange(exchange(2, 7, tokens=4))
        async with database.reading() as db:
            cursor = await db.execute("SELECT MAX(running_tokens) FROM history WHERE channel_id = 2")
            assert (await cursor.fetchone())[0] == 29
    finally:
        await database.close()


@pytest.mark.parametrize("statement", [history_module._WINDOW, history_module._APPEND_EXCHANGE])
async def test_windows_and_appends_read_through_the_channel_index(tmp_path: Path, statement: str) -> None:
    # Their cost must not grow with the table: no scan, no sort.
    database = await Database.open(tmp_path / "bot.db")
    try:
        async with database.locked() as db:
            names = {"channel": 1, "guild": 1, "now": 0} | {
                f"{p}_{c}": None
                for p in "qa"
                for c in ("role", "author", "name", "content", "tokens", "message")
            }
            values = names | {"budget": 100, "block": 10}
            plan = " ".join(
                str(row[3]) for row in await db.execute_fetchall(f"EXPLAIN QUERY PLAN {statement}", values)
            )
        assert "history_channel_" in plan
        assert "SCAN history" not in plan and "TEMP B-TREE" not in plan
    finally:
        await database.close()
