"""Turns stored before counts were exact are recounted once, and their running totals rebuilt."""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from assistant.context import label_user_turn, turn_tokens
from storage.history import Exchange, Turn
from storage.sqlite import history as history_module
from storage.sqlite.database import Database, pending_migrations
from storage.sqlite.history import SqliteHistoryStore
from tests.tokenizer import reference_count

# The migration that lists the turns to recount: every one before it stored estimates.
RECOUNT_MIGRATION = next(n for n, sql in pending_migrations(0) if "history_recount" in sql)
JSON_ANSWER = json.dumps([{"id": n, "url": f"https://example.com/items/{n * 7919}"} for n in range(20)])


def old_estimate(text: str) -> int:
    """Return the characters-based estimate stored before counts were exact."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars // 4) + len(text) - ascii_chars + 4


def old_database(path: Path, exchanges: int) -> None:
    """Write a database as the version before the recount left it, with estimated tokens."""
    with contextlib.closing(sqlite3.connect(path)) as old:
        for number, script in pending_migrations(0)[: RECOUNT_MIGRATION - 1]:
            old.executescript(f"{script}\nPRAGMA user_version = {number};")
        running = dict.fromkeys((1, 2), 0)
        for n, channel in itertools.product(range(exchanges), (1, 2)):
            for role, author, content, tokens in (
                ("user", "Ann", f"show item {n}", old_estimate(label_user_turn("Ann", f"show item {n}"))),
                ("assistant", "", JSON_ANSWER, old_estimate(JSON_ANSWER)),
            ):
                running[channel] += tokens
                old.execute(
                    "INSERT INTO history (channel_id, role, author_name, content, tokens, created_at,"
                    " running_tokens) VALUES (?, ?, ?, ?, ?, 0, ?)",
                    (channel, role, author, content, tokens, running[channel]),
                )
        old.commit()


def stored(path: Path, channel: int) -> list[tuple[str, str, int, int]]:
    """Return (author, content, tokens, running total) of a channel's turns, oldest first."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        query = "SELECT author_name, content, tokens, running_tokens FROM history WHERE channel_id = ?"
        return db.execute(f"{query} ORDER BY id", (channel,)).fetchall()


def exact(rows: list[tuple[str, str, int, int]]) -> bool:
    """Return whether every turn holds its o200k count and the running totals add them up."""
    running = 0
    for author, content, tokens, total in rows:
        running += tokens
        as_sent = label_user_turn(author, content) if author else content
        if tokens != reference_count(as_sent) + 4 or total != running:
            return False
    return True


async def test_turns_stored_with_estimates_are_recounted_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_database(path, exchanges=6)
    assert not exact(stored(path, 1))  # the estimate undercounted the JSON answers
    database = await Database.open(path)
    try:
        history = SqliteHistoryStore(database)
        assert await history.recount(turn_tokens) == 24
        assert exact(stored(path, 1)) and exact(stored(path, 2))
        question = Turn("user", "more", turn_tokens(Turn("user", "more", 0, "Ann")), "Ann")
        await history.append_exchange(
            Exchange(1, 2, question, Turn("assistant", "ok", turn_tokens(Turn("assistant", "ok", 0))))
        )
        assert await history.recount(turn_tokens) == 0  # once only: new turns are counted when stored
        assert exact(stored(path, 2))
    finally:
        await database.close()


async def test_an_interrupted_recount_finishes_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    old_database(path, exchanges=3)
    monkeypatch.setattr(history_module, "RECOUNT_BATCH_TURNS", 4)
    calls = itertools.count()

    def failing_after_a_batch(turn: Turn) -> int:
        if next(calls) == 6:
            raise RuntimeError("stopped mid-recount")
        return turn_tokens(turn)

    database = await Database.open(path)
    try:
        with pytest.raises(RuntimeError, match="stopped"):
            await SqliteHistoryStore(database).recount(failing_after_a_batch)
        assert await SqliteHistoryStore(database).recount(turn_tokens) == 12
    finally:
        await database.close()
    assert exact(stored(path, 1)) and exact(stored(path, 2))


async def test_a_new_database_has_nothing_to_recount(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "new.db")
    try:
        assert await SqliteHistoryStore(database).recount(turn_tokens) == 0
    finally:
        await database.close()
