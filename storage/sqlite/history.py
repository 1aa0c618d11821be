"""Channel history in SQLite: the context window and an exchange each in one statement."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from storage.history import Exchange, Role, Turn, window_turns
from storage.sqlite.database import Database

log = logging.getLogger(__name__)

# The context window in one statement (one trip to the database thread): the turns that end
# after the window's boundary (:func:`window_boundary`, the same arithmetic), newest first, as a
# range of the (channel_id, running_tokens) index. The channel's total is its newest turn's.
_WINDOW = """
SELECT role, content, tokens, running_tokens, author_name, author_id, discord_message_id, id
FROM history
WHERE channel_id = :channel AND running_tokens > (
    SELECT CASE WHEN total <= :budget THEN 0 ELSE (total - :budget + :block - 1) / :block * :block END
    FROM (SELECT running_tokens AS total FROM history WHERE channel_id = :channel ORDER BY id DESC LIMIT 1)
)
ORDER BY running_tokens DESC, id DESC
"""
# The question then the answer, each with the channel's running total after it, in one statement
# (one trip to the database thread, atomic without a transaction).
_APPEND_EXCHANGE = """
WITH last(running) AS (
    SELECT COALESCE(
        (SELECT running_tokens FROM history WHERE channel_id = :channel ORDER BY id DESC LIMIT 1), 0)
)
INSERT INTO history (guild_id, channel_id, role, author_id, author_name, content, tokens,
                     discord_message_id, created_at, running_tokens)
SELECT :guild, :channel, :q_role, :q_author, :q_name, :q_content, :q_tokens, :q_message, :now,
       running + :q_tokens FROM last
UNION ALL
SELECT :guild, :channel, :a_role, :a_author, :a_name, :a_content, :a_tokens, :a_message, :now,
       running + :q_tokens + :a_tokens FROM last
RETURNING id
"""
# Turns stored before token counts were exact (migration 0006), read in batches by id.
_RECOUNT_BATCH = """
SELECT history.id, role, content, author_name FROM history_recount JOIN history USING (id)
WHERE history.id > :after ORDER BY history.id LIMIT :limit
"""
# Every channel's running totals from its turns' tokens, in one pass (as migration 0004 did).
_REBUILD_RUNNING_TOTALS = """
UPDATE history SET running_tokens = totals.running
FROM (SELECT id, SUM(tokens) OVER (PARTITION BY channel_id ORDER BY id) AS running FROM history) AS totals
WHERE history.id = totals.id
"""
RECOUNT_BATCH_TURNS = 5_000
RecountRow = tuple[int, Role, str, str]  # id, role, content, author name


class SqliteHistoryStore:
    """Reads and writes channel history in SQLite."""

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._clock = clock

    async def newest(self, channel_id: int, *, budget_tokens: int) -> list[Turn]:
        """Return the channel's newest turns whose tokens add up to at most `budget_tokens`, oldest first."""
        return await self.window(channel_id, budget_tokens=budget_tokens, block_tokens=1)

    async def window(self, channel_id: int, *, budget_tokens: int, block_tokens: int) -> list[Turn]:
        """Return the channel's context window within `budget_tokens`, oldest first.

        The window is every turn that starts at or after :func:`window_boundary` of the channel's
        total. One statement reads it as a range of the channel's running-total index: the turns
        it returns and at most one more, however long the history is.
        """
        if block_tokens > budget_tokens:
            # A question took most of the budget: a whole block would leave little or nothing, so
            # this once the window slides, keeping the newest turns that fit.
            block_tokens = 1
        values = {"channel": channel_id, "budget": budget_tokens, "block": block_tokens}
        async with self._database.locked() as db:
            rows = await db.execute_fetchall(_WINDOW, values)
        return window_turns(rows, budget_tokens, block_tokens)

    async def append_exchange(self, exchange: Exchange) -> list[int]:
        """Store a question and its answer (one statement: both or neither); return their row ids."""
        values = {
            "guild": exchange.guild_id,
            "channel": exchange.channel_id,
            "now": int(self._clock()),
            **_turn_values("q", exchange.question),
            **_turn_values("a", exchange.answer),
        }
        async with self._database.locked() as db:
            rows = await db.execute_fetchall(_APPEND_EXCHANGE, values)
        return sorted(row[0] for row in rows)

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

    async def recount(self, tokens_of: Callable[[Turn], int]) -> int:
        """Recount, once, the turns stored before counts were exact; return how many were recounted.

        Batches are counted in a thread and written one transaction each; the running totals are
        rebuilt and the list of turns to recount emptied together at the end, so an interrupted
        recount simply starts again at the next start-up.
        """
        after, recounted = 0, 0
        while rows := await self._recount_batch(after):
            if not recounted:
                log.info("Recounting the tokens of turns stored before counts were exact (once)")
            counts = await asyncio.to_thread(_counted, rows, tokens_of)
            async with self._database.transaction() as db:
                await db.executemany("UPDATE history SET tokens = ? WHERE id = ?", counts)
            after, recounted = rows[-1][0], recounted + len(rows)
        async with self._database.transaction() as db:
            cursor = await db.execute("DELETE FROM history_recount")
            if cursor.rowcount:
                await db.execute(_REBUILD_RUNNING_TOTALS)
        if recounted:
            log.info("Recounted the tokens of %d stored turns", recounted)
        return recounted

    async def _recount_batch(self, after: int) -> list[RecountRow]:
        """Return the next turns to recount, by id after `after`."""
        async with self._database.locked() as db:
            rows = await db.execute_fetchall(_RECOUNT_BATCH, {"after": after, "limit": RECOUNT_BATCH_TURNS})
        return [(row[0], row[1], row[2], row[3]) for row in rows]


def _counted(rows: list[RecountRow], tokens_of: Callable[[Turn], int]) -> list[tuple[int, int]]:
    """Return (tokens, id) for each turn to recount."""
    return [
        (tokens_of(Turn(role, content, 0, author_name)), turn_id)
        for turn_id, role, content, author_name in rows
    ]


def _turn_values(prefix: str, turn: Turn) -> dict[str, object]:
    """Return a turn's columns as named parameters of :data:`_APPEND_EXCHANGE`."""
    return {
        f"{prefix}_role": turn.role,
        f"{prefix}_author": turn.author_id,
        f"{prefix}_name": turn.author_name,
        f"{prefix}_content": turn.content,
        f"{prefix}_tokens": turn.tokens,
        f"{prefix}_message": turn.discord_message_id,
    }
