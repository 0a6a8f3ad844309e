"""
The SQL of L{hubsd.storage.sqlite.SQLiteRoomStore} for rooms, accounts and
roles: one method per L{hubsd.interfaces.IRoomStore} operation, each a
function of a connection that the store runs on its database thread.

Kept apart from the connection lifecycle (opening, migrating, mapping driver
errors) and from what members put in rooms (L{hubsd.storage.sqlite_content}),
so each file holds one idea, as the PostgreSQL store does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred, fail

from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.keys import keyed
from hubsd.storage.records import (
    Account,
    Room,
    RoomRole,
    check_limit,
    check_role,
    check_room_fields,
    hash_email,
    new_id,
    new_sid,
    room_defaults,
)
from hubsd.storage.sqlite_rows import (
    ROOM_COLUMNS,
    from_db,
    room_record,
    room_row,
    to_db,
    write,
)


class SQLiteRoomQueries:
    """The IRoomStore operations on rooms, accounts and roles in SQLite's dialect."""

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
        description: str = "",
        scene_url: str | None = None,
        public: bool = False,
        creator_token_hash: str | None = None,
    ) -> Deferred[Room]:
        try:
            fields = room_defaults(
                name,
                slug,
                scene_id,
                entry_mode,
                member_permissions,
                room_size,
                description,
                scene_url,
                public,
                creator_token_hash,
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
                    row = room_row(room)
                    conn.execute(
                        f"INSERT INTO rooms ({ROOM_COLUMNS}) VALUES ({', '.join('?' * len(row))})",
                        row,
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

    @keyed("hub_id")
    def get_room(self, hub_id: int) -> Deferred[Room]:
        return self._run(self._getRoom, "hub_id", hub_id)

    @keyed("hub_sid")
    def get_room_by_sid(self, hub_sid: str) -> Deferred[Room]:
        return self._run(self._getRoom, "hub_sid", hub_sid)

    @keyed("hub_id")
    def update_room(self, hub_id: int, **fields: Any) -> Deferred[Room]:
        try:
            check_room_fields(fields)
        except StorageError:
            return fail()
        changes = dict(fields, updated_at=to_db(self._clock()))
        if "public" in changes:
            changes["public"] = int(changes["public"])
        # Column names come from UPDATABLE_ROOM_FIELDS (checked above), never from values.
        assignments = ", ".join(f"{column} = ?" for column in changes)

        def update(conn: sqlite3.Connection) -> Room:
            conn.execute(
                f"UPDATE rooms SET {assignments} WHERE hub_id = ?", (*changes.values(), hub_id)
            )
            return self._getRoom(conn, "hub_id", hub_id)

        return self._run(write, update)

    @keyed("hub_id")
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

    def list_public_rooms(self, limit: int = 100) -> Deferred[list[Room]]:
        try:
            count = check_limit(limit)
        except StorageError:
            return fail()

        def select(conn: sqlite3.Connection) -> list[Room]:
            rows = conn.execute(
                f"SELECT {ROOM_COLUMNS} FROM rooms WHERE public = 1 AND entry_mode <> 'deny' "
                "ORDER BY created_at DESC, hub_id DESC LIMIT ?",
                (count,),
            )
            return [room_record(row) for row in rows]

        return self._run(select)

    # Accounts

    def create_account(self, email: str) -> Deferred[Account]:
        try:
            account = Account(new_id(), hash_email(email), self._clock())
        except StorageError:
            return fail()

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

    @keyed("account_id")
    def get_account(self, account_id: int) -> Deferred[Account]:
        return self._run(self._getAccount, "account_id", account_id)

    @keyed("email")
    def get_account_by_email(self, email: str) -> Deferred[Account]:
        return self._run(self._getAccount, "email_hash", hash_email(email))

    # Roles

    @keyed("hub_id", "account_id")
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

    @keyed("hub_id", "account_id", "role")
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

    @keyed("hub_id")
    def roles_for_room(self, hub_id: int) -> Deferred[list[RoomRole]]:
        return self._run(self._roles, "hub_id", hub_id)

    @keyed("account_id")
    def roles_for_account(self, account_id: int) -> Deferred[list[RoomRole]]:
        return self._run(self._roles, "account_id", account_id)
