"""History store on a real SQLite file: newest turns within a budget, exchanges whole, forget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.database import Database
from storage.history import PAGE_ROWS, Exchange, HistoryStore, Turn


@pytest.fixture
async def history(tmp_path: Path) -> AsyncIterator[HistoryStore]:
    database = await Database.open(tmp_path / "bot.db")
    yield HistoryStore(database, clock=lambda: 1_700_000_000)
    await database.close()


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


async def test_a_budget_spanning_several_pages_reads_them_all(history: HistoryStore) -> None:
    count = PAGE_ROWS * 2  # exchanges, so four pages of turns
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


async def test_history_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    database = await Database.open(path)
    await HistoryStore(database).append_exchange(exchange(1, 1))
    await database.close()
    reopened = await Database.open(path)
    try:
        assert await HistoryStore(reopened).count(1) == 2
    finally:
        await reopened.close()
