"""
How records and migrations meet SQLite: column lists, row conversions, the
write-transaction helper and the migration runner used by L{SQLiteRoomStore}.

Everything here runs on the store's database thread and is synchronous.
Times are stored as integer microseconds since the Unix epoch, which keeps
aware UTC datetimes exact across a round trip.

@see: L{hubsd.storage.sqlite.SQLiteRoomStore}
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.migrate import Migration, failed, pending_migrations
from hubsd.storage.records import FileMeta, PinnedObject, Room

ROOM_COLUMNS = (
    "hub_id, hub_sid, name, slug, scene_id, entry_mode, member_permissions, room_size, "
    "created_at, updated_at, description, scene_url, public, creator_token_hash"
)
FILE_COLUMNS = (
    "file_id, owner_account_id, content_type, size, promoted, expires_at, promotion_token_hash"
)
PIN_COLUMNS = "hub_id, object_id, gltf, created_by, updated_at, file_id"
SCHEMA_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_db(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_db(micros: int) -> datetime:
    """The aware UTC datetime of L{to_db}'s integer."""
    return _EPOCH + micros * _MICROSECOND


def room_row(room: Room) -> tuple[Any, ...]:
    """The values of C{room} in L{ROOM_COLUMNS} order."""
    return (
        room.hub_id, room.hub_sid, room.name, room.slug, room.scene_id, room.entry_mode,
        room.member_permissions, room.room_size, to_db(room.created_at), to_db(room.updated_at),
        room.description, room.scene_url, int(room.public), room.creator_token_hash,
    )  # fmt: skip


def room_record(row: sqlite3.Row) -> Room:
    """A L{Room} from a row selected with L{ROOM_COLUMNS}."""
    values = dict(row)
    values["created_at"] = from_db(row["created_at"])
    values["updated_at"] = from_db(row["updated_at"])
    values["public"] = bool(row["public"])
    return Room(**values)


def file_record(row: sqlite3.Row) -> FileMeta:
    """A L{FileMeta} from a row selected with L{FILE_COLUMNS}."""
    expires = row["expires_at"]
    return FileMeta(
        row["file_id"],
        row["owner_account_id"],
        row["content_type"],
        row["size"],
        bool(row["promoted"]),
        None if expires is None else from_db(expires),
        row["promotion_token_hash"],
    )


def pin_record(row: sqlite3.Row) -> PinnedObject:
    """A L{PinnedObject} from a row selected with L{PIN_COLUMNS}."""
    return PinnedObject(
        row["hub_id"],
        row["object_id"],
        json.loads(row["gltf"]),
        row["created_by"],
        from_db(row["updated_at"]),
        row["file_id"],
    )


def write(conn: sqlite3.Connection, work: Callable[..., Any], *args: Any) -> Any:
    """Run C{work(conn, *args)} in one write transaction; roll back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def integrity(error: sqlite3.IntegrityError, kind: str, key: object) -> StorageError:
    """A foreign key failure means C{kind} C{key} is missing; others are conflicts."""
    if "FOREIGN KEY" in str(error):
        return NotFound(kind, key)
    return Conflict(str(error))


def split_statements(script: str) -> Iterator[str]:
    """
    The statements of an SQL script, split where SQLite says a statement is
    complete (so semicolons inside strings and triggers are safe).
    """
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            code = [line for line in buffer.splitlines() if not line.strip().startswith("--")]
            if "".join(code).strip(" \t\n;"):
                yield buffer
            buffer = ""


def apply_migrations(
    conn: sqlite3.Connection, migrations: list[Migration], now: datetime
) -> list[int]:
    """
    Apply the pending migrations, each in its own transaction with the row
    recording its version. Requires the C{schema_migrations} table.

    @return: The versions applied.
    @raise SchemaTooNew: if the database is newer than C{migrations}.
    @raise MigrationFailed: if a migration fails (it is rolled back whole).
    """
    applied = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
    done = []
    for migration in pending_migrations(migrations, applied):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it since we looked.
            again = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchone()
            if again is None:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (migration.version, to_db(now)),
                )
                done.append(migration.version)
        except sqlite3.Error as e:
            conn.execute("ROLLBACK")
            raise failed(migration, e) from e
        conn.execute("COMMIT")
    return done
