"""
The SQL of L{hubsd.storage.postgres.PostgresRoomStore} for rooms, accounts
and roles: one method per L{hubsd.interfaces.IRoomStore} operation, over
three primitives the store provides (run a call, run a transaction, run a
query).

Kept apart from the connection lifecycle so each file holds one idea: what
is asked of the database here, how the database is reached there, and what
members put in rooms in L{hubsd.storage.postgres_content}.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg2
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

T = TypeVar("T")

ROOM_COLUMNS = (
    "hub_id, hub_sid, name, slug, scene_id, entry_mode, member_permissions, room_size, "
    "created_at, updated_at, description, scene_url, public, creator_token_hash"
)


def room_values(room: Room) -> tuple[Any, ...]:
    """The values of C{room} in L{ROOM_COLUMNS} order."""
    return (
        room.hub_id, room.hub_sid, room.name, room.slug, room.scene_id, room.entry_mode,
        room.member_permissions, room.room_size, room.created_at, room.updated_at,
        room.description, room.scene_url, room.public, room.creator_token_hash,
    )  # fmt: skip


def room_record(row: tuple[Any, ...]) -> Room:
    """A L{Room} from a row selected with L{ROOM_COLUMNS} (times made UTC)."""
    hub_id, sid, name, slug, scene_id, entry_mode, permissions, size, created, updated = row[:10]
    description, scene_url, public, creator_token_hash = row[10:]
    return Room(
        hub_id, sid, name, slug, scene_id, entry_mode, permissions, size,
        created.astimezone(UTC), updated.astimezone(UTC),
        description, scene_url, public, creator_token_hash,
    )  # fmt: skip


class PostgresRoomQueries:
    """The IRoomStore operations on rooms, accounts and roles in PostgreSQL's dialect."""

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

        async def insert() -> Room:
            # A clash of random ids or sids is rare; draw again a few times.
            for _ in range(5):
                room = Room(
                    hub_id=new_id(), hub_sid=new_sid(), created_at=now, updated_at=now, **fields
                )
                values = room_values(room)
                placeholders = ", ".join(["%s"] * len(values))
                try:
                    await self._query(
                        f"INSERT INTO rooms ({ROOM_COLUMNS}) VALUES ({placeholders}) "
                        "RETURNING hub_id",
                        values,
                    )
                    return room
                except psycopg2.errors.UniqueViolation:
                    continue
            raise Conflict("could not draw a free room id and sid in 5 tries")

        return self._call(insert())

    @keyed("hub_id")
    def get_room(self, hub_id: int) -> Deferred[Room]:
        return self._call(self._getRoom("hub_id", hub_id))

    @keyed("hub_sid")
    def get_room_by_sid(self, hub_sid: str) -> Deferred[Room]:
        return self._call(self._getRoom("hub_sid", hub_sid))

    async def _getRoom(self, column: str, key: object) -> Room:
        sql = f"SELECT {ROOM_COLUMNS} FROM rooms WHERE {column} = %s"
        return room_record(await self._one(sql, (key,), "room", key))

    @keyed("hub_id")
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
            room_record
        )

    @keyed("hub_id")
    def delete_room(self, hub_id: int) -> Deferred[None]:
        sql = "DELETE FROM rooms WHERE hub_id = %s RETURNING hub_id"
        return self._call(self._one(sql, (hub_id,), "room", hub_id)).addCallback(lambda _: None)

    def list_rooms(self) -> Deferred[list[Room]]:
        async def select() -> list[Room]:
            rows = await self._query(f"SELECT {ROOM_COLUMNS} FROM rooms ORDER BY hub_id")
            return [room_record(row) for row in rows]

        return self._call(select())

    def list_public_rooms(self, limit: int = 100) -> Deferred[list[Room]]:
        try:
            count = check_limit(limit)
        except StorageError:
            return fail()

        async def select() -> list[Room]:
            rows = await self._query(
                f"SELECT {ROOM_COLUMNS} FROM rooms WHERE public AND entry_mode <> 'deny' "
                "ORDER BY created_at DESC, hub_id DESC LIMIT %s",
                (count,),
            )
            return [room_record(row) for row in rows]

        return self._call(select())

    # Accounts

    def create_account(self, email: str) -> Deferred[Account]:
        try:
            account = Account(new_id(), hash_email(email), self._clock())
        except StorageError:
            return fail()

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

    @keyed("account_id")
    def get_account(self, account_id: int) -> Deferred[Account]:
        return self._call(self._getAccount("account_id", account_id))

    @keyed("email")
    def get_account_by_email(self, email: str) -> Deferred[Account]:
        return self._call(self._getAccount("email_hash", hash_email(email)))

    # Roles

    @keyed("hub_id", "account_id")
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

    @keyed("hub_id", "account_id", "role")
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

    @keyed("hub_id")
    def roles_for_room(self, hub_id: int) -> Deferred[list[RoomRole]]:
        return self._roles("hub_id", hub_id)

    @keyed("account_id")
    def roles_for_account(self, account_id: int) -> Deferred[list[RoomRole]]:
        return self._roles("account_id", account_id)
