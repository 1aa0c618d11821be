"""`python bot.py --check`: a preflight that tells a new user, line by line, what their setup lacks.

:func:`run_checks` runs every check and returns one :class:`CheckResult` per checklist line: the
settings and the database here, the completions service in :mod:`assistant.preflight.completions`,
Discord in :mod:`assistant.preflight.discord`. The database, the service and Discord are checked at
once, so two dead hosts cost one timeout, not two. :func:`format_report` turns the results into the
checklist and :func:`run` is what ``bot.py --check`` calls.

Neither the API key nor the Discord token is ever shown: the checks describe failures by status and
code only, and every line is scrubbed of both before it is returned, as a second guard.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Sequence
from dataclasses import replace

import aiohttp

from assistant.preflight.completions import KEY, MODEL, check_completions
from assistant.preflight.discord import INTENT, LOGIN, SERVERS, check_discord
from assistant.preflight.results import CheckResult, Status, shown_url
from assistant.settings import Settings
from storage.connect import DatabaseTarget, open_storage
from storage.errors import StorageError
from storage.postgres.url import PostgresUrl

__all__ = ["CheckResult", "Status", "format_report", "run", "run_checks"]

CHECK_TIMEOUT_SECONDS = 15.0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # what shells report for Ctrl-C
SETTINGS, DATABASE = "Settings", "Database"
DATABASE_FIX = (
    "set DATABASE_URL to a file in a folder the bot may create and write, e.g. sqlite:///data/bot.db"
)
POSTGRES_FIX = (
    "check DATABASE_URL (postgresql://user:password@host:5432/database): a running server, the right "
    "password, an existing database, and a user that may create tables in it"
)


def run(settings: Settings) -> int:
    """Run every check, print the checklist and return the exit status: 0 unless a check failed."""
    print(f"Checking your setup (each check waits at most {CHECK_TIMEOUT_SECONDS:g} s)…\n", flush=True)
    try:
        results = asyncio.run(_run_with_a_session(settings))
    except KeyboardInterrupt:
        print("Check interrupted.")
        return EXIT_INTERRUPTED
    print(format_report(results))
    return EXIT_FAILED if any(result.status is Status.FAIL for result in results) else 0


async def _run_with_a_session(settings: Settings) -> list[CheckResult]:
    async with aiohttp.ClientSession() as session:
        return await run_checks(settings, session)


async def run_checks(
    settings: Settings,
    session: aiohttp.ClientSession,
    *,
    timeout_seconds: float = CHECK_TIMEOUT_SECONDS,
) -> list[CheckResult]:
    """Run every check; one that crashes becomes failed lines, so the others are still reported."""
    groups = ((DATABASE,), (KEY, MODEL), (LOGIN, INTENT, SERVERS))
    outcomes = await asyncio.gather(
        _one_line(check_database(settings.database)),
        check_completions(settings, session, timeout_seconds),
        check_discord(settings, session, timeout_seconds),
        return_exceptions=True,
    )
    results = [check_settings(settings)]
    for names, outcome in zip(groups, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            why = f"the check itself failed: {type(outcome).__name__}: {outcome}"
            outcome = [CheckResult(Status.FAIL, name, why, "please report this as a bug") for name in names]
        results.extend(outcome)
    secrets = (settings.discord_token.reveal(), settings.evolink_api_key.reveal())
    return [_scrubbed(result, secrets) for result in results]


def format_report(results: Sequence[CheckResult]) -> str:
    """Return the checklist: per check a mark, its name and what was found, and the fix below it."""
    width = max((len(result.name) for result in results), default=0)
    lines = []
    for result in results:
        lines.append(f"{result.status.value} {result.name:<{width}}  {result.summary}")
        if result.fix and result.status in (Status.FAIL, Status.WARN):
            lines.append(f"  {'':<{width}}  → {result.fix}")
    failed = sum(result.status is Status.FAIL for result in results)
    warned = sum(result.status is Status.WARN for result in results)
    if failed:
        verdict = f"{_count(failed, 'check')} failed: fix the ✗ lines, then run the check again."
    elif warned:
        verdict = f"Ready to go live, with {_count(warned, 'warning')}: the bot runs, but see the ⚠ lines."
    else:
        verdict = "Ready to go live: start the bot with `make run` (or `python bot.py`)."
    return "\n".join([*lines, "", verdict])


def check_settings(settings: Settings) -> CheckResult:
    """Summarise the settings: they are valid, or bot.py would have stopped with one line already."""
    where = f"model {settings.evolink_model} at {shown_url(settings.evolink_base_url)}"
    return CheckResult(Status.OK, SETTINGS, f"valid ({where})")


async def check_database(path: DatabaseTarget) -> CheckResult:
    """Open and migrate the database, then prove that it takes a write."""
    try:
        storage = await open_storage(path)
        try:
            version = await storage.connection.schema_version()
            await storage.connection.check_writable()
        finally:
            await storage.close()
    except StorageError as exc:  # it names DATABASE_URL and what to fix, never the password
        return CheckResult(
            Status.FAIL, DATABASE, str(exc), POSTGRES_FIX if isinstance(path, PostgresUrl) else DATABASE_FIX
        )
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        return CheckResult(
            Status.FAIL, DATABASE, f"{path} cannot be used: {_database_problem(exc)}", DATABASE_FIX
        )
    return CheckResult(Status.OK, DATABASE, f"{path} opened, migrated (schema version {version}), writable")


def _database_problem(exc: Exception) -> str:
    if isinstance(exc, FileExistsError | NotADirectoryError):  # what mkdir says when a file is in the way
        return f"a file is where its folder should be ({exc.filename})"
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__} ({exc.filename})"
    return str(exc)  # sqlite's own words ("unable to open database file") or a broken migration


async def _one_line(check: Awaitable[CheckResult]) -> list[CheckResult]:
    return [await check]


def _scrubbed(result: CheckResult, secrets: Sequence[str]) -> CheckResult:
    summary, fix = result.summary, result.fix
    for secret in secrets:
        summary, fix = summary.replace(secret, "***"), fix.replace(secret, "***")
    return replace(result, summary=summary, fix=fix)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
