"""Open the backend `DATABASE_URL` names: the one place that knows which backends exist."""

from __future__ import annotations

from pathlib import Path

from storage.backend import Storage
from storage.errors import SchemaTooNew, StorageError
from storage.postgres.backend import open_postgres
from storage.postgres.url import PostgresUrl
from storage.sqlite.backend import open_sqlite

DatabaseTarget = Path | PostgresUrl


async def open_storage(target: DatabaseTarget) -> Storage:
    """Open and migrate the database `target` names (a SQLite file or a PostgreSQL URL); return its stores.

    Raise StorageError, naming DATABASE_URL and what to fix, when it cannot be used.
    """
    try:
        if isinstance(target, PostgresUrl):
            return await open_postgres(target)
        return await open_sqlite(target)
    except SchemaTooNew as exc:
        raise StorageError(f"DATABASE_URL ({describe(target)}): {exc}") from None


def describe(target: DatabaseTarget) -> str:
    """Return how logs and messages show the database: a file's path, a URL with its password masked."""
    return str(target)
