"""Open the backend `DATABASE_URL` names: the one place that knows which backends exist."""

from __future__ import annotations

from pathlib import Path

from storage.backend import Storage
from storage.sqlite.backend import open_sqlite


async def open_storage(path: Path) -> Storage:
    """Open and migrate the database at `path` and return its stores."""
    return await open_sqlite(path)
