"""
The exceptions every L{hubsd.interfaces.IRoomStore} raises.

Callers catch these, never a driver's exception: each backend maps sqlite3 and
psycopg2 errors onto this small vocabulary, so the room core and the HTTP edge
handle one set of errors whatever the database is.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by a room store."""


class NotFound(StorageError):
    """
    The record asked for does not exist.

    @ivar kind: What was looked up: "room", "account", "role", "pinned object"
        or "file".
    @ivar key: The key that was not found.
    """

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class Conflict(StorageError):
    """A write would break a uniqueness rule (duplicate e-mail, sid, file id)."""


class InvalidValue(StorageError, ValueError):
    """A field has a value the store refuses (unknown entry mode, role, field name)."""


class StorageUnavailable(StorageError):
    """
    The database cannot be reached or opened. The message names the host and
    database (or the file path) and never contains a password.
    """


class SchemaTooNew(StorageError):
    """
    The database was migrated by a newer hubsd than this one.

    @ivar database_version: The highest schema version recorded in the database.
    @ivar code_version: The highest schema version this code knows.
    """

    def __init__(self, database_version: int, code_version: int) -> None:
        super().__init__(
            f"database schema version {database_version} is newer than this hubsd "
            f"supports (version {code_version}); upgrade hubsd or use another database"
        )
        self.database_version = database_version
        self.code_version = code_version


class MigrationFailed(StorageError):
    """
    A schema migration could not be applied. Its transaction was rolled back,
    so the database is left at the previous version.
    """
