"""Open the PostgreSQL backend: one pool, migrated, with every store over it."""

from __future__ import annotations

from storage.backend import Storage
from storage.postgres.answered import PostgresAnsweredLedger
from storage.postgres.database import PostgresDatabase
from storage.postgres.history import PostgresHistoryStore
from storage.postgres.images import PostgresImageStore
from storage.postgres.settings import PostgresSettingsStore
from storage.postgres.threads import PostgresThreadStore
from storage.postgres.url import PostgresUrl
from storage.postgres.usage import PostgresUsageStore


async def open_postgres(url: PostgresUrl) -> Storage:
    """Connect to and migrate the PostgreSQL database at `url`; return its stores."""
    database = await PostgresDatabase.open(url)
    return Storage(
        connection=database,
        history=PostgresHistoryStore(database),
        threads=PostgresThreadStore(database),
        usage=PostgresUsageStore(database),
        answered=PostgresAnsweredLedger(database),
        images=PostgresImageStore(database),
        settings=PostgresSettingsStore(database),
    )
