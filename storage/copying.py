"""Copy every table of one database into another, empty one, and verify it by counts.

Used by ``python bot.py --migrate-to URL`` (:mod:`assistant.migrate`) to move from SQLite to
PostgreSQL (or back). Both databases are open and migrated to the same schema first, so they hold
the same tables; the copy goes table by table, parents before children, in batches, and each
table's row count in the target must then equal the source's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.backend import Storage
from storage.postgres.database import PostgresDatabase
from storage.postgres.tables import PostgresTables
from storage.sqlite.database import Database
from storage.sqlite.tables import SqliteTables
from storage.tables import Tables

BATCH_ROWS = 1_000
# (table, rows copied so far, rows in all)
Progress = Callable[[str, int, int], None]


class CopyError(Exception):
    """The copy cannot start or did not arrive whole; the message says why and what to do."""


@dataclass(frozen=True)
class CopiedTable:
    """One table's rows, counted in the source and again in the target."""

    name: str
    rows: int


def tables_of(storage: Storage) -> Tables:
    """Return whole-table access to an open database."""
    connection = storage.connection
    if isinstance(connection, Database):
        return SqliteTables(connection)
    if isinstance(connection, PostgresDatabase):
        return PostgresTables(connection)
    raise CopyError(f"copying from or to {type(connection).__name__} is not supported")


async def copy_database(source: Tables, target: Tables, progress: Progress) -> list[CopiedTable]:
    """Copy every table of `source` into the empty `target`; return what was copied."""
    names = await tables_to_copy(source, target)
    copied = []
    for name in names:
        columns = await source.columns(name)
        total = await source.count(name)
        done = 0
        progress(name, done, total)
        async for rows in source.rows(name, columns, BATCH_ROWS):
            await target.insert(name, columns, rows)
            done += len(rows)
            progress(name, done, total)
        await target.finish(name)
        arrived = await target.count(name)
        if arrived != total:
            raise CopyError(f"{name}: {arrived:,} rows arrived of {total:,}; was the bot still running?")
        copied.append(CopiedTable(name, total))
    return copied


async def tables_to_copy(source: Tables, target: Tables) -> list[str]:
    """Return the tables both databases hold, parents first; raise CopyError if the copy cannot start.

    A table only one backend has is its own bookkeeping (SQLite's to-do list of turns to recount):
    it must be empty in the source. Every table of the target must be empty.
    """
    target_names = await target.names()
    filled = [(name, await target.count(name)) for name in target_names]
    holding = [f"{name} {rows:,}" for name, rows in filled if rows]
    if holding:
        raise CopyError(
            f"the target database is not empty (rows: {', '.join(holding)}): copy only into a new, empty one"
        )
    names = await source.names()
    for name in names:
        if name not in target_names and await source.count(name):
            raise CopyError(f"the target has no table {name}: run the same version of the bot on both")
    return [name for name in names if name in target_names]
