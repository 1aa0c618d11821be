"""Images of history turns in PostgreSQL (`history_images`, deleted with their turn by a foreign key)."""

from __future__ import annotations

from collections.abc import Sequence

from storage.images import AttachedImage, TurnImage
from storage.postgres.database import PostgresDatabase

_INSERT = """
INSERT INTO history_images (turn_id, channel_id, position, filename, media_type, width, height, tokens, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
# A range of the (channel_id, turn_id) index, newest turn first.
_NEWEST = """
SELECT turn_id, filename, media_type, width, height, tokens, data FROM history_images
WHERE channel_id = $1 AND turn_id >= $2
ORDER BY turn_id DESC, position ASC
LIMIT $3
"""


class PostgresImageStore:
    """Reads and writes the images of history turns in PostgreSQL."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def add(self, turn_id: int, channel_id: int, images: Sequence[AttachedImage]) -> None:
        """Store a turn's images, in order (all or none)."""
        rows = [
            (turn_id, channel_id, position, i.filename, i.media_type, i.width, i.height, i.tokens, i.data)
            for position, i in enumerate(images)
        ]
        async with self._database.transaction() as db:
            await db.executemany(_INSERT, rows)

    async def newest(self, channel_id: int, *, since_turn_id: int, limit: int) -> list[TurnImage]:
        """Return up to `limit` images of the channel's turns from `since_turn_id` on, newest turn first."""
        if limit <= 0:
            return []
        rows = await self._database.fetch(_NEWEST, channel_id, since_turn_id, limit)
        return [
            TurnImage(turn_id, AttachedImage(filename, media_type, bytes(data), width, height, tokens))
            for turn_id, filename, media_type, width, height, tokens, data in rows
        ]

    async def count(self, channel_id: int) -> int:
        """Return how many images the channel has stored."""
        async with self._database.connection() as db:
            count = await db.fetchval("SELECT COUNT(*) FROM history_images WHERE channel_id = $1", channel_id)
        return int(count)
