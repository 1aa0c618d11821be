"""Start-up checks: what must be right before the bot goes online, each failure one line with its fix.

The `.env` file is read here (python-dotenv does the parsing, we report what it could not parse),
and the database is opened and migrated before the bot logs in to Discord, so a wrong
`DATABASE_URL` is found first. :class:`StartupError` carries the line to print and the exit status.
"""

from __future__ import annotations

import io
import logging
import sqlite3
from pathlib import Path

from dotenv import load_dotenv
from dotenv.parser import parse_stream

from assistant.settings import Settings
from storage.backend import Storage
from storage.connect import open_storage
from storage.errors import StorageError

log = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2
UTF8_BOM = "\ufeff"


class StartupError(Exception):
    """Start-up cannot go on; ``str(exc)`` is the one line to print (cause and fix)."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_env_file(path: Path) -> str | None:
    """Load `path` into the environment (values already set win); return a note to print, if any.

    Raises StartupError naming the first line python-dotenv cannot parse (never its content, which
    may hold a secret), instead of the "X is not set" that would follow.
    """
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StartupError(
            f".env cannot be read ({type(exc).__name__}): save it as plain UTF-8 text in {path.parent}.",
            exit_code=EXIT_BAD_SETTINGS,
        ) from None
    note = None
    if text.startswith(UTF8_BOM):
        # Some editors save "UTF-8 with BOM"; python-dotenv would read the first name with the mark in it.
        text = text.removeprefix(UTF8_BOM)
        note = ".env starts with a byte-order mark; it was read without it (save it as plain UTF-8)."
    bad = [binding.original.line for binding in parse_stream(io.StringIO(text)) if binding.error]
    if bad:
        lines = ", ".join(str(line) for line in bad[:5])
        raise StartupError(
            f".env cannot be parsed at line {lines}: each setting is NAME=value on one line "
            '(quote a value that has spaces or #, e.g. SYSTEM_PROMPT="You are …").',
            exit_code=EXIT_BAD_SETTINGS,
        )
    load_dotenv(stream=io.StringIO(text), override=False)
    return note


async def open_database(settings: Settings) -> Storage:
    """Open and migrate the database, or raise StartupError naming DATABASE_URL and the fix."""
    path = settings.database
    try:
        return await open_storage(path)
    except StorageError as exc:  # it names DATABASE_URL and what to fix, never the password
        raise StartupError(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:
        reason = str(exc) or type(exc).__name__
        raise StartupError(
            f"DATABASE_URL: cannot open the database at {path} ({reason}). Point DATABASE_URL at a file "
            "in a folder the bot may create and write, e.g. sqlite:///data/bot.db.",
            exit_code=EXIT_BAD_SETTINGS,
        ) from None
