"""The storage a bot opens: every store, over one backend's connection.

Callers hold a :class:`Storage` and use its stores through their interfaces; which database is
behind them is decided once, by :func:`storage.connect.open_storage`, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storage.answered import AnsweredLedger
from storage.history import HistoryStore
from storage.images import ImageStore
from storage.settings import SettingsStore
from storage.threads import ThreadStore
from storage.usage import UsageStore


class Connection(Protocol):
    """What every backend's connection (or pool) offers besides its stores."""

    async def schema_version(self) -> int:
        """Return the number of the last migration applied."""
        ...

    async def check_writable(self) -> None:
        """Raise unless the database takes a write (read-only files, read-only roles)."""
        ...

    async def close(self) -> None:
        """Close the connection once pending work has finished."""
        ...


@dataclass(frozen=True)
class Storage:
    """Every store over one open, migrated database."""

    connection: Connection
    history: HistoryStore
    images: ImageStore
    threads: ThreadStore
    usage: UsageStore
    settings: SettingsStore
    answered: AnsweredLedger

    async def close(self) -> None:
        """Close the database once pending work has finished."""
        await self.connection.close()
