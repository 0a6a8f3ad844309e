"""
L{SQLiteRoomStore}: the embedded default L{IRoomStore}, one file in the state dir.

All SQLite work runs on one dedicated thread (an C{adbapi} pool of exactly one
connection), so the reactor never waits on the disk and SQLite never sees two
writers from this process. The connection is in autocommit mode and every
write runs inside an explicit C{BEGIN IMMEDIATE ... COMMIT}: Python's implicit
transactions do not cover DDL, and migrations must be all-or-nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from twisted.enterprise import adbapi
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from hubsd.interfaces import IRoomStore
from hubsd.storage.errors import Conflict, NotFound, StorageError, StorageUnavailable
from hubsd.storage.migrate import DEFAULT_MIGRATIONS, Migration, load_migrations
from hubsd.storage.records import (
    DEFAULT_MEMBER_PERMISSIONS,
    DEFAULT_ROOM_SIZE,
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
    utcnow,
)
from hubsd.storage.sqlite_rows import (
    FILE_COLUMNS,
    ROOM_COLUMNS,
    SCHEMA_MIGRATIONS_TABLE,
    apply_migrations,
    file_record,
    from_db,
    integrity,
    pin_record,
    room_record,
    room_row,
    to_db,
    write,
)


@implementer(IRoomStore)
class SQLiteRoomStore:
    """
    An L{IRoomStore} in one SQLite file (WAL mode, foreign keys on).

    @param path: The database file; its directory must exist and be writable.
    @param reactor: The reactor whose thread pool machinery C{adbapi} uses.
    @param migrations: Directory of numbered migrations (see L{hubsd.storage.migrate}).
    @param clock: Returns the current aware UTC datetime (injectable for tests).
    """

    log = Logger()

    def __init__(
        self,
        path: str,
        reactor: Any = None,
        migrations: str | Path = DEFAULT_MIGRATIONS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.path = path
        self._reactor = reactor
        self._migrations = migrations
        self._clock = clock
        self._pool: adbapi.ConnectionPool | None = None

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> SQLiteRoomStore:
        """
        Build from C{[storage]} options: C{path} (default C{hubsd.sqlite3}),
        relative to C{context.state_dir}. Nothing is opened until L{start}.
        """
        path = os.path.join(context.state_dir, options.get("path") or "hubsd.sqlite3")
        return cls(path, context.reactor)

    def start(self) -> Deferred[None]:
        """
        Open the database and apply pending migrations.

        @return: Deferred[None]; fails with L{StorageUnavailable} (naming the
            path) if the file cannot be opened or written, L{SchemaTooNew} or
            L{hubsd.storage.errors.MigrationFailed}.
        """
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            return fail(
                StorageUnavailable(
                    f"cannot open SQLite database {self.path}: "
                    f"directory {directory} does not exist or is not a directory"
                )
            )
        try:
            migrations = load_migrations(self._migrations, "sqlite")
        except StorageError:
            return fail()
        self._pool = adbapi.ConnectionPool(
            "sqlite3",
            self.path,
            check_same_thread=False,
            isolation_level=None,
            cp_min=1,
            cp_max=1,
            cp_openfun=self._configure,
            cp_reactor=self._reactor,
        )
        d = self._run(self._migrate, migrations)

        def started(_: object) -> None:
            self.log.info("SQLite room store open at {path}", path=self.path)

        def failedToStart(reason: Failure) -> Failure:
            self._closePool()
            if reason.check(sqlite3.Error, OSError):
                return Failure(
                    StorageUnavailable(f"cannot open SQLite database {self.path}: {reason.value}")
                )
            return reason

        d.addCallbacks(started, failedToStart)
        return d

    def stop(self) -> Deferred[None]:
        """
        Let queued work finish, then close the connection and its thread.
        Deferred[None].
        """
        if self._pool is None:
            return succeed(None)
        # The no-op queues behind pending writes, so closing joins an idle thread.
        d = self._pool.runWithConnection(lambda conn: None)
        d.addBoth(lambda _: self._closePool())
        return d

    def _closePool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    @staticmethod
    def _configure(conn: sqlite3.Connection) -> None:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")

    def _run(self, work: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """Run C{work(conn, *args)} on the database thread, mapping driver errors."""
        if self._pool is None:
            return fail(StorageUnavailable(f"SQLite room store {self.path} is not started"))
        return self._pool.runWithConnection(self._guarded, work, *args)

    def _guarded(self, conn: sqlite3.Connection, work: Callable[..., Any], *args: Any) -> Any:
        try:
            return work(conn, *args)
        except sqlite3.IntegrityError as e:
            raise Conflict(str(e)) from e
        except sqlite3.Error as e:
            raise StorageUnavailable(f"cannot use SQLite database {self.path}: {e}") from e

    def _migrate(self, conn: sqlite3.Connection, migrations: list[Migration]) -> None:
        # Opening errors (unwritable file, not a database) surface here first.
        try:
            conn.execute(SCHEMA_MIGRATIONS_TABLE)
        except sqlite3.Error as e:
            raise StorageUnavailable(f"cannot open SQLite database {self.path}: {e}") from e
        for version in apply_migrations(conn, migrations, self._clock()):
            self.log.info("applied schema migration {version}", version=version)

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
                DEFAULT_MEMBER_PERMISSIONS if member_permissions is None else member_permissions,
                DEFAULT_ROOM_SIZE if room_size is None else room_size,
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
            def work(c: sqlite3.Connection) -> Room:
                c.execute(
                    f"UPDATE rooms SET {assignments} WHERE hub_id = ?",
                    (*changes.values(), hub_id),
                )
                return self._getRoom(c, "hub_id", hub_id)

            return write(conn, work)

        return self._run(update)

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
            def work(c: sqlite3.Connection) -> RoomRole:
                self._getRoom(c, "hub_id", hub_id)
                self._getAccount(c, "account_id", account_id)
                c.execute(
                    "INSERT OR IGNORE INTO room_roles (hub_id, account_id, role) VALUES (?, ?, ?)",
                    (hub_id, account_id, role),
                )
                return RoomRole(hub_id, account_id, role)

            return write(conn, work)

        return self._run(grant)

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
            def work(c: sqlite3.Connection) -> PinnedObject:
                self._getRoom(c, "hub_id", hub_id)
                if created_by is not None:
                    self._getAccount(c, "account_id", created_by)
                c.execute(
                    "INSERT INTO pinned_objects (hub_id, object_id, gltf, created_by, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (hub_id, object_id) "
                    "DO UPDATE SET gltf = excluded.gltf, updated_at = excluded.updated_at",
                    (hub_id, object_id, document, created_by, now),
                )
                row = c.execute(
                    "SELECT * FROM pinned_objects WHERE hub_id = ? AND object_id = ?",
                    (hub_id, object_id),
                ).fetchone()
                return pin_record(row)

            return write(conn, work)

        return self._run(pin)

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
            def work(c: sqlite3.Connection) -> FileMeta:
                c.execute(
                    "UPDATE files SET promoted = 1, expires_at = NULL WHERE file_id = ?",
                    (file_id,),
                )
                return self._getFile(c, file_id)

            return write(conn, work)

        return self._run(promote)

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
