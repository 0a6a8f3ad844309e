"""
Who holds the seats of a live room: joining, entering, presence, leaving,
and the reconnect hold; the room's entities and counters live here too.

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
    RoomClosed,
    RoomFull,
)
from hubsd.rooms.notice import Notice
from hubsd.rooms.permissions import Roles, permissions_for, roles_for
from hubsd.rooms.presence import Presence, is_empty
from hubsd.rooms.ratelimit import MemberLimiter
from hubsd.rooms.settings import RoomSettings


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


class Seats:
    """The state of one room on this node and who holds its seats (see module docstring)."""

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
        roles = roles_for(account_id, account_roles, creator)
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

    def connection_lost(
        self, session_id: str, connection: Any, clean: bool = False
    ) -> tuple[bool, list[Notice]]:
        """
        The member's connection ended. If it dropped (not C{clean}: the
        client did not say goodbye) and there is a reconnect grace, the seat
        is held (returns True: the caller schedules L{expire_hold});
        otherwise the member leaves at once.
        """
        m = self.members.get(session_id)
        if m is None or m.connection != connection:
            return False, []  # an older connection of a resumed member
        if not clean and self.settings.reconnect_grace > 0 and not self.closed:
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
