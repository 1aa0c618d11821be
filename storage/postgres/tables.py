"""The PostgreSQL side of copying a database: whole tables read by primary key, written in batches.

Rows travel between backends in SQLite's plain values: a DATE column is read as its ISO text and
written from it, a boolean from 0 or 1, so a copy in either direction keeps every value.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Sequence
from typing import Any

from storage.postgres.database import PostgresDatabase
from storage.tables import Row, parents_first, quoted

BOOKKEEPING_TABLES = frozenset({"schema_migrations"})
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
_REFERENCES = """
    SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
    FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
"""
_COLUMNS = """
    SELECT column_name, data_type FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position
"""
_KEY = """
    SELECT a.attname FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
    WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)
"""
_SEQUENCES = """
    SELECT column_name, pg_get_serial_sequence(quote_ident($1), column_name) AS sequence
    FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1
"""


class PostgresTables:
    """A PostgreSQL database's tables."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def names(self) -> list[str]:
        """Return the data tables, each after the tables its foreign keys refer to."""
        names = [str(row[0]) for row in await self._database.fetch(_TABLES)]
        depends_on: dict[str, set[str]] = {name: set() for name in names if name not in BOOKKEEPING_TABLES}
        for row in await self._database.fetch(_REFERENCES):
            if row["child"] in depends_on:
                depends_on[row["child"]].add(row["parent"])
        return parents_first(depends_on)

    async def columns(self, table: str) -> list[str]:
        """Return the table's columns, in order."""
        return [str(row["column_name"]) for row in await self._database.fetch(_COLUMNS, table)]

    async def count(self, table: str) -> int:
        """Return how many rows the table holds."""
        [row] = await self._fetch(f"SELECT COUNT(*) FROM {quoted(table)}")  # noqa: S608
        return int(row[0])

    async def rows(self, table: str, columns: Sequence[str], batch: int) -> AsyncIterator[list[Row]]:
        """Yield the rows in primary key order, `batch` at a time, as plain values."""
        key = [str(row[0]) for row in await self._database.fetch(_KEY, quoted(table))] or ["ctid"]
        selected = ", ".join(quoted(c) if c != "ctid" else c for c in [*key, *columns])
        ordered = ", ".join(quoted(c) if c != "ctid" else c for c in key)
        marks = ", ".join(f"${n}" for n in range(1, len(key) + 1))
        first = f"SELECT {selected} FROM {quoted(table)} ORDER BY {ordered} LIMIT $1"  # noqa: S608
        following = (
            f"SELECT {selected} FROM {quoted(table)} WHERE ({ordered}) > ({marks}) "  # noqa: S608
            f"ORDER BY {ordered} LIMIT ${len(key) + 1}"
        )
        after: tuple[Any, ...] = ()
        while True:
            if after:
                found = await self._fetch(following, *after, batch)
            else:
                found = await self._fetch(first, batch)
            if not found:
                return
            after = tuple(found[-1])[: len(key)]
            yield [tuple(plain(value) for value in tuple(row)[len(key) :]) for row in found]

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Add the rows in one transaction, typed for their columns."""
        types = {
            str(r["column_name"]): str(r["data_type"]) for r in await self._database.fetch(_COLUMNS, table)
        }
        convert = [_CONVERT.get(types[column], _same) for column in columns]
        names = ", ".join(quoted(column) for column in columns)
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        sql = f"INSERT INTO {quoted(table)} ({names}) OVERRIDING SYSTEM VALUE VALUES ({marks})"  # noqa: S608
        typed = [tuple(c(v) for c, v in zip(convert, row, strict=True)) for row in rows]
        async with self._database.transaction() as connection:
            await connection.executemany(sql, typed)

    async def finish(self, table: str) -> None:
        """Move each identity or serial sequence of the table past the largest value copied."""
        for row in await self._database.fetch(_SEQUENCES, table):
            if row["sequence"] is None:
                continue
            column = quoted(str(row["column_name"]))
            largest = f"SELECT MAX({column}) FROM {quoted(table)}"  # noqa: S608
            await self._fetch(f"SELECT setval($1, COALESCE(({largest}), 0) + 1, false)", row["sequence"])

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        """Run a statement whose identifiers came from the schema (see storage.tables.quoted)."""
        return await self._database.fetch(sql, *args)


def plain(value: Any) -> Any:
    """Return a value as SQLite keeps it (a date as ISO text)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _same(value: Any) -> Any:
    return value


def _date(value: Any) -> Any:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _boolean(value: Any) -> Any:
    return bool(value) if isinstance(value, int) else value


_CONVERT = {"date": _date, "boolean": _boolean}
