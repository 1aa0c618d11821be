"""The asyncpg pool: numbered migrations under an advisory lock, and connection failures named.

Every store method takes one connection from the pool for one statement or one transaction. A
connection lost mid-run surfaces as :class:`~storage.errors.StorageUnavailable` (the member is told to
try again; the pool reconnects by itself once the server is back); a server that cannot be
reached, or refuses the credentials, at start-up is a :class:`~storage.errors.StorageError` naming
`DATABASE_URL` and what to fix, never its password.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from storage.errors import StorageError, StorageUnavailable
from storage.migrations import pending_in
from storage.postgres.url import PostgresUrl

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
POOL_MIN_CONNECTIONS = 1
POOL_MAX_CONNECTIONS = 10
CONNECT_TIMEOUT_SECONDS = 10.0
STATEMENT_TIMEOUT_SECONDS = 30.0
# Every process migrates under this session lock: the first applies, the others wait, then find nothing.
MIGRATION_LOCK_KEY = 0x6D69_6772  # "migr"
_CREATE_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations"
    " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
_RECORD_VERSION = "INSERT INTO schema_migrations (version) VALUES ($1)"
# What a lost server looks like to asyncpg: a dropped socket, a closed connection, a shutdown.
LOST = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,
    asyncpg.InternalClientError,  # a pooled connection whose server vanished mid-protocol
)


class PostgresDatabase:
    """Owns the pool that every PostgreSQL store shares."""

    def __init__(self, pool: asyncpg.Pool, url: PostgresUrl) -> None:
        self._pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: PostgresUrl) -> PostgresDatabase:
        """Connect to `url` and migrate it; raise StorageError saying what to fix when it can't."""
        try:
            pool = await asyncpg.create_pool(
                url.dsn,
                min_size=POOL_MIN_CONNECTIONS,
                max_size=POOL_MAX_CONNECTIONS,
                timeout=CONNECT_TIMEOUT_SECONDS,
                command_timeout=STATEMENT_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            raise StorageError(connect_problem(url, exc)) from None
        database = cls(pool, url)
        try:
            await database.migrate()
        except asyncpg.PostgresError as exc:  # e.g. a role that may not create tables
            await pool.close()
            raise StorageError(f"DATABASE_URL ({url}): migrating the schema failed: {exc}") from None
        except BaseException:
            await pool.close()
            raise
        return database

    async def close(self) -> None:
        """Close every connection once the statements running on them have finished."""
        await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """Lend one pooled connection, for one statement (atomic on its own)."""
        with lost_as_unavailable():
            async with self._pool.acquire() as connection:
                yield connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """Lend one pooled connection inside a transaction: committed on success, rolled back on error."""
        with lost_as_unavailable():
            async with self._pool.acquire() as connection, connection.transaction():
                yield connection

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Run one statement and return its rows."""
        async with self.connection() as connection:
            return list(await connection.fetch(sql, *args))

    async def schema_version(self) -> int:
        """Return the number of the last migration applied."""
        async with self.connection() as connection:
            return int(await connection.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))

    async def check_writable(self) -> None:
        """Take a write lock once: a read-only role or a standby fails here, not at the first answer."""
        async with self.transaction() as connection:
            await connection.execute("LOCK TABLE schema_migrations IN ROW EXCLUSIVE MODE")

    async def migrate(self) -> None:
        """Apply the migrations not yet applied, each in its own transaction, one process at a time."""
        async with self.connection() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                await connection.execute(_CREATE_VERSIONS)
                current = await connection.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                for number, script in pending_in(MIGRATIONS_DIR, int(current)):
                    log.info("Applying database migration %04d", number)
                    async with connection.transaction():
                        await connection.execute(script)
                        await connection.execute(_RECORD_VERSION, number)
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


@contextmanager
def lost_as_unavailable() -> Iterator[None]:
    """Turn a lost connection into StorageUnavailable; other database errors stay what they are."""
    try:
        yield
    except LOST as exc:
        raise StorageUnavailable(f"PostgreSQL connection lost: {type(exc).__name__}: {exc}") from exc
    except TimeoutError as exc:
        raise StorageUnavailable("PostgreSQL did not answer in time") from exc


def connect_problem(url: PostgresUrl, exc: BaseException) -> str:
    """Return one line naming DATABASE_URL, what went wrong connecting to it and what to fix."""
    where = f"DATABASE_URL ({url})"
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return f"{where}: PostgreSQL refused the credentials: check the user name and password in the URL"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{where}: that database does not exist: create it (createdb) or fix its name in the URL"
    if isinstance(exc, TimeoutError):
        return f"{where}: no answer within {CONNECT_TIMEOUT_SECONDS:g} s: check the host and port"
    if isinstance(exc, OSError | asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return f"{where}: cannot reach PostgreSQL ({reason}): check that it runs and the URL's host and port"
    return f"{where}: cannot connect ({type(exc).__name__}): check the URL"
