"""The SQLite side of copying a database: whole tables read by rowid and written in batches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from storage.sqlite.database import Database
from storage.tables import Row, parents_first, quoted

# SQLite's own tables (sqlite_sequence, sqlite_stat1) are not data.
_DATA_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


class SqliteTables:
    """A SQLite database's tables."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def names(self) -> list[str]:
        """Return the data tables, each after the tables its foreign keys refer to."""
        async with self._database.reading() as db:
            names = [str(row[0]) for row in await db.execute_fetchall(_DATA_TABLES)]
            depends_on = {}
            for name in names:
                keys = await db.execute_fetchall(f"PRAGMA foreign_key_list({quoted(name)})")
                depends_on[name] = {str(key["table"]) for key in keys}
        return parents_first(depends_on)

    async def columns(self, table: str) -> list[str]:
        """Return the table's columns, in order."""
        async with self._database.reading() as db:
            return [
                str(row["name"]) for row in await db.execute_fetchall(f"PRAGMA table_info({quoted(table)})")
            ]

    async def count(self, table: str) -> int:
        """Return how many rows the table holds."""
        async with self._database.reading() as db:
            rows = await db.execute_fetchall(f"SELECT COUNT(*) FROM {quoted(table)}")  # noqa: S608
        return int(next(iter(rows))[0])

    async def rows(self, table: str, columns: Sequence[str], batch: int) -> AsyncIterator[list[Row]]:
        """Yield the rows in primary key order (rowid when there is none), `batch` at a time."""
        key = await self._key(table)
        selected = ", ".join(quoted(column) for column in [*key, *columns])
        ordered = ", ".join(quoted(column) for column in key)
        first = f"SELECT {selected} FROM {quoted(table)} ORDER BY {ordered} LIMIT ?"  # noqa: S608
        marks = ", ".join("?" for _ in key)
        following = (  # keyset pagination: each batch starts after the last key seen
            f"SELECT {selected} FROM {quoted(table)} WHERE ({ordered}) > ({marks}) ORDER BY {ordered} LIMIT ?"  # noqa: S608
        )
        after: tuple[object, ...] = ()
        while True:
            async with self._database.reading() as db:
                if after:
                    found = list(await db.execute_fetchall(following, (*after, batch)))
                else:
                    found = list(await db.execute_fetchall(first, (batch,)))
            if not found:
                return
            after = tuple(found[-1])[: len(key)]
            yield [tuple(row)[len(key) :] for row in found]

    async def _key(self, table: str) -> list[str]:
        """Return the table's primary key columns, or rowid for a table without one."""
        async with self._database.reading() as db:
            info = await db.execute_fetchall(f"PRAGMA table_info({quoted(table)})")
        key = sorted((row["pk"], str(row["name"])) for row in info if row["pk"])
        return [name for _, name in key] or ["rowid"]

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Add the rows in one transaction."""
        names = ", ".join(quoted(column) for column in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {quoted(table)} ({names}) VALUES ({marks})"  # noqa: S608
        async with self._database.transaction() as db:
            await db.executemany(sql, rows)

    async def finish(self, table: str) -> None:
        """Nothing to do: an INTEGER PRIMARY KEY continues after the largest id by itself."""
