"""PostgreSQL's own duties: migrations once across processes, failures named without the password."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from storage.connect import open_storage
from storage.errors import StorageError, StorageUnavailable
from storage.history import Exchange, Turn
from storage.migrations import numbered_scripts
from storage.postgres.database import MIGRATIONS_DIR
from storage.postgres.url import PostgresUrl
from tests.postgres import TestPostgres

PASSWORD = "s3cret-never-shown"
EXCHANGE = Exchange(1, 5, Turn("user", "q", 3, "ann"), Turn("assistant", "a", 3))


async def test_processes_starting_together_apply_each_migration_once(postgres: TestPostgres) -> None:
    url = await postgres.new_database()
    opened = await asyncio.gather(*(open_storage(url) for _ in range(3)))
    try:
        versions = [await storage.connection.schema_version() for storage in opened]
        assert versions == [len(numbered_scripts(MIGRATIONS_DIR))] * 3
    finally:
        for storage in opened:
            await storage.close()
    connection = await asyncpg.connect(url.dsn)
    try:
        applied = await connection.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await connection.close()
    assert [row[0] for row in applied] == list(range(1, len(numbered_scripts(MIGRATIONS_DIR)) + 1))


async def test_a_schema_newer_than_the_code_is_refused_by_name(postgres: TestPostgres) -> None:
    url = await postgres.new_database()
    await (await open_storage(url)).close()
    connection = await asyncpg.connect(url.dsn)
    try:
        await connection.execute("INSERT INTO schema_migrations (version) VALUES (999)")
    finally:
        await connection.close()
    with pytest.raises(StorageError) as refused:
        await open_storage(url)
    assert str(refused.value).startswith("DATABASE_URL (")
    assert "schema is at version 999, newer than this code knows" in str(refused.value)


async def test_an_unreachable_server_is_named_without_the_password() -> None:
    url = PostgresUrl.parse(f"postgresql://bot:{PASSWORD}@127.0.0.1:1/bot")  # nothing listens on port 1
    with pytest.raises(StorageError) as refused:
        await open_storage(url)
    message = str(refused.value)
    assert message.startswith("DATABASE_URL (postgresql://bot:***@127.0.0.1:1/bot): cannot reach PostgreSQL")
    assert PASSWORD not in message and "check that it runs" in message


async def test_refused_credentials_are_named_without_the_password(postgres: TestPostgres) -> None:
    url = PostgresUrl.parse(f"postgresql://nobody:{PASSWORD}@/postgres?host={postgres.socket_dir}")
    with pytest.raises(StorageError) as refused:
        await open_storage(url)
    assert "refused the credentials: check the user name and password" in str(refused.value)
    assert PASSWORD not in str(refused.value)


async def test_a_missing_database_says_to_create_it(postgres: TestPostgres) -> None:
    with pytest.raises(StorageError) as refused:
        await open_storage(postgres.url("no_such_database"))
    assert "that database does not exist: create it" in str(refused.value)


async def test_a_database_lost_mid_run_fails_briefly_then_recovers(postgres: TestPostgres) -> None:
    storage = await open_storage(await postgres.clean_database())
    try:
        await storage.history.append_exchange(EXCHANGE)
        postgres.pause()
        try:
            with pytest.raises(StorageUnavailable):
                await storage.history.append_exchange(EXCHANGE)
        finally:
            postgres.resume()
        assert await storage.history.count(5) == 2  # the lost write left nothing half-written
        await storage.history.append_exchange(EXCHANGE)
        assert await storage.history.count(5) == 4
    finally:
        await storage.close()
