"""Open the SQLite backend: one connection, migrated, with every store over it."""

from __future__ import annotations

from pathlib import Path

from storage.backend import Storage
from storage.sqlite.answered import SqliteAnsweredLedger
from storage.sqlite.database import Database
from storage.sqlite.history import SqliteHistoryStore
from storage.sqlite.images import SqliteImageStore
from storage.sqlite.settings import SqliteSettingsStore
from storage.sqlite.threads import SqliteThreadStore
from storage.sqlite.usage import SqliteUsageStore


async def open_sqlite(path: Path) -> Storage:
    """Open (creating it if needed) and migrate the SQLite file at `path`; return its stores."""
    database = await Database.open(path)
    return Storage(
        connection=database,
        history=SqliteHistoryStore(database),
        images=SqliteImageStore(database),
        threads=SqliteThreadStore(database),
        usage=SqliteUsageStore(database),
        settings=SqliteSettingsStore(database),
        answered=SqliteAnsweredLedger(database),
    )
