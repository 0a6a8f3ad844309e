"""
The SFU's signalling and room rules, free of any transport.

L{Signalling} is what the WAMP procedures ``hubsd.sfu.*`` and the Phoenix
hub channel's ``sfu:*`` events call (one table of them for both,
L{hubsd.sfu.operations}): plain arguments in (who: an
L{Identity} and the opaque connection it came on), plain dicts out, refusals
as L{SfuError}. It decides, from the room core's state, who may join a
room's media (a seated member with a valid perms token), publish (the
``voice_chat`` right, a free publisher slot), subscribe to whom; it follows
the room core's notices (``on_room_notices``, installed as an observer of
the L{RoomDirectory}) so that a kick, a leave, a block or a moderator's
mute acts on the media at once; and it tells the media plane
(L{hubsd.interfaces.ISFU}) what to do with each handle. Events for clients
go out through C{emit(hub_sid, payload, connections)}, a callable the
transport side passes in; the member's presence ``streaming`` flag is set
through C{set_streaming(hub_sid, session_id, streaming)}, a callable the
room core passes in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from twisted.logger import Logger

from hubsd.rooms.errors import InvalidToken
from hubsd.sfu.errors import SfuError
from hubsd.sfu.state import Handle, Member, SfuSettings

log = Logger(namespace="hubsd.sfu")

CODECS = {"audio": "opus/48000/2", "video": "VP8/90000"}

Emit = Callable[[str, dict[str, Any], list[Any]], None]
SetStreaming = Callable[[str, str, bool], None]


class Signalling:
    """See module docstring."""

    def __init__(
        self,
        sfu: Any,
        directory: Any,
        tokens: Any,
        settings: SfuSettings,
        emit: Emit,
        set_streaming: SetStreaming,
    ) -> None:
        self.sfu = sfu
        self.directory = directory
        self.tokens = tokens
        self.settings = settings
        self.emit = emit
        self.set_streaming = set_streaming
        #: hub_sid -> session_id -> Member; handle id -> Handle.
        self.rooms: dict[str, dict[str, Member]] = {}
        self.handles: dict[str, Handle] = {}
        #: Told (connection, hub_sid) when a member's media membership ends.
        self.on_member_gone: Callable[[Any, str], None] = lambda connection, hub_sid: None
        sfu.set_listener(self.on_media_event)

    # -- checks -----------------------------------------------------------------

    def _seat(self, identity: Any, connection: Any, hub_sid: object) -> Any:
        """The live room where this connection holds the member's seat."""
        room = self.directory.rooms.get(hub_sid) if isinstance(hub_sid, str) else None
        seat = room.members.get(identity.session_id) if room is not None else None
        if seat is None or seat.connection != connection:
            raise SfuError("not_joined", "take a seat in the room first (hubsd.room.join)")
        return room

    def _member(self, identity: Any, connection: Any, hub_sid: object) -> tuple[Any, Member]:
        room = self._seat(identity, connection, hub_sid)
        m = self.rooms.get(room.hub_sid, {}).get(identity.session_id)
        if m is None or m.connection != connection:
            raise SfuError("not_joined", "join the room's media first (hubsd.sfu.join)")
        return room, m

    def _own(self, identity: Any, connection: Any, handle_id: object) -> Handle:
        h = self.handles.get(handle_id) if isinstance(handle_id, str) else None
        m = self.rooms.get(h.hub_sid, {}).get(h.session_id) if h is not None else None
        if h is None or m is None or h.session_id != identity.session_id:
            raise SfuError("no_such_handle", "no such handle")
        if m.connection != connection:
            raise SfuError("no_such_handle", "no such handle")
        return h

    @staticmethod
    def _blocked(room: Any, a: str, b: str) -> bool:
        ma, mb = room.members.get(a), room.members.get(b)
        return bool((ma is not None and b in ma.blocks) or (mb is not None and a in mb.blocks))

    @staticmethod
    def _muted(room: Any, session_id: str) -> bool:
        meta = room.presence.get(session_id)
        return bool(meta is not None and meta.get("muted"))

    def _concerned(self, room: Any, about: str) -> list[Any]:
        """Connections of the room's media members told about ``about``'s publishing."""
        members = self.rooms.get(room.hub_sid, {})
        return [
            m.connection
            for sid, m in members.items()
            if sid != about and not self._blocked(room, sid, about)
        ]

    # -- procedures -------------------------------------------------------------

    def join(self, identity: Any, connection: Any, hub_sid: object, perms_token: object) -> Any:
        """Join the room's media with the perms token of this member and room."""
        room = self._seat(identity, connection, hub_sid)
        try:
            claims = self.tokens.verify_perms(perms_token, room.hub_sid)
        except InvalidToken as e:
            raise SfuError("invalid_token", str(e)) from None
        if claims["session_id"] != identity.session_id:
            raise SfuError("invalid_token", "invalid perms token: issued for another member")
        if not claims["join_hub"]:
            raise SfuError("not_permitted", "not permitted: join_hub")
        members = self.rooms.setdefault(room.hub_sid, {})
        old = members.get(identity.session_id)
        if old is not None and old.connection != connection:
            self._remove(old, "replaced")
        if old is None or old.connection != connection:
            members[identity.session_id] = Member(identity.session_id, connection, room.hub_sid)
        publishers = [
            {"session_id": sid, "kinds": list(self.handles[m.publisher].kinds)}
            for sid, m in members.items()
            if sid != identity.session_id
            and m.publisher is not None
            and self.handles[m.publisher].connected
            and not self._blocked(room, sid, identity.session_id)
        ]
        return {
            "publishers": publishers,
            "max_publishers": self.settings.max_publishers,
            "codecs": dict(CODECS),
        }

    def _reserve(self, m: Member, handle: Handle, replacing: str | None) -> None:
        if len(m.handles - {replacing}) >= self.settings.max_handles:
            raise SfuError(
                "too_many_handles", f"at most {self.settings.max_handles} handles per member"
            )
        self.handles[handle.id] = handle
        m.handles.add(handle.id)

    async def publish(
        self, identity: Any, connection: Any, hub_sid: object, sdp: object
    ) -> dict[str, Any]:
        """Answer the member's offer on a new publisher handle (replacing an older one)."""
        room, m = self._member(identity, connection, hub_sid)
        seat = room.members[identity.session_id]
        if not seat.permissions.get("voice_chat"):
            raise SfuError("not_permitted", "not permitted: voice_chat")
        # Publishers being answered count too, so that concurrent offers cannot
        # overfill the room.
        others = {
            h.session_id
            for h in self.handles.values()
            if h.kind == "publisher" and h.hub_sid == room.hub_sid
        } - {m.session_id}
        if len(others) >= self.settings.max_publishers:
            raise SfuError(
                "room_full",
                f"room full: all {self.settings.max_publishers} publisher slots are taken",
            )
        handle = Handle(_new_id(), room.hub_sid, m.session_id, "publisher")
        handle.muted = self._muted(room, m.session_id)
        old = m.publisher
        self._reserve(m, handle, old)
        result = await self._set_up(
            handle, self.sfu.publish(handle.id, room.hub_sid, sdp, handle.muted)
        )
        handle.kinds = tuple(result["kinds"])
        # Whichever publisher the member has now (another publish may have
        # finished meanwhile) is replaced by this one.
        if m.publisher is not None:
            self._end(m.publisher, "replaced")
        m.publisher = handle.id
        return {"handle_id": handle.id, "sdp": result["sdp"]}

    async def _set_up(self, handle: Handle, request: Any) -> Any:
        """The media plane's reply for a reserved handle, or its refusal."""
        try:
            result = await request
        except SfuError:
            self._forget(handle)
            raise
        if self.handles.get(handle.id) is not handle:
            # Ended while the media plane made its SDP (the member left, was
            # removed, replaced it...): free it there too.
            self.sfu.close(handle.id)
            raise _ended_meanwhile(handle)
        return result

    async def subscribe(
        self, identity: Any, connection: Any, hub_sid: object, session_id: object
    ) -> dict[str, Any]:
        """An offer for a new subscriber handle carrying ``session_id``'s media."""
        room, m = self._member(identity, connection, hub_sid)
        target = self.rooms[room.hub_sid].get(session_id) if isinstance(session_id, str) else None
        if target is None or target is m or target.publisher is None:
            raise SfuError("no_such_publisher", "that member does not publish in this room")
        existing = next(
            (
                h.id
                for h in map(self.handles.__getitem__, m.handles)
                if h.kind == "subscriber" and h.publisher == target.session_id
            ),
            None,
        )
        handle = Handle(
            _new_id(),
            room.hub_sid,
            m.session_id,
            "subscriber",
            publisher=target.session_id,
            publisher_handle=target.publisher,
        )
        self._reserve(m, handle, existing)
        if existing is not None:
            self._end(existing, "replaced")
        blocked = self._blocked(room, m.session_id, target.session_id)
        result = await self._set_up(
            handle, self.sfu.subscribe(handle.id, target.publisher, blocked)
        )
        return {"handle_id": handle.id, "sdp": result["sdp"]}

    async def answer(self, identity: Any, connection: Any, handle_id: object, sdp: object) -> None:
        h = self._own(identity, connection, handle_id)
        await self.sfu.answer(h.id, sdp)

    async def trickle(
        self, identity: Any, connection: Any, handle_id: object, candidate: object = None
    ) -> None:
        h = self._own(identity, connection, handle_id)
        await self.sfu.add_candidate(h.id, candidate)

    def close(self, identity: Any, connection: Any, handle_id: object) -> None:
        h = self._own(identity, connection, handle_id)
        self._end(h.id, None)

    def leave(self, identity: Any, connection: Any, hub_sid: object) -> None:
        _, m = self._member(identity, connection, hub_sid)
        self._remove(m, None)

    # -- ending -----------------------------------------------------------------

    def _forget(self, handle: Handle) -> None:
        if self.handles.get(handle.id) is handle:
            del self.handles[handle.id]
        m = self.rooms.get(handle.hub_sid, {}).get(handle.session_id)
        if m is not None:
            m.handles.discard(handle.id)

    def _end(self, handle_id: str, reason: str | None) -> None:
        """End a handle; ``reason``: the server ended it, and its owner is told why."""
        h = self.handles.pop(handle_id, None)
        if h is None:
            return
        h.ended = reason or "closed"
        m = self.rooms.get(h.hub_sid, {}).get(h.session_id)
        if m is not None:
            m.handles.discard(handle_id)
            if reason is not None:
                payload = {"event": "closed", "handle_id": handle_id, "reason": reason}
                self.emit(h.hub_sid, payload, [m.connection])
        if h.kind == "publisher":
            if m is not None and m.publisher == handle_id:
                m.publisher = None
            # A worker's death ends both sides for the same reason.
            why = reason if reason == "worker_restarted" else "publisher_gone"
            for sub in [s.id for s in self.handles.values() if s.publisher_handle == handle_id]:
                self._end(sub, why)
            if h.connected:
                self.set_streaming(h.hub_sid, h.session_id, False)
                room = self.directory.rooms.get(h.hub_sid)
                if room is not None:
                    event = {
                        "event": "unpublished",
                        "session_id": h.session_id,
                        "reason": reason or "closed",
                    }
                    self.emit(h.hub_sid, event, self._concerned(room, h.session_id))
        d = self.sfu.close(handle_id)
        d.addErrback(lambda f: log.failure("closing an SFU handle failed", f))

    def _remove(self, m: Member, reason: str | None) -> None:
        """The member's media membership of its room ends, with all its handles."""
        members = self.rooms.get(m.hub_sid, {})
        if members.get(m.session_id) is not m:
            return
        if m.publisher is not None:
            self._end(m.publisher, reason)
        for handle_id in list(m.handles):
            self._end(handle_id, reason)
        del members[m.session_id]
        if not members:
            del self.rooms[m.hub_sid]
        self.on_member_gone(m.connection, m.hub_sid)

    def connection_lost(self, connection: Any) -> None:
        """A transport connection is gone: its media goes with it."""
        for members in list(self.rooms.values()):
            for m in list(members.values()):
                if m.connection == connection:
                    self._remove(m, "left")

    def end_all(self) -> None:
        """Every member's media ends (the binding is stopping)."""
        for members in list(self.rooms.values()):
            for m in list(members.values()):
                self._remove(m, None)

    # -- what the media plane and the room core say -------------------------------

    def on_media_event(self, handle_id: str, event: str, reason: str | None) -> None:
        h = self.handles.get(handle_id)
        if h is None:
            return
        m = self.rooms.get(h.hub_sid, {}).get(h.session_id)
        if event == "closed":
            self._end(handle_id, reason or "failed")
        elif event == "connected" and not h.connected and m is not None:
            h.connected = True
            self.emit(h.hub_sid, {"event": "connected", "handle_id": h.id}, [m.connection])
            room = self.directory.rooms.get(h.hub_sid)
            if h.kind == "publisher" and m.publisher == h.id and room is not None:
                self.set_streaming(h.hub_sid, h.session_id, True)
                event_ = {"event": "publisher", "session_id": h.session_id, "kinds": list(h.kinds)}
                self.emit(h.hub_sid, event_, self._concerned(room, h.session_id))

    def on_room_notices(self, room: Any, notices: Iterable[Any]) -> None:
        """The room core's notices: kicks, leaves, blocks and mutes act on media now."""
        members = self.rooms.get(room.hub_sid)
        if not members:
            return
        notices = list(notices)
        kicked = {n.payload.get("session_id") for n in notices if n.kind == "kicked"}
        mutes = False
        for n in notices:
            if n.kind == "left":
                m = members.get(n.payload.get("session_id"))
                if m is not None and m.connection in n.connections:
                    self._remove(m, "kicked" if m.session_id in kicked else "left")
            elif n.kind == "blocked" and n.to:
                self._apply_block(room, n.payload.get("session_id"), n.to[0])
            elif n.kind in ("presence", "muted"):
                mutes = True
        if mutes:
            self._apply_presence(room)

    def _apply_block(self, room: Any, a: object, b: str) -> None:
        blocked = self._blocked(room, str(a), b)
        for h in list(self.handles.values()):
            if h.hub_sid == room.hub_sid and h.kind == "subscriber":
                if (h.session_id, h.publisher) in ((a, b), (b, a)):
                    d = self.sfu.set_blocked(h.id, blocked)
                    d.addErrback(lambda f: None)  # a handle that just ended

    def _apply_presence(self, room: Any) -> None:
        """Mutes, and rights taken away (a member without voice_chat stops publishing)."""
        for m in list(self.rooms.get(room.hub_sid, {}).values()):
            h = self.handles.get(m.publisher) if m.publisher is not None else None
            if h is None:
                continue
            seat = room.members.get(m.session_id)
            if seat is not None and not seat.permissions.get("voice_chat"):
                self._end(h.id, "not_permitted")
                continue
            muted = self._muted(room, m.session_id)
            if muted != h.muted:
                h.muted = muted
                self.sfu.set_muted(h.id, muted).addErrback(lambda f: None)


def _ended_meanwhile(handle: Handle) -> SfuError:
    """Why a handle being set up is refused: it was ended while its SDP was made."""
    if handle.ended == "replaced":
        return SfuError("bad_request", "replaced by a newer one before it was set up")
    if handle.ended == "publisher_gone":
        return SfuError("no_such_publisher", "that member stopped publishing")
    if handle.ended in ("failed", "ice_timeout", "worker_restarted"):
        return SfuError("media_unavailable", f"the media worker ended it ({handle.ended})")
    return SfuError("not_joined", "you left the room's media")


def _new_id() -> str:
    return secrets.token_urlsafe(12)
