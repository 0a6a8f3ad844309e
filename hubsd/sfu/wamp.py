"""
The SFU's signalling over WAMP: ``hubsd.sfu.*`` procedures and events.

L{WampSfu} binds L{hubsd.sfu.signalling.Signalling} (its operations, as
L{hubsd.sfu.operations} lists them) to the room realm with the router's
public seams, the way L{hubsd.rooms.procedures.WampRooms} binds
the room core: the room core's in-process trusted session registers the
procedures and publishes events (each to the sessions concerned only, with ``eligible``), a
gate for ``hubsd.sfu.`` decides who may call and subscribe, and a session
observer ends a dropped session's media at once. The member's identity is
the room core's (``WampRooms.identities``). The Phoenix gateway offers the
same operations and gets the same events: its sockets are router sessions
that subscribe to the events topic (L{hubsd.phoenix.media}). API: docs/sfu.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred

from hubsd.rooms.errors import RoomError
from hubsd.sfu.errors import SfuError
from hubsd.sfu.operations import Operations, events_room, events_topic
from hubsd.sfu.signalling import Signalling
from hubsd.sfu.state import SfuSettings
from hubsd.wamp import errors
from hubsd.wamp.errors import WampError
from hubsd.wamp.local import register_procedures

PREFIX = "hubsd.sfu."


class WampSfu:
    """See module docstring."""

    def __init__(self, router: Any, rooms: Any, sfu: Any, settings: SfuSettings) -> None:
        self.router = router
        self.rooms = rooms
        self.realm = rooms.realm
        self.session: Any = None
        directory = rooms.directory
        self.signalling = Signalling(
            sfu, directory, rooms.tokens, settings, self.emit, directory.set_streaming
        )
        self.signalling.on_member_gone = self._member_gone
        #: The operations the procedures are; the Phoenix gateway offers them too.
        self.operations = Operations(self.signalling)
        self.procedures: dict[str, Callable[..., Any]] = {}

    async def start(self) -> None:
        # The room core's trusted session registers and publishes for the
        # SFU too: one in-process session per realm.
        self.session = self.rooms.session
        table = self.operations.table
        await register_procedures(self.session, PREFIX, table, self._endpoint, self.procedures)
        self.router.add_gate(PREFIX, self.gate)
        self.router.add_session_observer(None, self.on_session_leave)
        self.rooms.directory.observers.append(self.signalling.on_room_notices)

    def stop(self) -> None:
        observers = self.rooms.directory.observers
        if self.signalling.on_room_notices in observers:
            observers.remove(self.signalling.on_room_notices)
        self.signalling.end_all()

    def _endpoint(self, uri: str, fn: Callable[..., Any]) -> Callable[..., Deferred[Any]]:
        name = uri[len(PREFIX) :]

        async def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            details = kwargs.pop("_details")
            identity = self.rooms.identities.get(details.caller) if details.caller else None
            if identity is None:
                raise WampError(errors.NOT_AUTHORIZED, "unknown caller")
            try:
                return await self.operations.call(
                    name, identity, details.caller, args, kwargs, label=uri
                )
            except SfuError as e:
                raise WampError(e.uri, str(e)) from None
            except RoomError as e:
                raise WampError(e.uri, str(e)) from None

        def endpoint(*args: Any, **kwargs: Any) -> Deferred[Any]:
            return ensureDeferred(call(args, kwargs))

        return endpoint

    def gate(self, details: dict[str, Any], action: str, uri: str, options: dict[str, Any]) -> bool:
        """Procedures for all (each checks its caller); a room's events for its seated members."""
        if action == "call":
            return uri in self.procedures
        if action != "subscribe" or options.get("match", "exact") != "exact":
            return False
        hub_sid = events_room(uri)
        if hub_sid is None:
            return False
        room = self.rooms.directory.rooms.get(hub_sid)
        identity = self.rooms.identities.get(details["session"])
        seat = room.members.get(identity.session_id) if room and identity else None
        return seat is not None and seat.connection == details["session"]

    def emit(self, hub_sid: str, payload: dict[str, Any], connections: list[Any]) -> None:
        if not connections or self.session is None or not self.session.joined:
            return
        self.session.publish(
            events_topic(hub_sid), kwargs=payload, eligible=list(connections), exclude_me=False
        )

    def _member_gone(self, connection: Any, hub_sid: str) -> None:
        # Its media ended; it keeps hearing the room's SFU events only while
        # seated (a member that left the room stops at once).
        room = self.rooms.directory.rooms.get(hub_sid)
        identity = self.rooms.identities.get(connection)
        seat = room.members.get(identity.session_id) if room and identity else None
        if seat is None or seat.connection != connection:
            self.router.unsubscribe_prefix(self.realm, connection, f"{PREFIX}{hub_sid}.")

    def on_session_leave(self, details: dict[str, Any]) -> None:
        if details.get("realm") in (None, self.realm):
            self.signalling.connection_lost(details["session"])
