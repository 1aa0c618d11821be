"""Whole tables, for copying a database to another backend: what each backend lends the copier.

Table and column names come from the database's own schema, never from input, and are still
checked against :data:`IDENTIFIER` before they are quoted into a statement (identifiers cannot be
bound as parameters).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
Row = tuple[Any, ...]


class Tables(Protocol):
    """One database's data tables, read and written whole."""

    async def names(self) -> list[str]:
        """Return the data tables (bookkeeping left out), each after the tables it refers to."""
        ...

    async def columns(self, table: str) -> list[str]:
        """Return the table's columns, in order."""
        ...

    async def count(self, table: str) -> int:
        """Return how many rows the table holds."""
        ...

    def rows(self, table: str, columns: Sequence[str], batch: int) -> AsyncIterator[list[Row]]:
        """Yield the table's rows (these columns, in this order) in batches, in a stable order."""
        ...

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Add rows to the table in one transaction."""
        ...

    async def finish(self, table: str) -> None:
        """Bring whatever numbers the table's new rows (id sequences) past the rows copied."""
        ...


def quoted(name: str) -> str:
    """Return `name` quoted as an SQL identifier, once it is checked to be a plain one."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"unexpected table or column name {name!r}")
    return f'"{name}"'


def parents_first(depends_on: Mapping[str, set[str]]) -> list[str]:
    """Return the tables ordered so that every table comes after those it refers to (then by name)."""
    ordered: list[str] = []
    placed: set[str] = set()
    remaining = sorted(depends_on)
    while remaining:
        ready = [t for t in remaining if depends_on[t] - {t} <= placed]
        if not ready:  # a cycle: keep the rest by name (the copier then relies on deferred checks)
            ready = remaining
        ordered += ready
        placed |= set(ready)
        remaining = [t for t in remaining if t not in placed]
    return ordered
