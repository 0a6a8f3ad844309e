"""
The rooms of this node: creating, loading and running them.

L{RoomDirectory} is the room core's front door for every transport (the
WAMP binding in L{hubsd.rooms.procedures} today; the Phoenix gateway and
the HTTP API later). It turns a request from an L{Identity} into the
operations of a L{LiveRoom}, does the storage writes a change needs
*before* applying it (a change is told to members only once it is
committed), and hands the resulting notices to C{deliver}, a callable
the transport side passes in (data flows down; the core never imports a
transport).

Live rooms are loaded from the store on first use and dropped when the
last seat is gone; persistent state (settings, roles, pinned objects)
lives in the store, presence and entities only here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from hubsd.files.vault import Refused
from hubsd.rooms import presence as presence_rules
from hubsd.rooms.errors import InvalidPayload, NoSuchRoom, NotPermitted
from hubsd.rooms.permissions import bits_to_map, map_to_bits
from hubsd.rooms.room import LiveRoom, Notice
from hubsd.rooms.settings import RoomSettings
from hubsd.storage.errors import InvalidValue, NotFound
from hubsd.storage.records import hash_token

log = Logger()

_SID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CREATE_FIELDS = frozenset(
    {"name", "description", "scene_url", "entry_mode", "member_permissions", "room_size", "public"}
)

#: deliver(room, notices): publish the notices to the room's members.
Deliver = Callable[[LiveRoom, list[Notice]], None]


@dataclass(frozen=True)
class Identity:
    """Who is asking: a room session id, maybe an account."""

    session_id: str
    account_id: int | None = None

    @classmethod
    def anonymous(cls) -> Identity:
        return cls(str(uuid.uuid4()))


class RoomDirectory:
    """Runs the rooms of this node (see module docstring)."""

    def __init__(
        self,
        store: Any,
        tokens: Any,
        settings: RoomSettings,
        clock: Any,
        invite_secret: bytes,
    ) -> None:
        self._store = store
        self.tokens = tokens
        self.settings = settings
        self._clock = clock
        self._invite_secret = invite_secret
        self.rooms: dict[str, LiveRoom] = {}
        self._loading: dict[str, list[Deferred[LiveRoom]]] = {}
        self._holds: dict[tuple[str, str], Any] = {}
        #: Counters of rooms that were unloaded, so that totals never go down.
        self._unloaded: dict[str, int] = {}
        self.deliver: Deliver = lambda room, notices: None
        #: The file vault (L{hubsd.files.vault.FileVault}) that a pin with a
        #: promotion token promotes in; None until the service starts it.
        self.files: Any = None

    def now(self) -> float:
        return float(self._clock.seconds())

    # -- rooms ----------------------------------------------------------------

    async def create(self, identity: Identity, fields: Mapping[str, Any]) -> dict[str, Any]:
        """
        Create a room; the creator gets a creator token (shown once, stored
        hashed) that makes whoever joins with it the room's creator.
        """
        if identity.account_id is None and not self.settings.allow_anonymous_create:
            raise NotPermitted("create_hub", "not permitted: create_hub (sign in first)")
        unknown = set(fields) - _CREATE_FIELDS
        if unknown:
            raise InvalidPayload(f"unknown room field(s): {', '.join(sorted(unknown))}")
        values = dict(fields)
        if "name" not in values:
            raise InvalidPayload("name is required")
        values.setdefault("room_size", self.settings.default_room_size)
        values.setdefault("member_permissions", self.settings.default_member_permissions)
        self._check_values(values)
        token = secrets.token_urlsafe(24)
        try:
            record = await self._store.create_room(creator_token_hash=hash_token(token), **values)
        except InvalidValue as e:
            raise InvalidPayload(str(e)) from None
        if identity.account_id is not None:
            try:
                await self._store.set_role(record.hub_id, identity.account_id, "creator")
            except NotFound:
                pass  # an account token for an account this store does not know
        log.info("room {sid} created", sid=record.hub_sid)
        return {"hub_sid": record.hub_sid, "slug": record.slug, "creator_token": token}

    def _check_values(self, values: dict[str, Any]) -> None:
        """Room-core limits on top of the store's field checks; converts permission maps."""
        perms = values.get("member_permissions")
        if isinstance(perms, dict):
            try:
                values["member_permissions"] = map_to_bits(perms)
            except ValueError as e:
                raise InvalidPayload(f"member_permissions: {e}") from None
        size = values.get("room_size")
        if size is not None and (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not 1 <= size <= self.settings.max_room_size
        ):
            raise InvalidPayload(f"room_size must be 1 to {self.settings.max_room_size}")

    async def _record(self, hub_sid: object) -> Any:
        if not isinstance(hub_sid, str) or not _SID.match(hub_sid):
            raise NoSuchRoom(f"no room {hub_sid!r}")
        try:
            return await self._store.get_room_by_sid(hub_sid)
        except NotFound:
            raise NoSuchRoom(f"no room {hub_sid!r}") from None

    async def record(self, hub_sid: object) -> Any:
        """The stored room C{hub_sid}; NoSuchRoom if there is none (or it cannot be a sid)."""
        return await self._record(hub_sid)

    async def describe(self, hub_sid: object) -> dict[str, Any]:
        """The public description of a room (never ids, roles or accounts)."""
        live = self.rooms.get(hub_sid) if isinstance(hub_sid, str) else None
        record = live.record if live is not None else await self._record(hub_sid)
        return self.public(record, live)

    def public(self, record: Any, live: LiveRoom | None = None) -> dict[str, Any]:
        """A room record as clients see it, with live counts when loaded."""
        room_count = lobby_count = 0
        if live is not None:
            room_count, lobby_count = live.presence.counts()
        return {
            "hub_sid": record.hub_sid,
            "name": record.name,
            "slug": record.slug,
            "description": record.description,
            "scene_id": record.scene_id,
            "scene_url": record.scene_url,
            "entry_mode": record.entry_mode,
            "room_size": record.room_size,
            "member_permissions": bits_to_map(record.member_permissions),
            "public": record.public,
            "member_count": room_count,
            "lobby_count": lobby_count,
        }

    async def list_public(self, limit: int = 100) -> list[dict[str, Any]]:
        """At most C{limit} (0 to 1000) public rooms that are not closed, newest first."""
        records = await self._store.list_public_rooms(limit=limit)
        return [self.public(r, self.rooms.get(r.hub_sid)) for r in records]

    async def live(self, hub_sid: object) -> LiveRoom:
        """The live room, loaded from the store on first use (once)."""
        if isinstance(hub_sid, str):
            room = self.rooms.get(hub_sid)
            if room is not None:
                return room
            waiting = self._loading.get(hub_sid)
            if waiting is not None:
                d: Deferred[LiveRoom] = Deferred()
                waiting.append(d)
                return await d
        record = await self._record(hub_sid)
        sid = record.hub_sid
        self._loading[sid] = []
        try:
            pinned = await self._store.list_pinned(record.hub_id)
        except BaseException as e:
            for d in self._loading.pop(sid, []):
                d.errback(e)
            raise
        room = LiveRoom(record, self.settings, self.now, pinned)
        self.rooms[sid] = room
        for d in self._loading.pop(sid, []):
            d.callback(room)
        return room

    def _unload_if_empty(self, room: LiveRoom) -> None:
        if not room.members and self.rooms.get(room.hub_sid) is room:
            del self.rooms[room.hub_sid]
            for name, value in room.counters().items():
                self._unloaded[name] = self._unloaded.get(name, 0) + value

    def stats(self) -> dict[str, int]:
        """
        Node-wide figures for metrics: live rooms and members now, and what
        the room rules dropped since start (rooms no longer loaded included).
        """
        totals = dict(self._unloaded)
        members = held = 0
        for room in self.rooms.values():
            for name, value in room.counters().items():
                totals[name] = totals.get(name, 0) + value
            for m in room.members.values():
                members += 1
                held += m.connection is None
        totals.update(rooms_live=len(self.rooms), members=members, members_held=held)
        return totals

    def tell(self, room: LiveRoom, notices: list[Notice]) -> None:
        if notices:
            try:
                self.deliver(room, notices)
            except Exception:
                log.failure("delivering room notices failed")
        self._unload_if_empty(room)

    # -- membership -----------------------------------------------------------

    async def account_roles(self, record: Any, account_id: int | None) -> list[str]:
        """The roles the store gives C{account_id} in the room (none if anonymous)."""
        if account_id is None:
            return []
        roles = await self._store.roles_for_room(record.hub_id)
        return [r.role for r in roles if r.account_id == account_id]

    @staticmethod
    def is_creator_token(record: Any, token: object) -> bool:
        """Whether C{token} is the room's creator token (compared in constant time)."""
        return (
            isinstance(token, str)
            and bool(record.creator_token_hash)
            and hmac.compare_digest(hash_token(token), record.creator_token_hash)
        )

    def embed_token_for(self, hub_sid: str) -> str:
        """The room's embed token (only owners with embed_hub are given it)."""
        mac = hmac.new(self._invite_secret, b"embed:" + hub_sid.encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def invite_for(self, hub_sid: str) -> str:
        """The room's invite code: only owners are given it (L{invite})."""
        mac = hmac.new(self._invite_secret, b"invite:" + hub_sid.encode(), hashlib.sha256)
        return mac.hexdigest()[:24]

    async def invite(self, identity: Identity, hub_sid: object) -> dict[str, Any]:
        room = await self.live(hub_sid)
        member = room.member(identity.session_id)
        if not member.permissions.get("update_hub"):
            raise NotPermitted("update_hub")
        return {"invite": self.invite_for(room.hub_sid)}

    async def join(
        self,
        identity: Identity,
        connection: Any,
        hub_sid: object,
        invite: object = None,
        creator_token: object = None,
    ) -> dict[str, Any]:
        """
        Take a seat in a room (see L{LiveRoom.join}); the reply carries the
        member's identity, roles, rights and a fresh perms token.
        """
        room = await self.live(hub_sid)
        account_roles = await self.account_roles(room.record, identity.account_id)
        creator = self.is_creator_token(room.record, creator_token)
        invited = isinstance(invite, str) and hmac.compare_digest(
            invite, self.invite_for(room.hub_sid)
        )
        seated = room.members.get(identity.session_id)
        before = seated.connection if seated is not None else None
        try:
            result = room.join(
                identity.session_id,
                identity.account_id,
                account_roles,
                connection,
                invited=invited,
                creator=creator,
            )
        finally:
            self._unload_if_empty(room)
        self._cancel_hold(room.hub_sid, identity.session_id)
        if before is not None and before != connection:
            # The same member on a new connection (a second tab with its
            # token, or a reconnect before the old one was seen to drop):
            # the old connection stops receiving the room's events.
            gone = Notice("left", {"session_id": identity.session_id}, (), (before,))
            self.tell(room, [gone])
        m = result.member
        return {
            "room": self.public(room.record, room),
            "session_id": m.session_id,
            "session_token": self.tokens.issue_session(
                m.session_id, lifetime=int(self.settings.session_token_lifetime)
            ),
            "roles": m.roles.as_dict(),
            "permissions": dict(m.permissions),
            "perms_token": self._perms_token(room, m),
            "resumed": result.resumed,
        }

    def _perms_token(self, room: LiveRoom, m: Any) -> str:
        token: str = self.tokens.issue_perms(
            room.hub_sid,
            m.session_id,
            m.account_id,
            m.permissions,
            lifetime=int(self.settings.perms_token_lifetime),
        )
        return token

    async def enter(
        self,
        identity: Identity,
        hub_sid: object,
        profile: object,
        context: object = None,
        presence: object = "lobby",
    ) -> dict[str, Any]:
        """Appear in the room; returns the snapshot (presence, entities, pins)."""
        room = await self.live(hub_sid)
        room.member(identity.session_id)
        checked_profile = presence_rules.check_profile(profile, self.settings.max_profile_bytes)
        checked_context = presence_rules.check_context(context)
        snapshot, notices = room.enter(
            identity.session_id, checked_profile, checked_context, presence
        )
        self.tell(room, notices)
        return snapshot

    async def leave(self, identity: Identity, hub_sid: object) -> None:
        room = await self.live(hub_sid)
        room.member(identity.session_id)
        self._cancel_hold(room.hub_sid, identity.session_id)
        self.tell(room, room.leave(identity.session_id))

    def connection_lost(self, identity: Identity, connection: Any, clean: bool = False) -> None:
        """A connection is gone (C{clean}: the client said goodbye): hold or
        free its seats in every room."""
        for room in list(self.rooms.values()):
            if identity.session_id not in room.members:
                continue
            held, notices = room.connection_lost(identity.session_id, connection, clean)
            if held:
                key = (room.hub_sid, identity.session_id)
                self._cancel_hold(*key)
                self._holds[key] = self._clock.callLater(
                    self.settings.reconnect_grace, self._expire, room, identity.session_id
                )
            self.tell(room, notices)

    def _cancel_hold(self, hub_sid: str, session_id: str) -> None:
        call = self._holds.pop((hub_sid, session_id), None)
        if call is not None and call.active():
            call.cancel()

    def _expire(self, room: LiveRoom, session_id: str) -> None:
        self._holds.pop((room.hub_sid, session_id), None)
        self.tell(room, room.expire_hold(session_id))

    async def update_presence(
        self, identity: Identity, hub_sid: object, changes: Mapping[str, Any]
    ) -> None:
        room = await self.live(hub_sid)
        room.member(identity.session_id)
        checked = presence_rules.check_flags(changes, self.settings.max_profile_bytes)
        self.tell(room, room.update_presence(identity.session_id, checked))

    async def perms_token(self, identity: Identity, hub_sid: object) -> dict[str, Any]:
        room = await self.live(hub_sid)
        m = room.member(identity.session_id)
        return {"perms_token": self._perms_token(room, m)}

    # -- moderation -----------------------------------------------------------

    async def kick(
        self, identity: Identity, hub_sid: object, target: object, reason: object = ""
    ) -> None:
        room = await self.live(hub_sid)
        if not isinstance(reason, str) or len(reason) > 500:
            raise InvalidPayload("reason must be a string of at most 500 characters")
        self._cancel_hold(room.hub_sid, str(target))
        self.tell(room, room.kick(identity.session_id, target, reason))

    async def mute(self, identity: Identity, hub_sid: object, target: object) -> None:
        room = await self.live(hub_sid)
        self.tell(room, room.mute(identity.session_id, target))

    async def unmute(self, identity: Identity, hub_sid: object) -> None:
        room = await self.live(hub_sid)
        self.tell(room, room.unmute(identity.session_id))

    async def block(
        self, identity: Identity, hub_sid: object, target: object, blocked: bool
    ) -> None:
        room = await self.live(hub_sid)
        self.tell(room, room.block(identity.session_id, target, blocked))

    async def set_moderator(
        self, identity: Identity, hub_sid: object, target: object, moderator: bool
    ) -> None:
        room = await self.live(hub_sid)
        member = room.check_role_change(identity.session_id, target)
        if member.account_id is not None:
            hub_id = room.record.hub_id
            if moderator:
                await self._store.set_role(hub_id, member.account_id, "moderator")
            else:
                try:
                    await self._store.remove_role(hub_id, member.account_id, "moderator")
                except NotFound:
                    pass
        self.tell(room, room.set_moderator(member.session_id, moderator))

    # -- settings -------------------------------------------------------------

    async def update(self, identity: Identity, hub_sid: object, fields: Mapping[str, Any]) -> None:
        room = await self.live(hub_sid)
        values = dict(fields)
        room.check_update(identity.session_id, values)
        await self.apply_update(room, values, identity.session_id)

    async def apply_update(self, room: LiveRoom, values: dict[str, Any], actor: str | None) -> Any:
        """
        Store a settings change the room's rules allowed (L{LiveRoom.check_settings})
        and tell the members; C{actor}: the member who asked, None from outside.
        Returns the stored record.
        """
        try:
            self._check_values(values)
            record = await self._store.update_room(room.record.hub_id, **values)
        except InvalidValue as e:
            raise InvalidPayload(str(e)) from None
        finally:
            # An outside caller's room was loaded for this change only.
            self._unload_if_empty(room)
        self.tell(room, room.settings_changed(record, sorted(values), actor))
        return record

    async def close(self, identity: Identity, hub_sid: object) -> None:
        room = await self.live(hub_sid)
        room.check_close(identity.session_id)
        await self.apply_close(room)

    async def apply_close(self, room: LiveRoom) -> Any:
        """Close a room (its rules allowed it): stored first, then everyone leaves.
        Returns the stored record."""
        try:
            record = await self._store.update_room(room.record.hub_id, entry_mode="deny")
        finally:
            self._unload_if_empty(room)
        room.record = record
        for sid in list(room.members):
            self._cancel_hold(room.hub_sid, sid)
        self.tell(room, room.close())
        return record

    # -- pins -----------------------------------------------------------------

    async def pin(
        self,
        identity: Identity,
        hub_sid: object,
        object_id: object,
        gltf: object,
        file_id: object = None,
        promotion_token: object = None,
    ) -> None:
        """
        Pin an object. With C{file_id} and C{promotion_token}, the uploaded
        file it shows is promoted first (kept for good); a token that does
        not promote it refuses the pin.
        """
        room = await self.live(hub_sid)
        room.check_pin(identity.session_id, object_id, gltf)
        if file_id is not None and not (isinstance(file_id, str) and 0 < len(file_id) <= 128):
            raise InvalidPayload("file_id must be a string of 1 to 128 characters")
        assert isinstance(object_id, str) and isinstance(gltf, dict)
        if promotion_token is not None:
            if file_id is None:
                raise InvalidPayload("promotion_token needs a file_id")
            if self.files is None:
                raise InvalidPayload("this server stores no files")
            try:
                await self.files.promote(file_id, promotion_token, identity.account_id)
            except Refused:
                raise InvalidPayload(
                    "file_id: no such upload, or the promotion token does not match"
                ) from None
        try:
            pinned = await self._store.pin_object(
                room.record.hub_id,
                object_id,
                gltf,
                created_by=identity.account_id,
                file_id=file_id,
            )
        except InvalidValue as e:
            raise InvalidPayload(str(e)) from None
        except NotFound:
            pinned = await self._store.pin_object(
                room.record.hub_id, object_id, gltf, file_id=file_id
            )
        self.tell(room, room.pinned_added(pinned, identity.session_id))

    async def unpin(self, identity: Identity, hub_sid: object, object_id: object) -> None:
        room = await self.live(hub_sid)
        oid = room.check_unpin(identity.session_id, object_id)
        try:
            await self._store.unpin_object(room.record.hub_id, oid)
        except NotFound:
            pass  # already gone from the store: still remove it here
        self.tell(room, room.pinned_removed(oid, identity.session_id))
