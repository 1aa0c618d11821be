"""Numbered migrations (`NNNN_name.sql`), one folder per backend, applied in order and never twice."""

from __future__ import annotations

import re
from pathlib import Path

from storage.errors import SchemaTooNew

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def numbered_scripts(folder: Path) -> list[tuple[int, str]]:
    """Return (number, SQL) for every migration file in `folder`, in order, checking the names."""
    found: list[tuple[int, str]] = []
    for file in sorted(folder.glob("*.sql")):
        match = _MIGRATION_NAME.match(file.name)
        if match is None:
            raise RuntimeError(f"Migration file {file.name} must be named NNNN_name.sql")
        found.append((int(match.group(1)), file.read_text(encoding="utf-8")))
    return found


def pending_in(folder: Path, current_version: int) -> list[tuple[int, str]]:
    """Return the migrations of `folder` above `current_version`; refuse gaps and a newer schema."""
    scripts = numbered_scripts(folder)
    latest = scripts[-1][0] if scripts else 0
    if current_version > latest:
        raise SchemaTooNew(current_version, latest)
    found = [(number, script) for number, script in scripts if number > current_version]
    numbers = [number for number, _ in found]
    if numbers != list(range(current_version + 1, current_version + 1 + len(numbers))):
        raise RuntimeError(f"Migrations must be numbered without gaps after {current_version}: {numbers}")
    return found
