"""The store test suite runs against both backends: each `storage` test on SQLite, then on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.backend import Storage
from storage.connect import DatabaseTarget, open_storage
from tests.postgres import TestPostgres

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=BACKENDS)
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseTarget:
    """A fresh database of each backend in turn: a SQLite file, or a clean PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "bot.db"
    postgres: TestPostgres = request.getfixturevalue("postgres")
    return await postgres.clean_database()


@pytest.fixture
async def storage(target: DatabaseTarget) -> AsyncIterator[Storage]:
    """Every store over the fresh database, migrated."""
    opened = await open_storage(target)
    yield opened
    await opened.close()
