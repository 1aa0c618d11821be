"""Per-channel conversation history: the turns the bot sends back to the model as context."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from storage.database import Database

Role = Literal["user", "assistant"]
# Rows read per query while walking back through a channel's history; a typical context fits in one.
PAGE_ROWS = 64


@dataclass(frozen=True)
class Turn:
    """One stored message of a conversation."""

    role: Role
    content: str
    tokens: int
    author_name: str = ""
    author_id: int | None = None
    discord_message_id: int | None = None


@dataclass(frozen=True)
class Exchange:
    """A question and its answer, stored together or not at all."""

    guild_id: int | None
    channel_id: int
    question: Turn
    answer: Turn


class HistoryStore:
    """Reads and writes channel history."""

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._clock = clock

    async def newest(self, channel_id: int, *, budget_tokens: int) -> list[Turn]:
        """Return the channel's newest turns whose tokens add up to at most `budget_tokens`, oldest first."""
        kept: list[Turn] = []
        spent = 0
        before_id: int | None = None
        async with self._database.reading() as db:
            while True:
                cursor = await db.execute(
                    "SELECT id, role, content, tokens, author_name, author_id, discord_message_id"
                    " FROM history WHERE channel_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                    (channel_id, before_id if before_id is not None else 2**63 - 1, PAGE_ROWS),
                )
                rows = list(await cursor.fetchall())
                for row in rows:
                    if spent + row["tokens"] > budget_tokens:
                        return kept[::-1]
                    spent += row["tokens"]
                    kept.append(_turn(row))
                if len(rows) < PAGE_ROWS:
                    return kept[::-1]
                before_id = rows[-1]["id"]

    async def append_exchange(self, exchange: Exchange) -> list[int]:
        """Store a question and its answer in one transaction; return their row ids."""
        now = int(self._clock())
        rows = [
            (exchange.guild_id, exchange.channel_id, turn.role, turn.author_id, turn.author_name,
             turn.content, turn.tokens, turn.discord_message_id, now)
            for turn in (exchange.question, exchange.answer)
        ]  # fmt: skip
        ids: list[int] = []
        async with self._database.transaction() as db:
            for row in rows:
                cursor = await db.execute(
                    "INSERT INTO history (guild_id, channel_id, role, author_id, author_name, content,"
                    " tokens, discord_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
        return ids

    async def remove(self, ids: list[int]) -> None:
        """Delete the given turns (an exchange whose answer never reached Discord)."""
        async with self._database.transaction() as db:
            await db.executemany("DELETE FROM history WHERE id = ?", [(turn_id,) for turn_id in ids])

    async def forget(self, channel_id: int) -> int:
        """Delete the channel's history and return how many turns were forgotten."""
        async with self._database.transaction() as db:
            cursor = await db.execute("DELETE FROM history WHERE channel_id = ?", (channel_id,))
            return cursor.rowcount

    async def count(self, channel_id: int) -> int:
        """Return how many turns the channel has stored."""
        async with self._database.reading() as db:
            cursor = await db.execute("SELECT COUNT(*) FROM history WHERE channel_id = ?", (channel_id,))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(
        role=row["role"],
        content=row["content"],
        tokens=row["tokens"],
        author_name=row["author_name"],
        author_id=row["author_id"],
        discord_message_id=row["discord_message_id"],
    )
