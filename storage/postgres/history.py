"""Channel history in PostgreSQL: the context window and an exchange each in one statement."""

from __future__ import annotations

import time
from collections.abc import Callable

from storage.history import Exchange, Turn, window_turns
from storage.postgres.database import PostgresDatabase

# The same window as SQLite's (storage/sqlite/history.py): the turns that end after the boundary,
# newest first, as a range of the (channel_id, running_tokens) index.
_WINDOW = """
SELECT role, content, tokens, running_tokens, author_name, author_id, discord_message_id, id
FROM history
WHERE channel_id = $1 AND running_tokens > (
    SELECT CASE WHEN total <= $2 THEN 0 ELSE (total - $2 + $3 - 1) / $3 * $3 END
    FROM (SELECT running_tokens AS total FROM history WHERE channel_id = $1 ORDER BY id DESC LIMIT 1) AS n
)
ORDER BY running_tokens DESC, id DESC
"""
# The question then the answer, each with the channel's running total after it: one statement,
# so both rows are stored or neither.
_APPEND_EXCHANGE = """
WITH last AS (
    SELECT COALESCE(
        (SELECT running_tokens FROM history WHERE channel_id = $2 ORDER BY id DESC LIMIT 1), 0
    ) AS running
)
INSERT INTO history (guild_id, channel_id, role, author_id, author_name, content, tokens,
                     discord_message_id, created_at, running_tokens)
VALUES ($1, $2, $4, $5, $6, $7, $8, $9, $3, (SELECT running FROM last) + $8::integer),
       ($1, $2, $10, $11, $12, $13, $14, $15, $3, (SELECT running FROM last) + $8::integer + $14::integer)
RETURNING id
"""


class PostgresHistoryStore:
    """Reads and writes channel history in PostgreSQL."""

    def __init__(self, database: PostgresDatabase, *, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._clock = clock

    async def newest(self, channel_id: int, *, budget_tokens: int) -> list[Turn]:
        """Return the channel's newest turns whose tokens add up to at most `budget_tokens`, oldest first."""
        return await self.window(channel_id, budget_tokens=budget_tokens, block_tokens=1)

    async def window(self, channel_id: int, *, budget_tokens: int, block_tokens: int) -> list[Turn]:
        """Return the channel's context window within `budget_tokens`, oldest first."""
        if block_tokens > budget_tokens:
            block_tokens = 1  # as in SQLite: a question took most of the budget, so the window slides
        rows = await self._database.fetch(_WINDOW, channel_id, budget_tokens, block_tokens)
        return window_turns(rows, budget_tokens, block_tokens)

    async def append_exchange(self, exchange: Exchange) -> list[int]:
        """Store a question and its answer (one statement: both or neither); return their row ids."""
        rows = await self._database.fetch(
            _APPEND_EXCHANGE,
            exchange.guild_id,
            exchange.channel_id,
            int(self._clock()),
            *_turn_values(exchange.question),
            *_turn_values(exchange.answer),
        )
        return sorted(row[0] for row in rows)

    async def remove(self, ids: list[int]) -> None:
        """Delete the given turns (an exchange whose answer never reached Discord)."""
        async with self._database.connection() as db:
            await db.execute("DELETE FROM history WHERE id = ANY($1::bigint[])", ids)

    async def forget(self, channel_id: int) -> int:
        """Delete the channel's history and return how many turns were forgotten."""
        async with self._database.connection() as db:
            status = await db.execute("DELETE FROM history WHERE channel_id = $1", channel_id)
        return affected(status)

    async def count(self, channel_id: int) -> int:
        """Return how many turns the channel has stored."""
        async with self._database.connection() as db:
            return int(await db.fetchval("SELECT COUNT(*) FROM history WHERE channel_id = $1", channel_id))

    async def recount(self, tokens_of: Callable[[Turn], int]) -> int:
        """Recount nothing: PostgreSQL history began after token counts became exact."""
        return 0


def affected(status: str) -> int:
    """Return the row count of a command status such as ``DELETE 3`` or ``INSERT 0 1``."""
    return int(status.rsplit(" ", 1)[-1])


def _turn_values(turn: Turn) -> tuple[object, ...]:
    """Return a turn's columns in :data:`_APPEND_EXCHANGE`'s parameter order."""
    return (turn.role, turn.author_id, turn.author_name, turn.content, turn.tokens, turn.discord_message_id)
