"""
The SQL of L{hubsd.storage.sqlite.SQLiteRoomStore} for what members put in
rooms: pinned objects and uploaded files' metadata. Built on the room
queries of L{hubsd.storage.sqlite_rooms} (a pin needs its room and pinner).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred, fail

from hubsd.storage.errors import NotFound, StorageError
from hubsd.storage.keys import keyed
from hubsd.storage.records import FileMeta, PinnedObject, check_file, check_moment, check_pin
from hubsd.storage.sqlite_rooms import SQLiteRoomQueries
from hubsd.storage.sqlite_rows import (
    FILE_COLUMNS,
    PIN_COLUMNS,
    file_record,
    integrity,
    pin_record,
    to_db,
    write,
)


class SQLiteContentQueries(SQLiteRoomQueries):
    """Every IRoomStore operation in SQLite's dialect: pins and files added to rooms'."""

    # Pinned objects

    @keyed("hub_id", "created_by")
    def pin_object(
        self,
        hub_id: int,
        object_id: str,
        gltf: Mapping[str, Any],
        created_by: int | None = None,
        file_id: str | None = None,
    ) -> Deferred[PinnedObject]:
        try:
            document = check_pin(object_id, gltf, file_id)
        except StorageError:
            return fail()
        now = to_db(self._clock())

        def pin(conn: sqlite3.Connection) -> PinnedObject:
            self._getRoom(conn, "hub_id", hub_id)
            if created_by is not None:
                self._getAccount(conn, "account_id", created_by)
            conn.execute(
                f"INSERT INTO pinned_objects ({PIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (hub_id, object_id) DO UPDATE SET gltf = excluded.gltf, "
                "updated_at = excluded.updated_at, file_id = excluded.file_id",
                (hub_id, object_id, document, created_by, now, file_id),
            )
            # No RETURNING: it needs SQLite 3.35, newer than some LTS systems ship.
            row = conn.execute(
                f"SELECT {PIN_COLUMNS} FROM pinned_objects WHERE hub_id = ? AND object_id = ?",
                (hub_id, object_id),
            ).fetchone()
            return pin_record(row)

        return self._run(write, pin)

    @keyed("hub_id", "object_id")
    def unpin_object(self, hub_id: int, object_id: str) -> Deferred[None]:
        def unpin(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "DELETE FROM pinned_objects WHERE hub_id = ? AND object_id = ?",
                (hub_id, object_id),
            )
            if cursor.rowcount == 0:
                raise NotFound("pinned object", (hub_id, object_id))

        return self._run(unpin)

    @keyed("hub_id")
    def list_pinned(self, hub_id: int) -> Deferred[list[PinnedObject]]:
        def select(conn: sqlite3.Connection) -> list[PinnedObject]:
            rows = conn.execute(
                f"SELECT {PIN_COLUMNS} FROM pinned_objects WHERE hub_id = ? ORDER BY object_id",
                (hub_id,),
            )
            return [pin_record(row) for row in rows]

        return self._run(select)

    @keyed("hub_id")
    def count_pinned(self, hub_id: int) -> Deferred[int]:
        def count(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT count(*) FROM pinned_objects WHERE hub_id = ?", (hub_id,)
            ).fetchone()
            return int(row[0])

        return self._run(count)

    # Files

    @keyed("owner_account_id")
    def add_file(
        self,
        file_id: str,
        content_type: str,
        size: int,
        owner_account_id: int | None = None,
        expires_at: datetime | None = None,
        promotion_token_hash: str | None = None,
    ) -> Deferred[FileMeta]:
        try:
            check_file(file_id, content_type, size, expires_at, promotion_token_hash)
        except StorageError:
            return fail()
        meta = FileMeta(
            file_id, owner_account_id, content_type, size, False, expires_at, promotion_token_hash
        )

        def insert(conn: sqlite3.Connection) -> FileMeta:
            try:
                conn.execute(
                    f"INSERT INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?)",
                    (
                        file_id,
                        owner_account_id,
                        content_type,
                        size,
                        None if expires_at is None else to_db(expires_at),
                        promotion_token_hash,
                    ),
                )
            except sqlite3.IntegrityError as e:
                raise integrity(e, "account", owner_account_id) from e
            return meta

        return self._run(insert)

    def _getFile(self, conn: sqlite3.Connection, file_id: str) -> FileMeta:
        row = conn.execute(
            f"SELECT {FILE_COLUMNS} FROM files WHERE file_id = ?", (file_id,)
        ).fetchone()
        if row is None:
            raise NotFound("file", file_id)
        return file_record(row)

    @keyed("account_id")
    def account_file_usage(self, account_id: int) -> Deferred[int]:
        def total(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_account_id = ?",
                (account_id,),
            ).fetchone()
            return int(row[0])

        return self._run(total)

    @keyed("file_id")
    def get_file(self, file_id: str) -> Deferred[FileMeta]:
        return self._run(self._getFile, file_id)

    @keyed("file_id")
    def promote_file(self, file_id: str) -> Deferred[FileMeta]:
        def promote(conn: sqlite3.Connection) -> FileMeta:
            conn.execute(
                "UPDATE files SET promoted = 1, expires_at = NULL WHERE file_id = ?", (file_id,)
            )
            return self._getFile(conn, file_id)

        return self._run(write, promote)

    @keyed("file_id")
    def delete_file(self, file_id: str) -> Deferred[None]:
        def delete(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM files WHERE file_id = ?", (file_id,)).rowcount == 0:
                raise NotFound("file", file_id)

        return self._run(delete)

    def list_expired_files(self, now: datetime) -> Deferred[list[FileMeta]]:
        try:
            check_moment("now", now)
        except StorageError:
            return fail()

        def select(conn: sqlite3.Connection) -> list[FileMeta]:
            rows = conn.execute(
                f"SELECT {FILE_COLUMNS} FROM files WHERE promoted = 0 "
                "AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, file_id",
                (to_db(now),),
            )
            return [file_record(row) for row in rows]

        return self._run(select)
