"""
The SQL of L{hubsd.storage.sqlite.SQLiteRoomStore}: one method per
L{hubsd.interfaces.IRoomStore} operation, each a function of a connection
that the store runs on its database thread.

Kept apart from the connection lifecycle (opening, migrating, mapping driver
errors) so each file holds one idea, as the PostgreSQL store does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred, fail

from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.records import (
    Account,
    FileMeta,
    PinnedObject,
    Room,
    RoomRole,
    check_file,
    check_role,
    check_room_fields,
    hash_email,
    new_id,
    new_sid,
    room_defaults,
)
from hubsd.storage.sqlite_rows import (
    FILE_COLUMNS,
    ROOM_COLUMNS,
    file_record,
    from_db,
    integrity,
    pin_record,
    room_record,
    room_row,
    to_db,
    write,
)


class SQLiteQueries:
    """The IRoomStore operations in SQLite's SQL dialect."""

    _clock: Callable[[], datetime]
    #: Runs C{work(conn, *args)} on the database thread; the store provides it.
    _run: Callable[..., Deferred[Any]]

    # Rooms

    def create_room(
        self,
        name: str,
        scene_id: str | None = None,
        entry_mode: str = "allow",
        member_permissions: int | None = None,
        room_size: int | None = None,
        slug: str | None = None,
    ) -> Deferred[Room]:
        try:
            fields = room_defaults(
                name,
                slug,
                scene_id,
                entry_mode,
                member_permissions,
                room_size,
            )
        except StorageError:
            return fail()
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> Room:
            # A clash of random ids or sids is rare; draw again a few times.
            for attempt in range(5):
                room = Room(
                    hub_id=new_id(), hub_sid=new_sid(), created_at=now, updated_at=now, **fields
                )
                try:
                    conn.execute(
                        f"INSERT INTO rooms ({ROOM_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        room_row(room),
                    )
                    return room
                except sqlite3.IntegrityError:
                    if attempt == 4:
                        raise
            raise AssertionError("unreachable")

        return self._run(insert)

    def _getRoom(self, conn: sqlite3.Connection, column: str, key: object) -> Room:
        row = conn.execute(
            f"SELECT {ROOM_COLUMNS} FROM rooms WHERE {column} = ?", (key,)
        ).fetchone()
        if row is None:
            raise NotFound("room", key)
        return room_record(row)

    def get_room(self, hub_id: int) -> Deferred[Room]:
        return self._run(self._getRoom, "hub_id", hub_id)

    def get_room_by_sid(self, hub_sid: str) -> Deferred[Room]:
        return self._run(self._getRoom, "hub_sid", hub_sid)

    def update_room(self, hub_id: int, **fields: Any) -> Deferred[Room]:
        try:
            check_room_fields(fields)
        except StorageError:
            return fail()
        changes = dict(fields, updated_at=to_db(self._clock()))
        # Column names come from UPDATABLE_ROOM_FIELDS (checked above), never from values.
        assignments = ", ".join(f"{column} = ?" for column in changes)

        def update(conn: sqlite3.Connection) -> Room:
            conn.execute(
                f"UPDATE rooms SET {assignments} WHERE hub_id = ?", (*changes.values(), hub_id)
            )
            return self._getRoom(conn, "hub_id", hub_id)

        return self._run(write, update)

    def delete_room(self, hub_id: int) -> Deferred[None]:
        def delete(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM rooms WHERE hub_id = ?", (hub_id,)).rowcount == 0:
                raise NotFound("room", hub_id)

        return self._run(delete)

    def list_rooms(self) -> Deferred[list[Room]]:
        def select(conn: sqlite3.Connection) -> list[Room]:
            rows = conn.execute(f"SELECT {ROOM_COLUMNS} FROM rooms ORDER BY hub_id")
            return [room_record(row) for row in rows]

        return self._run(select)

    # Accounts

    def create_account(self, email: str) -> Deferred[Account]:
        account = Account(new_id(), hash_email(email), self._clock())

        def insert(conn: sqlite3.Connection) -> Account:
            try:
                conn.execute(
                    "INSERT INTO accounts (account_id, email_hash, created_at) VALUES (?, ?, ?)",
                    (account.account_id, account.email_hash, to_db(account.created_at)),
                )
            except sqlite3.IntegrityError as e:
                raise Conflict("an account with this e-mail address exists") from e
            return account

        return self._run(insert)

    def _getAccount(self, conn: sqlite3.Connection, column: str, key: object) -> Account:
        row = conn.execute(
            f"SELECT account_id, email_hash, created_at FROM accounts WHERE {column} = ?", (key,)
        ).fetchone()
        if row is None:
            raise NotFound("account", key)
        return Account(row["account_id"], row["email_hash"], from_db(row["created_at"]))

    def get_account(self, account_id: int) -> Deferred[Account]:
        return self._run(self._getAccount, "account_id", account_id)

    def get_account_by_email(self, email: str) -> Deferred[Account]:
        return self._run(self._getAccount, "email_hash", hash_email(email))

    # Roles

    def set_role(self, hub_id: int, account_id: int, role: str) -> Deferred[RoomRole]:
        try:
            check_role(role)
        except StorageError:
            return fail()

        def grant(conn: sqlite3.Connection) -> RoomRole:
            self._getRoom(conn, "hub_id", hub_id)
            self._getAccount(conn, "account_id", account_id)
            conn.execute(
                "INSERT OR IGNORE INTO room_roles (hub_id, account_id, role) VALUES (?, ?, ?)",
                (hub_id, account_id, role),
            )
            return RoomRole(hub_id, account_id, role)

        return self._run(write, grant)

    def remove_role(self, hub_id: int, account_id: int, role: str) -> Deferred[None]:
        def revoke(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "DELETE FROM room_roles WHERE hub_id = ? AND account_id = ? AND role = ?",
                (hub_id, account_id, role),
            )
            if cursor.rowcount == 0:
                raise NotFound("role", (hub_id, account_id, role))

        return self._run(revoke)

    def _roles(self, conn: sqlite3.Connection, column: str, key: int) -> list[RoomRole]:
        rows = conn.execute(
            f"SELECT hub_id, account_id, role FROM room_roles WHERE {column} = ? "
            "ORDER BY hub_id, account_id, role",
            (key,),
        )
        return [RoomRole(row["hub_id"], row["account_id"], row["role"]) for row in rows]

    def roles_for_room(self, hub_id: int) -> Deferred[list[RoomRole]]:
        return self._run(self._roles, "hub_id", hub_id)

    def roles_for_account(self, account_id: int) -> Deferred[list[RoomRole]]:
        return self._run(self._roles, "account_id", account_id)

    # Pinned objects

    def pin_object(
        self,
        hub_id: int,
        object_id: str,
        gltf: Mapping[str, Any],
        created_by: int | None = None,
    ) -> Deferred[PinnedObject]:
        document = json.dumps(gltf, separators=(",", ":"))
        now = to_db(self._clock())

        def pin(conn: sqlite3.Connection) -> PinnedObject:
            self._getRoom(conn, "hub_id", hub_id)
            if created_by is not None:
                self._getAccount(conn, "account_id", created_by)
            conn.execute(
                "INSERT INTO pinned_objects (hub_id, object_id, gltf, created_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (hub_id, object_id) "
                "DO UPDATE SET gltf = excluded.gltf, updated_at = excluded.updated_at",
                (hub_id, object_id, document, created_by, now),
            )
            # No RETURNING: it needs SQLite 3.35, newer than some LTS systems ship.
            row = conn.execute(
                "SELECT * FROM pinned_objects WHERE hub_id = ? AND object_id = ?",
                (hub_id, object_id),
            ).fetchone()
            return pin_record(row)

        return self._run(write, pin)

    def unpin_object(self, hub_id: int, object_id: str) -> Deferred[None]:
        def unpin(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "DELETE FROM pinned_objects WHERE hub_id = ? AND object_id = ?",
                (hub_id, object_id),
            )
            if cursor.rowcount == 0:
                raise NotFound("pinned object", (hub_id, object_id))

        return self._run(unpin)

    def list_pinned(self, hub_id: int) -> Deferred[list[PinnedObject]]:
        def select(conn: sqlite3.Connection) -> list[PinnedObject]:
            rows = conn.execute(
                "SELECT * FROM pinned_objects WHERE hub_id = ? ORDER BY object_id", (hub_id,)
            )
            return [pin_record(row) for row in rows]

        return self._run(select)

    # Files

    def add_file(
        self,
        file_id: str,
        content_type: str,
        size: int,
        owner_account_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> Deferred[FileMeta]:
        try:
            check_file(content_type, size)
        except StorageError:
            return fail()
        meta = FileMeta(file_id, owner_account_id, content_type, size, False, expires_at)

        def insert(conn: sqlite3.Connection) -> FileMeta:
            try:
                conn.execute(
                    f"INSERT INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, 0, ?)",
                    (
                        file_id,
                        owner_account_id,
                        content_type,
                        size,
                        None if expires_at is None else to_db(expires_at),
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

    def get_file(self, file_id: str) -> Deferred[FileMeta]:
        return self._run(self._getFile, file_id)

    def promote_file(self, file_id: str) -> Deferred[FileMeta]:
        def promote(conn: sqlite3.Connection) -> FileMeta:
            conn.execute(
                "UPDATE files SET promoted = 1, expires_at = NULL WHERE file_id = ?", (file_id,)
            )
            return self._getFile(conn, file_id)

        return self._run(write, promote)

    def delete_file(self, file_id: str) -> Deferred[None]:
        def delete(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM files WHERE file_id = ?", (file_id,)).rowcount == 0:
                raise NotFound("file", file_id)

        return self._run(delete)

    def list_expired_files(self, now: datetime) -> Deferred[list[FileMeta]]:
        def select(conn: sqlite3.Connection) -> list[FileMeta]:
            rows = conn.execute(
                f"SELECT {FILE_COLUMNS} FROM files WHERE promoted = 0 "
                "AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, file_id",
                (to_db(now),),
            )
            return [file_record(row) for row in rows]

        return self._run(select)
