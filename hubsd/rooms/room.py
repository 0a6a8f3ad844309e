"""
One live room: its members and seats, moderation state, entities and pins.

Protocol-free and synchronous: every operation takes plain values, checks
the rules (through L{hubsd.rooms.permissions}), changes the room and returns
the L{Notice}s its members must be told. The caller (L{hubsd.rooms.directory})
does the storage writes first and delivers the notices afterwards, so a room
never waits and never half-applies an operation.

Members are keyed by their room session id (a string, stable across
reconnects). Each has a C{connection}: an opaque handle of whatever carries
it (for WAMP the router session id), or None while its seat is held for a
reconnect (part 8 of the room rules: the seat, presence and entities stay
for the grace period and the others see nothing).

Entering is two steps, as in Hubs (join, then "entered"): C{join} takes a
seat and decides the roles; the member subscribes to the room's topics and
then C{enter}s, which puts it into presence and returns the snapshot. Events
published after the subscriptions reach it, so nothing falls between the
snapshot and the first event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubsd.rooms.entities import EntityTable
from hubsd.rooms.errors import (
    InvalidPayload,
    JoinDenied,
    NoSuchMember,
    NotJoined,
    NotPermitted,
    RoomClosed,
    RoomFull,
)
from hubsd.rooms.permissions import Roles, permissions_for, require
from hubsd.rooms.presence import Presence, is_empty
from hubsd.rooms.ratelimit import MemberLimiter
from hubsd.rooms.settings import RoomSettings

#: The settings fields a room update may change, and what members are told.
SETTING_FIELDS = (
    "name",
    "description",
    "scene_url",
    "entry_mode",
    "member_permissions",
    "room_size",
    "public",
)


@dataclass(frozen=True)
class Notice:
    """
    Something members must be told: C{kind} names the room topic it goes to
    (``presence``, ``refresh``, ``closed``, ``pins``, ``kicked``, ``muted``,
    ``roles``, ``blocked``), C{to} the member session ids (None: everyone).
    Kind ``left`` is not published: it tells the transport that the
    connections in it no longer belong to the room (their subscriptions to
    its topics end).
    """

    kind: str
    payload: Mapping[str, Any]
    to: tuple[str, ...] | None = None
    #: The connections of C{to}, resolved when the notice was made (a kicked
    #: member is gone from the room by the time its notice is delivered).
    connections: tuple[Any, ...] = ()


@dataclass
class Member:
    """A seat in the room and who holds it."""

    session_id: str
    account_id: int | None
    roles: Roles
    permissions: dict[str, bool]
    connection: Any
    limiter: MemberLimiter
    invited: bool = False
    entered: bool = False
    held_until: float | None = None
    #: Session ids this member blocked.
    blocks: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class JoinResult:
    """What a joining member learns: its identity in the room and its rights."""

    member: Member
    resumed: bool


class LiveRoom:
    """The state of one room on this node (see module docstring)."""

    def __init__(
        self,
        record: Any,
        settings: RoomSettings,
        clock: Callable[[], float],
        pinned: Iterable[Any] = (),
    ) -> None:
        self.record = record
        self.settings = settings
        self.clock = clock
        self.members: dict[str, Member] = {}
        self.presence = Presence(max_profile_bytes=settings.max_profile_bytes)
        self.entities = EntityTable(max_entities=settings.max_entities)
        self.pinned: dict[str, Any] = {p.object_id: p for p in pinned}
        #: session id (and "account:<id>") -> time until which it may not rejoin.
        self.bans: dict[str, float] = {}
        #: Moderators by session id for members without an account.
        self.session_moderators: set[str] = set()
        self.closed = record.entry_mode == "deny"
        #: Counters for metrics and the benchmark.
        self.dropped_rate = 0
        self.kicks = 0
        #: (sender, entity states) the sender must be sent back: the server
        #: refused its claim of ownership (see L{hubsd.rooms.naf}).
        self.corrections: list[tuple[str, list[dict[str, Any]]]] = []
        #: Members far over the rate limit for long, to be removed (L{remove_flooder}).
        self.flooders: set[str] = set()
        #: How many (blocker, blocked) pairs exist: 0 keeps the relay's fast path.
        self.block_relations = 0

    def counters(self) -> dict[str, int]:
        """What this room's rules dropped or did, for metrics (only ever grow)."""
        out = self.entities.counters()
        out["dropped_rate"] = self.dropped_rate
        out["kicks"] = self.kicks
        return out

    # -- identity -------------------------------------------------------------

    @property
    def hub_sid(self) -> str:
        return str(self.record.hub_sid)

    def member(self, session_id: str) -> Member:
        """@raise NotJoined: unless C{session_id} holds a seat here."""
        m = self.members.get(session_id)
        if m is None:
            raise NotJoined(f"not a member of room {self.hub_sid}")
        return m

    def target(self, session_id: object) -> Member:
        """@raise NoSuchMember: unless C{session_id} names a member."""
        m = self.members.get(session_id) if isinstance(session_id, str) else None
        if m is None:
            raise NoSuchMember(f"no member {session_id!r} in room {self.hub_sid}")
        return m

    def connections(self, session_ids: Iterable[str] | None = None) -> list[Any]:
        """The live connections of C{session_ids} (None: of every member)."""
        ids = self.members if session_ids is None else session_ids
        out = []
        for sid in ids:
            m = self.members.get(sid)
            if m is not None and m.connection is not None:
                out.append(m.connection)
        return out

    def _to(self, kind: str, payload: dict[str, Any], *session_ids: str) -> Notice:
        return Notice(kind, payload, tuple(session_ids), tuple(self.connections(session_ids)))

    # -- join, enter, leave -----------------------------------------------------

    def _roles(self, account_id: int | None, account_roles: Iterable[str], creator: bool) -> Roles:
        held = set(account_roles)
        return Roles(
            owner="owner" in held or "creator" in held or creator,
            creator="creator" in held or creator,
            moderator="moderator" in held,
            signed_in=account_id is not None,
        )

    def _banned(self, session_id: str, account_id: int | None) -> bool:
        now = self.clock()
        for key in (session_id, f"account:{account_id}" if account_id is not None else None):
            if key is None:
                continue
            until = self.bans.get(key)
            if until is not None:
                if until > now:
                    return True
                del self.bans[key]
        return False

    def seats_taken(self) -> int:
        """Seats in use: connected members and held seats alike."""
        return len(self.members)

    def join(
        self,
        session_id: str,
        account_id: int | None,
        account_roles: Iterable[str],
        connection: Any,
        invited: bool = False,
        creator: bool = False,
    ) -> JoinResult:
        """
        Take a seat (or resume a held one). C{invited}: the member showed the
        room's invite; C{creator}: it showed the creator token.

        @raise RoomClosed, JoinDenied, RoomFull: as the room's rules say.
        """
        held = self.members.get(session_id)
        if held is not None:
            # A reconnect within the grace (or a second connection taking
            # over): same seat, presence and entities; nobody else is told.
            held.connection = connection
            held.held_until = None
            return JoinResult(held, resumed=True)
        roles = self._roles(account_id, account_roles, creator)
        if session_id in self.session_moderators:
            roles = Roles(roles.owner, roles.creator, True, roles.signed_in)
        owner = roles.owner or roles.creator
        if self.closed:
            raise RoomClosed(f"room {self.hub_sid} is closed")
        if self._banned(session_id, account_id):
            raise JoinDenied("you were removed from this room; try again later")
        if self.record.entry_mode == "invite" and not (invited or owner):
            raise JoinDenied("this room needs an invitation")
        if not owner and self.seats_taken() >= self.record.room_size:
            raise RoomFull(f"room full: all {self.record.room_size} seats are taken")
        s = self.settings
        member = Member(
            session_id=session_id,
            account_id=account_id,
            roles=roles,
            permissions=permissions_for(
                roles, self.record.member_permissions, self.record.entry_mode
            ),
            connection=connection,
            limiter=MemberLimiter(
                s.rate_messages, s.rate_bytes, s.rate_burst, s.rate_kick_after, self.clock
            ),
            invited=invited,
        )
        self.members[session_id] = member
        return JoinResult(member, resumed=False)

    def enter(
        self, session_id: str, profile: object, context: object, presence: object = "lobby"
    ) -> tuple[dict[str, Any], list[Notice]]:
        """
        Appear in presence (once; a resumed member only gets the snapshot).

        @return: (snapshot, notices): the snapshot holds the presence state,
            every entity's latest full state and the pinned objects.
        @raise NotJoined, InvalidPayload.
        """
        m = self.member(session_id)
        notices: list[Notice] = []
        if not m.entered:
            if presence not in ("lobby", "room"):
                raise InvalidPayload("presence must be 'lobby' or 'room'")
            meta = {
                "presence": presence,
                "profile": profile,
                "context": context,
                "roles": m.roles,
                "permissions": m.permissions,
            }
            diff = self.presence.join(session_id, meta)
            m.entered = True
            notices.append(Notice("presence", diff))
        return self.snapshot(), notices

    def snapshot(self) -> dict[str, Any]:
        """Presence state, entities and pins: everything a late joiner needs, once."""
        return {
            "presence": self.presence.state(),
            "entities": self.entities.snapshot(),
            "pinned": [
                {"object_id": p.object_id, "gltf": dict(p.gltf), "file_id": p.file_id}
                for p in self.pinned.values()
            ],
        }

    def leave(self, session_id: str) -> list[Notice]:
        """The member leaves for good: seat, presence and its entities go."""
        m = self.members.pop(session_id, None)
        if m is None:
            return []
        notices: list[Notice] = []
        if m.entered and self.presence.get(session_id) is not None:
            notices.append(Notice("presence", self.presence.leave(session_id)))
        self.entities.member_left(session_id)
        self.block_relations -= len(m.blocks)
        for other in self.members.values():
            if session_id in other.blocks:
                other.blocks.discard(session_id)
                self.block_relations -= 1
        if m.connection is not None:
            notices.append(
                Notice("left", {"session_id": session_id}, (session_id,), (m.connection,))
            )
        return notices

    def connection_lost(self, session_id: str, connection: Any) -> tuple[bool, list[Notice]]:
        """
        The member's connection dropped. With a reconnect grace the seat is
        held (returns True: the caller schedules L{expire_hold}); otherwise
        the member leaves.
        """
        m = self.members.get(session_id)
        if m is None or m.connection != connection:
            return False, []  # an older connection of a resumed member
        if self.settings.reconnect_grace > 0 and not self.closed:
            m.connection = None
            m.held_until = self.clock() + self.settings.reconnect_grace
            return True, []
        return False, self.leave(session_id)

    def expire_hold(self, session_id: str) -> list[Notice]:
        """The grace of a held seat is over: the member leaves unless it came back."""
        m = self.members.get(session_id)
        if m is None or m.connection is not None or m.held_until is None:
            return []
        if m.held_until > self.clock():
            return []
        return self.leave(session_id)

    # -- presence -------------------------------------------------------------

    def update_presence(self, session_id: str, changes: Mapping[str, Any]) -> list[Notice]:
        """A member changes its own meta (validated by L{Presence})."""
        m = self.member(session_id)
        if not m.entered:
            raise NotJoined("enter the room before changing presence")
        return [Notice("presence", self.presence.update(session_id, **dict(changes)))]

    def _refresh_rights(self, m: Member) -> list[Notice]:
        m.permissions = permissions_for(
            m.roles, self.record.member_permissions, self.record.entry_mode
        )
        if not m.entered:
            return []
        diff = self.presence.set_roles(m.session_id, m.roles, m.permissions)
        return [] if is_empty(diff) else [Notice("presence", diff)]

    # -- moderation -----------------------------------------------------------

    def _check_over(self, actor: Member, target: Member, permission: str) -> None:
        require(actor.permissions, permission)
        if target.session_id == actor.session_id:
            raise InvalidPayload("session_id: you cannot do that to yourself")
        t = target.roles
        if (t.owner or t.creator) and not (actor.roles.owner or actor.roles.creator):
            raise NotPermitted(permission, f"not permitted: {permission} on an owner")

    def kick(self, actor_id: str, target_id: object, reason: str = "") -> list[Notice]:
        """
        Remove a member (kick_users): it is told why, leaves, and may not
        rejoin with the same session (or account) for C{kick_duration}.
        """
        actor = self.member(actor_id)
        target = self.target(target_id)
        self._check_over(actor, target, "kick_users")
        until = self.clock() + self.settings.kick_duration
        self.kicks += 1
        self.bans[target.session_id] = until
        if target.account_id is not None:
            self.bans[f"account:{target.account_id}"] = until
        told = self._to(
            "kicked",
            {"session_id": target.session_id, "by": actor_id, "reason": reason},
            target.session_id,
        )
        return [told, *self.leave(target.session_id)]

    def remove_flooder(self, session_id: str) -> list[Notice]:
        """The server kicks a member that kept sending far over the rate limit."""
        self.flooders.discard(session_id)
        m = self.members.get(session_id)
        if m is None:
            return []
        until = self.clock() + self.settings.kick_duration
        self.kicks += 1
        self.bans[session_id] = until
        payload = {"session_id": session_id, "by": None, "reason": "sending too fast"}
        return [self._to("kicked", payload, session_id), *self.leave(session_id)]

    def mute(self, actor_id: str, target_id: object) -> list[Notice]:
        """Ask a member to turn its microphone off (mute_users)."""
        actor = self.member(actor_id)
        target = self.target(target_id)
        self._check_over(actor, target, "mute_users")
        notices = [
            self._to("muted", {"session_id": target.session_id, "by": actor_id}, target.session_id)
        ]
        if target.entered:
            # The SFU reads this flag to stop forwarding the member's audio.
            diff = self.presence.set_muted(target.session_id, True)
            if not is_empty(diff):
                notices.append(Notice("presence", diff))
        return notices

    def unmute(self, session_id: str) -> list[Notice]:
        """A muted member turns its microphone back on (only it may)."""
        m = self.member(session_id)
        if not m.entered:
            return []
        diff = self.presence.set_muted(session_id, False)
        return [] if is_empty(diff) else [Notice("presence", diff)]

    def block(self, actor_id: str, target_id: object, blocked: bool = True) -> list[Notice]:
        """
        C{actor} blocks (or unblocks) C{target}: from now on neither receives
        the other's room messages. Anyone may block anyone but itself.
        """
        actor = self.member(actor_id)
        target = self.target(target_id)
        if target.session_id == actor.session_id:
            raise InvalidPayload("session_id: you cannot block yourself")
        had = target.session_id in actor.blocks
        if blocked and not had:
            actor.blocks.add(target.session_id)
            self.block_relations += 1
        elif not blocked and had:
            actor.blocks.discard(target.session_id)
            self.block_relations -= 1
        return [
            self._to("blocked", {"session_id": actor_id, "blocked": blocked}, target.session_id)
        ]

    def blocked_with(self, session_id: str) -> list[str]:
        """Session ids in a block relation with C{session_id}, either way."""
        m = self.members.get(session_id)
        out = set(m.blocks) if m is not None else set()
        for other in self.members.values():
            if session_id in other.blocks:
                out.add(other.session_id)
        return sorted(out)

    def check_role_change(self, actor_id: str, target_id: object) -> Member:
        """@raise NotPermitted: unless the actor may promote/demote (update_roles)."""
        actor = self.member(actor_id)
        target = self.target(target_id)
        require(actor.permissions, "update_roles")
        if target.session_id == actor.session_id:
            raise InvalidPayload("session_id: you cannot change your own roles")
        return target

    def set_moderator(self, target_id: str, moderator: bool) -> list[Notice]:
        """Make a member a moderator or not (after L{check_role_change})."""
        target = self.target(target_id)
        if moderator:
            self.session_moderators.add(target.session_id)
        else:
            self.session_moderators.discard(target.session_id)
        r = target.roles
        target.roles = Roles(r.owner, r.creator, moderator, r.signed_in)
        told = self._to(
            "roles",
            {"session_id": target.session_id, "roles": target.roles.as_dict()},
            target.session_id,
        )
        return [*self._refresh_rights(target), told]

    # -- settings -------------------------------------------------------------

    def check_update(self, actor_id: str, fields: Mapping[str, Any]) -> None:
        """@raise NotPermitted, InvalidPayload: before the store is asked."""
        actor = self.member(actor_id)
        require(actor.permissions, "update_hub")
        unknown = set(fields) - set(SETTING_FIELDS)
        if unknown:
            raise InvalidPayload(f"unknown room setting(s): {', '.join(sorted(unknown))}")
        if not fields:
            raise InvalidPayload("nothing to update")
        size = fields.get("room_size")
        if size is not None and (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not 1 <= size <= self.settings.max_room_size
        ):
            raise InvalidPayload(f"room_size must be 1 to {self.settings.max_room_size}")

    def settings_changed(
        self, record: Any, stale: Iterable[str], actor_id: str | None
    ) -> list[Notice]:
        """
        The stored room changed: members are told which fields are stale,
        rights are recomputed, and members no longer allowed in are evicted
        (a change to ``invite`` evicts who came without an invite; ``deny``
        closes the room).
        """
        self.record = record
        stale = list(stale)
        notices = [Notice("refresh", {"stale_fields": stale, "session_id": actor_id})]
        if record.entry_mode == "deny":
            return notices + self.close()
        if "member_permissions" in stale or "entry_mode" in stale:
            for m in list(self.members.values()):
                notices += self._refresh_rights(m)
        if record.entry_mode == "invite":
            for m in list(self.members.values()):
                if not (m.invited or m.roles.owner or m.roles.creator):
                    payload = {
                        "session_id": m.session_id,
                        "by": actor_id,
                        "reason": "invitation required",
                    }
                    notices.append(self._to("kicked", payload, m.session_id))
                    notices += self.leave(m.session_id)
        return notices

    def check_close(self, actor_id: str) -> None:
        """@raise NotPermitted: unless the actor may close the room."""
        require(self.member(actor_id).permissions, "close_hub")

    def close(self) -> list[Notice]:
        """Close the room: everyone is told and leaves; nobody may enter."""
        self.closed = True
        notices = [Notice("closed", {"hub_sid": self.hub_sid})]
        for sid in list(self.members):
            notices += self.leave(sid)
        return notices

    # -- pins -----------------------------------------------------------------

    def check_pin(self, actor_id: str, object_id: object, gltf: object) -> None:
        """@raise NotPermitted, InvalidPayload: before the store is asked."""
        require(self.member(actor_id).permissions, "pin_objects")
        if not isinstance(object_id, str) or not 0 < len(object_id) <= 128:
            raise InvalidPayload("object_id must be a string of 1 to 128 characters")
        if not isinstance(gltf, dict):
            raise InvalidPayload("gltf must be an object")
        if object_id not in self.pinned and len(self.pinned) >= self.settings.max_pinned:
            raise InvalidPayload(f"this room already has {self.settings.max_pinned} pinned objects")

    def pinned_added(self, pinned: Any, by: str) -> list[Notice]:
        self.pinned[pinned.object_id] = pinned
        payload = {
            "object_id": pinned.object_id,
            "gltf": dict(pinned.gltf),
            "file_id": pinned.file_id,
            "pinned_by": by,
        }
        return [Notice("pins", {"pinned": payload})]

    def check_unpin(self, actor_id: str, object_id: object) -> str:
        require(self.member(actor_id).permissions, "pin_objects")
        if not isinstance(object_id, str) or object_id not in self.pinned:
            raise InvalidPayload(f"object_id: no pinned object {object_id!r}")
        return object_id

    def pinned_removed(self, object_id: str, by: str) -> list[Notice]:
        self.pinned.pop(object_id, None)
        return [Notice("pins", {"unpinned": {"object_id": object_id, "unpinned_by": by}})]
