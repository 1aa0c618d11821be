"""The one SQLite connection: WAL, foreign keys, `Row` rows and numbered migrations.

Every store method is one complete unit of work: it holds the connection's lock for its whole
transaction, so concurrent tasks never see each other's half-written changes through the shared
connection. Each statement is a round trip to aiosqlite's thread (about 0.1 ms), so hot paths use
as few as they can: ``execute_fetchall``, one statement where one will do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import pending_in

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 5_000


class Database:
    """Owns the SQLite connection and serialises units of work on it."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating the folder and file if needed) and migrate the database at `path`."""
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so each unit of work is explicit.
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = aiosqlite.Row
        try:
            await connection.execute("PRAGMA journal_mode = WAL")
            await connection.execute("PRAGMA foreign_keys = ON")
            await connection.execute("PRAGMA synchronous = NORMAL")
            await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            database = cls(connection, path)
            await database.migrate()
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        """Close the connection once pending work has finished."""
        async with self._lock:
            await self._connection.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a read-write unit of work: committed on success, rolled back on any error."""
        async with self._lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a read-only unit of work that sees one consistent snapshot."""
        async with self._lock:
            await self._connection.execute("BEGIN")
            try:
                yield self._connection
            finally:
                await self._connection.execute("COMMIT")

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[aiosqlite.Connection]:
        """Use the connection without an explicit transaction, for one statement or snapshot-free reads.

        A single statement is atomic on its own, and holding the lock keeps every other unit of
        work off the connection meanwhile; skipping BEGIN and COMMIT saves two trips to the
        database thread, which on the answer path cost more than the statement itself.
        """
        async with self._lock:
            yield self._connection

    async def schema_version(self) -> int:
        """Return the number of the last migration applied."""
        async with self._lock:
            cursor = await self._connection.execute("PRAGMA user_version")
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def check_writable(self) -> None:
        """Take the write lock once: a read-only file fails here, not at the first answer."""
        async with self.transaction():
            pass

    async def migrate(self) -> None:
        """Apply, in order and each in its own transaction, the migrations not yet applied."""
        current = await self.schema_version()
        for number, script in pending_migrations(current):
            log.info("Applying database migration %04d", number)
            async with self._lock:
                try:
                    # executescript runs the whole file; the version moves in the same transaction.
                    await self._connection.executescript(
                        f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                    )
                except BaseException:
                    if self._connection.in_transaction:
                        await self._connection.execute("ROLLBACK")
                    raise


def pending_migrations(current_version: int) -> list[tuple[int, str]]:
    """Return (number, SQL) for every SQLite migration numbered above `current_version`, in order."""
    return pending_in(MIGRATIONS_DIR, current_version)
