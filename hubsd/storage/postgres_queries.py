"""
The SQL of L{hubsd.storage.postgres.PostgresRoomStore}: one method per
L{hubsd.interfaces.IRoomStore} operation, over three primitives the store
provides (run a call, run a transaction, run a query).

Kept apart from the connection lifecycle so each file holds one idea: what
is asked of the database here, how the database is reached there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg2
from psycopg2.extras import Json
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

T = TypeVar("T")

ROOM_COLUMNS = (
    "hub_id, hub_sid, name, slug, scene_id, entry_mode, member_permissions, room_size, "
    "created_at, updated_at"
)
FILE_COLUMNS = "file_id, owner_account_id, content_type, size, promoted, expires_at"
PIN_COLUMNS = "hub_id, object_id, gltf, created_by, updated_at"


def _room(row: tuple[Any, ...]) -> Room:
    hub_id, sid, name, slug, scene_id, entry_mode, permissions, size, created, updated = row
    return Room(
        hub_id, sid, name, slug, scene_id, entry_mode, permissions, size,
        created.astimezone(UTC), updated.astimezone(UTC),
    )  # fmt: skip


def _file(row: tuple[Any, ...]) -> FileMeta:
    file_id, owner, content_type, size, promoted, expires = row
    expires_utc = None if expires is None else expires.astimezone(UTC)
    return FileMeta(file_id, owner, content_type, size, promoted, expires_utc)


def _pin(row: tuple[Any, ...]) -> PinnedObject:
    hub_id, object_id, gltf, created_by, updated = row
    return PinnedObject(hub_id, object_id, gltf, created_by, updated.astimezone(UTC))


class PostgresQueries:
    """The IRoomStore operations in PostgreSQL's SQL dialect."""

    # Provided by the store (hubsd.storage.postgres): run a coroutine as a
    # tracked call, run work in one transaction, run one query.
    _clock: Callable[[], datetime]
    _call: Callable[[Coroutine[Any, Any, Any]], Deferred[Any]]
    _interaction: Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]
    _query: Callable[..., Awaitable[list[tuple[Any, ...]]]]

    async def _one(self, sql: str, params: tuple[Any, ...], kind: str, key: object) -> Any:
        rows = await self._query(sql, params)
        if not rows:
            raise NotFound(kind, key)
        return rows[0]

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

        async def insert() -> Room:
            # A clash of random ids or sids is rare; draw again a few times.
            for _ in range(5):
                room = Room(
                    hub_id=new_id(), hub_sid=new_sid(), created_at=now, updated_at=now, **fields
                )
                try:
                    await self._query(
                        f"INSERT INTO rooms ({ROOM_COLUMNS}) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING hub_id",
                        (room.hub_id, room.hub_sid, room.name, room.slug, room.scene_id,
                         room.entry_mode, room.member_permissions, room.room_size, now, now),
                    )  # fmt: skip
                    return room
                except psycopg2.errors.UniqueViolation:
                    continue
            raise Conflict("could not draw a free room id and sid in 5 tries")

        return self._call(insert())

    def get_room(self, hub_id: int) -> Deferred[Room]:
        return self._call(self._getRoom("hub_id", hub_id))

    def get_room_by_sid(self, hub_sid: str) -> Deferred[Room]:
        return self._call(self._getRoom("hub_sid", hub_sid))

    async def _getRoom(self, column: str, key: object) -> Room:
        sql = f"SELECT {ROOM_COLUMNS} FROM rooms WHERE {column} = %s"
        return _room(await self._one(sql, (key,), "room", key))

    def update_room(self, hub_id: int, **fields: Any) -> Deferred[Room]:
        try:
            check_room_fields(fields)
        except StorageError:
            return fail()
        changes = dict(fields, updated_at=self._clock())
        # Column names come from UPDATABLE_ROOM_FIELDS (checked above), never from values.
        assignments = ", ".join(f"{column} = %s" for column in changes)
        sql = f"UPDATE rooms SET {assignments} WHERE hub_id = %s RETURNING {ROOM_COLUMNS}"
        return self._call(self._one(sql, (*changes.values(), hub_id), "room", hub_id)).addCallback(
            _room
        )

    def delete_room(self, hub_id: int) -> Deferred[None]:
        sql = "DELETE FROM rooms WHERE hub_id = %s RETURNING hub_id"
        return self._call(self._one(sql, (hub_id,), "room", hub_id)).addCallback(lambda _: None)

    def list_rooms(self) -> Deferred[list[Room]]:
        async def select() -> list[Room]:
            rows = await self._query(f"SELECT {ROOM_COLUMNS} FROM rooms ORDER BY hub_id")
            return [_room(row) for row in rows]

        return self._call(select())

    # Accounts

    def create_account(self, email: str) -> Deferred[Account]:
        account = Account(new_id(), hash_email(email), self._clock())

        async def insert() -> Account:
            try:
                await self._query(
                    "INSERT INTO accounts (account_id, email_hash, created_at) "
                    "VALUES (%s, %s, %s) RETURNING account_id",
                    (account.account_id, account.email_hash, account.created_at),
                )
            except psycopg2.errors.UniqueViolation as e:
                raise Conflict("an account with this e-mail address exists") from e
            return account

        return self._call(insert())

    async def _getAccount(self, column: str, key: object) -> Account:
        sql = f"SELECT account_id, email_hash, created_at FROM accounts WHERE {column} = %s"
        account_id, email_hash, created = await self._one(sql, (key,), "account", key)
        return Account(account_id, email_hash, created.astimezone(UTC))

    def get_account(self, account_id: int) -> Deferred[Account]:
        return self._call(self._getAccount("account_id", account_id))

    def get_account_by_email(self, email: str) -> Deferred[Account]:
        return self._call(self._getAccount("email_hash", hash_email(email)))

    # Roles

    def set_role(self, hub_id: int, account_id: int, role: str) -> Deferred[RoomRole]:
        try:
            check_role(role)
        except StorageError:
            return fail()

        async def grant() -> RoomRole:
            await self._getRoom("hub_id", hub_id)
            await self._getAccount("account_id", account_id)
            try:
                await self._query(
                    "INSERT INTO room_roles (hub_id, account_id, role) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING RETURNING role",
                    (hub_id, account_id, role),
                )
            except psycopg2.errors.ForeignKeyViolation as e:
                # Deleted between the checks above and the insert.
                raise NotFound("room or account", (hub_id, account_id)) from e
            return RoomRole(hub_id, account_id, role)

        return self._call(grant())

    def remove_role(self, hub_id: int, account_id: int, role: str) -> Deferred[None]:
        key = (hub_id, account_id, role)
        sql = (
            "DELETE FROM room_roles WHERE hub_id = %s AND account_id = %s AND role = %s "
            "RETURNING role"
        )
        return self._call(self._one(sql, key, "role", key)).addCallback(lambda _: None)

    def _roles(self, column: str, key: int) -> Deferred[list[RoomRole]]:
        async def select() -> list[RoomRole]:
            rows = await self._query(
                f"SELECT hub_id, account_id, role FROM room_roles WHERE {column} = %s "
                "ORDER BY hub_id, account_id, role",
                (key,),
            )
            return [RoomRole(*row) for row in rows]

        return self._call(select())

    def roles_for_room(self, hub_id: int) -> Deferred[list[RoomRole]]:
        return self._roles("hub_id", hub_id)

    def roles_for_account(self, account_id: int) -> Deferred[list[RoomRole]]:
        return self._roles("account_id", account_id)

    # Pinned objects

    def pin_object(
        self,
        hub_id: int,
        object_id: str,
        gltf: Mapping[str, Any],
        created_by: int | None = None,
    ) -> Deferred[PinnedObject]:
        now = self._clock()

        async def pin() -> PinnedObject:
            await self._getRoom("hub_id", hub_id)
            if created_by is not None:
                await self._getAccount("account_id", created_by)
            try:
                rows = await self._query(
                    f"INSERT INTO pinned_objects ({PIN_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (hub_id, object_id) "
                    "DO UPDATE SET gltf = excluded.gltf, updated_at = excluded.updated_at "
                    f"RETURNING {PIN_COLUMNS}",
                    (hub_id, object_id, Json(dict(gltf)), created_by, now),
                )
            except psycopg2.errors.ForeignKeyViolation as e:
                raise NotFound("room or account", (hub_id, created_by)) from e
            return _pin(rows[0])

        return self._call(pin())

    def unpin_object(self, hub_id: int, object_id: str) -> Deferred[None]:
        key = (hub_id, object_id)
        sql = "DELETE FROM pinned_objects WHERE hub_id = %s AND object_id = %s RETURNING hub_id"
        return self._call(self._one(sql, key, "pinned object", key)).addCallback(lambda _: None)

    def list_pinned(self, hub_id: int) -> Deferred[list[PinnedObject]]:
        async def select() -> list[PinnedObject]:
            rows = await self._query(
                f"SELECT {PIN_COLUMNS} FROM pinned_objects WHERE hub_id = %s ORDER BY object_id",
                (hub_id,),
            )
            return [_pin(row) for row in rows]

        return self._call(select())

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

        async def insert() -> FileMeta:
            try:
                rows = await self._query(
                    f"INSERT INTO files ({FILE_COLUMNS}) VALUES (%s, %s, %s, %s, false, %s) "
                    f"RETURNING {FILE_COLUMNS}",
                    (file_id, owner_account_id, content_type, size, expires_at),
                )
            except psycopg2.errors.UniqueViolation as e:
                raise Conflict(f"file {file_id!r} exists") from e
            except psycopg2.errors.ForeignKeyViolation as e:
                raise NotFound("account", owner_account_id) from e
            return _file(rows[0])

        return self._call(insert())

    def get_file(self, file_id: str) -> Deferred[FileMeta]:
        sql = f"SELECT {FILE_COLUMNS} FROM files WHERE file_id = %s"
        return self._call(self._one(sql, (file_id,), "file", file_id)).addCallback(_file)

    def promote_file(self, file_id: str) -> Deferred[FileMeta]:
        sql = (
            "UPDATE files SET promoted = true, expires_at = NULL WHERE file_id = %s "
            f"RETURNING {FILE_COLUMNS}"
        )
        return self._call(self._one(sql, (file_id,), "file", file_id)).addCallback(_file)

    def delete_file(self, file_id: str) -> Deferred[None]:
        sql = "DELETE FROM files WHERE file_id = %s RETURNING file_id"
        return self._call(self._one(sql, (file_id,), "file", file_id)).addCallback(lambda _: None)

    def list_expired_files(self, now: datetime) -> Deferred[list[FileMeta]]:
        async def select() -> list[FileMeta]:
            rows = await self._query(
                f"SELECT {FILE_COLUMNS} FROM files WHERE NOT promoted "
                "AND expires_at IS NOT NULL AND expires_at <= %s ORDER BY expires_at, file_id",
                (now,),
            )
            return [_file(row) for row in rows]

        return self._call(select())
