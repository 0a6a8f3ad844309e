"""
L{MemoryRoomStore}: an L{IRoomStore} in dicts, for tests and demos.

It keeps the same promises as the SQL stores (same errors, same ordering,
records copied in and out) and passes the same shared test suite, so tests of
callers that use it stay honest. Nothing survives the process.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from hubsd.interfaces import IRoomStore
from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.keys import keyed
from hubsd.storage.logins import LoginToken
from hubsd.storage.memory_logins import MemoryLoginQueries
from hubsd.storage.records import (
    Account,
    FileMeta,
    PinnedObject,
    Room,
    RoomRole,
    check_file,
    check_limit,
    check_moment,
    check_pin,
    check_role,
    check_room_fields,
    hash_email,
    new_id,
    new_sid,
    room_defaults,
    utcnow,
)


def _deferred(call: Callable[[], Any]) -> Deferred[Any]:
    """Run C{call} now and wrap its result or its storage error in a Deferred."""
    try:
        return succeed(call())
    except StorageError:
        return fail()


@implementer(IRoomStore)
class MemoryRoomStore(MemoryLoginQueries):
    """
    Rooms, accounts, roles, pins and file metadata in dicts.

    @param clock: Returns the current aware UTC datetime (injectable for tests).
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._rooms: dict[int, Room] = {}
        self._accounts: dict[int, Account] = {}
        self._roles: set[RoomRole] = set()
        self._pins: dict[tuple[int, str], PinnedObject] = {}
        self._files: dict[str, FileMeta] = {}
        self._logins: dict[str, LoginToken] = {}

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> MemoryRoomStore:
        """Build from the (empty) C{[storage]} options; C{context} is unused."""
        return cls()

    def start(self) -> Deferred[None]:
        """Nothing to open. Deferred[None]."""
        return succeed(None)

    def stop(self) -> Deferred[None]:
        """Nothing to flush. Deferred[None]."""
        return succeed(None)

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
        def create() -> Room:
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
            sids = {room.hub_sid for room in self._rooms.values()}
            hub_id, sid = new_id(), new_sid()
            while hub_id in self._rooms or sid in sids:
                hub_id, sid = new_id(), new_sid()
            now = self._clock()
            room = Room(hub_id=hub_id, hub_sid=sid, created_at=now, updated_at=now, **fields)
            self._rooms[hub_id] = room
            return room

        return _deferred(create)

    def _room(self, hub_id: int) -> Room:
        try:
            return self._rooms[hub_id]
        except KeyError:
            raise NotFound("room", hub_id) from None

    @keyed("hub_id")
    def get_room(self, hub_id: int) -> Deferred[Room]:
        return _deferred(lambda: self._room(hub_id))

    @keyed("hub_sid")
    def get_room_by_sid(self, hub_sid: str) -> Deferred[Room]:
        def find() -> Room:
            for room in self._rooms.values():
                if room.hub_sid == hub_sid:
                    return room
            raise NotFound("room", hub_sid)

        return _deferred(find)

    @keyed("hub_id")
    def update_room(self, hub_id: int, **fields: Any) -> Deferred[Room]:
        def update() -> Room:
            check_room_fields(fields)
            room = replace(self._room(hub_id), updated_at=self._clock(), **fields)
            self._rooms[hub_id] = room
            return room

        return _deferred(update)

    @keyed("hub_id")
    def delete_room(self, hub_id: int) -> Deferred[None]:
        def delete() -> None:
            del self._rooms[self._room(hub_id).hub_id]
            self._roles = {r for r in self._roles if r.hub_id != hub_id}
            self._pins = {k: p for k, p in self._pins.items() if p.hub_id != hub_id}

        return _deferred(delete)

    def list_rooms(self) -> Deferred[list[Room]]:
        return succeed(sorted(self._rooms.values(), key=lambda room: room.hub_id))

    def list_public_rooms(self, limit: int = 100) -> Deferred[list[Room]]:
        def select() -> list[Room]:
            count = check_limit(limit)
            listed = [r for r in self._rooms.values() if r.public and r.entry_mode != "deny"]
            listed.sort(key=lambda r: (r.created_at, r.hub_id), reverse=True)
            return listed[:count]

        return _deferred(select)

    # Accounts

    def create_account(self, email: str) -> Deferred[Account]:
        def create() -> Account:
            email_hash = hash_email(email)
            if any(a.email_hash == email_hash for a in self._accounts.values()):
                raise Conflict("an account with this e-mail address exists")
            account_id = new_id()
            while account_id in self._accounts:
                account_id = new_id()
            account = Account(account_id, email_hash, self._clock())
            self._accounts[account_id] = account
            return account

        return _deferred(create)

    def _account(self, account_id: int) -> Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise NotFound("account", account_id) from None

    @keyed("account_id")
    def get_account(self, account_id: int) -> Deferred[Account]:
        return _deferred(lambda: self._account(account_id))

    @keyed("email")
    def get_account_by_email(self, email: str) -> Deferred[Account]:
        def find() -> Account:
            email_hash = hash_email(email)
            for account in self._accounts.values():
                if account.email_hash == email_hash:
                    return account
            raise NotFound("account", email_hash)

        return _deferred(find)

    # Roles

    @keyed("hub_id", "account_id")
    def set_role(self, hub_id: int, account_id: int, role: str) -> Deferred[RoomRole]:
        def grant() -> RoomRole:
            check_role(role)
            self._room(hub_id)
            self._account(account_id)
            granted = RoomRole(hub_id, account_id, role)
            self._roles.add(granted)
            return granted

        return _deferred(grant)

    @keyed("hub_id", "account_id", "role")
    def remove_role(self, hub_id: int, account_id: int, role: str) -> Deferred[None]:
        def revoke() -> None:
            held = RoomRole(hub_id, account_id, role)
            if held not in self._roles:
                raise NotFound("role", (hub_id, account_id, role))
            self._roles.remove(held)

        return _deferred(revoke)

    @keyed("hub_id")
    def roles_for_room(self, hub_id: int) -> Deferred[list[RoomRole]]:
        roles = [r for r in self._roles if r.hub_id == hub_id]
        return succeed(sorted(roles, key=lambda r: (r.account_id, r.role)))

    @keyed("account_id")
    def roles_for_account(self, account_id: int) -> Deferred[list[RoomRole]]:
        roles = [r for r in self._roles if r.account_id == account_id]
        return succeed(sorted(roles, key=lambda r: (r.hub_id, r.role)))

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
        def pin() -> PinnedObject:
            document = check_pin(object_id, gltf, file_id)
            self._room(hub_id)
            if created_by is not None:
                self._account(created_by)
            old = self._pins.get((hub_id, object_id))
            # Parsed back from JSON as the SQL stores do (tuples become lists),
            # and copied on the way out: callers never share it with the store.
            self._pins[(hub_id, object_id)] = PinnedObject(
                hub_id,
                object_id,
                json.loads(document),
                created_by if old is None else old.created_by,
                self._clock(),
                file_id,
            )
            return self._pinned(self._pins[(hub_id, object_id)])

        return _deferred(pin)

    @staticmethod
    def _pinned(kept: PinnedObject) -> PinnedObject:
        return replace(kept, gltf=copy.deepcopy(kept.gltf))

    @keyed("hub_id", "object_id")
    def unpin_object(self, hub_id: int, object_id: str) -> Deferred[None]:
        def unpin() -> None:
            if self._pins.pop((hub_id, object_id), None) is None:
                raise NotFound("pinned object", (hub_id, object_id))

        return _deferred(unpin)

    @keyed("hub_id")
    def list_pinned(self, hub_id: int) -> Deferred[list[PinnedObject]]:
        pins = sorted(
            (p for p in self._pins.values() if p.hub_id == hub_id), key=lambda p: p.object_id
        )
        return succeed([self._pinned(p) for p in pins])

    @keyed("hub_id")
    def count_pinned(self, hub_id: int) -> Deferred[int]:
        return succeed(sum(1 for p in self._pins.values() if p.hub_id == hub_id))

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
        def add() -> FileMeta:
            check_file(file_id, content_type, size, expires_at, promotion_token_hash)
            if file_id in self._files:
                raise Conflict(f"file {file_id!r} exists")
            if owner_account_id is not None:
                self._account(owner_account_id)
            meta = FileMeta(
                file_id,
                owner_account_id,
                content_type,
                size,
                False,
                expires_at,
                promotion_token_hash,
            )
            self._files[file_id] = meta
            return meta

        return _deferred(add)

    def _file(self, file_id: str) -> FileMeta:
        try:
            return self._files[file_id]
        except KeyError:
            raise NotFound("file", file_id) from None

    @keyed("account_id")
    def account_file_usage(self, account_id: int) -> Deferred[int]:
        return succeed(
            sum(f.size for f in self._files.values() if f.owner_account_id == account_id)
        )

    @keyed("file_id")
    def get_file(self, file_id: str) -> Deferred[FileMeta]:
        return _deferred(lambda: self._file(file_id))

    @keyed("file_id")
    def promote_file(self, file_id: str) -> Deferred[FileMeta]:
        def promote() -> FileMeta:
            meta = replace(self._file(file_id), promoted=True, expires_at=None)
            self._files[file_id] = meta
            return meta

        return _deferred(promote)

    @keyed("file_id")
    def delete_file(self, file_id: str) -> Deferred[None]:
        def delete() -> None:
            del self._files[self._file(file_id).file_id]

        return _deferred(delete)

    def list_expired_files(self, now: datetime) -> Deferred[list[FileMeta]]:
        def select() -> list[FileMeta]:
            check_moment("now", now)
            expired = [
                f
                for f in self._files.values()
                if not f.promoted and f.expires_at is not None and f.expires_at <= now
            ]
            return sorted(expired, key=lambda f: (f.expires_at, f.file_id))

        return _deferred(select)
