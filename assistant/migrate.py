"""`python bot.py --migrate-to URL`: copy the database DATABASE_URL names into another, empty one.

Stop the bot first: rows written during the copy would be missed (the count check then fails).
Every table is copied with a progress line, verified by counts, and a target that already holds
data is refused. Afterwards, point DATABASE_URL at the target and start the bot.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from assistant.settings import Settings, parse_database_url
from assistant.startup import EXIT_BAD_SETTINGS, EXIT_FAILED, StartupError, open_database
from storage.backend import Storage
from storage.copying import CopiedTable, CopyError, copy_database, tables_of
from storage.postgres.url import PostgresUrl


class ProgressLine:
    """Shows each table's progress: one line rewritten in place on a terminal, a line per table elsewhere."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._live = out.isatty()

    def __call__(self, table: str, done: int, total: int) -> None:
        """Show that `done` of `total` rows of `table` are copied."""
        line = f"  {table}: {done:,} of {total:,} rows"
        if self._live:
            self._out.write("\r" + line + ("\n" if done == total else ""))
            self._out.flush()
        elif done == total:
            print(line, file=self._out)


def run(settings: Settings, target_url: str, out: TextIO = sys.stdout) -> int:
    """Copy the configured database into the one `target_url` names; return the exit status."""
    try:
        target = parse_database_url(target_url)
    except ValueError as exc:
        print(f"--migrate-to: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        copied = asyncio.run(migrate(settings, with_database(settings, target), out))
    except (StartupError, CopyError) as exc:
        print(f"--migrate-to: {exc}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, StartupError) else EXIT_FAILED
    rows = sum(table.rows for table in copied)
    print(f"Copied {rows:,} rows in {len(copied)} tables; the counts match.", file=out)
    print("Now set DATABASE_URL to that URL in .env (or the environment) and start the bot.", file=out)
    return 0


def with_database(settings: Settings, target: Path | PostgresUrl) -> Settings:
    """Return the settings with `target` as the database."""
    if isinstance(target, PostgresUrl):
        return replace(settings, postgres_url=target)
    return replace(settings, database_path=target, postgres_url=None)


async def migrate(settings: Settings, target: Settings, out: TextIO) -> list[CopiedTable]:
    """Open both databases (migrating them), copy, and close them."""
    source = await open_database(settings)
    try:
        destination: Storage = await open_database(target)
        try:
            print(f"Copying {settings.database} to {target.database}:", file=out)
            return await copy_database(tables_of(source), tables_of(destination), ProgressLine(out))
        finally:
            await destination.close()
    finally:
        await source.close()
