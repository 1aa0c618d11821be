"""Storage failures a caller can act on; their messages never carry a password."""

from __future__ import annotations


class StorageError(Exception):
    """The database cannot be used; the message names DATABASE_URL and says what to fix."""


class StorageUnavailable(StorageError):
    """The database stopped answering mid-run (connection lost, server shutting down): try again later."""


class SchemaTooNew(StorageError):
    """The database was migrated by a newer version of the bot than this one."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database's schema is at version {found}, newer than this code knows ({known}): "
            "run the newer bot version, or point DATABASE_URL at another database"
        )
        self.found = found
        self.known = known
