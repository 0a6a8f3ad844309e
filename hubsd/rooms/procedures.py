"""
The room core over WAMP: procedures, the room gate and the publish hooks.

L{WampRooms} is the one place where the room core meets the router, and it
uses only the router's public seams: an in-process trusted session
(procedures, notices), a gate for the ``hubsd.`` URIs (who may subscribe,
publish or call, decided by L{hubsd.rooms.permissions}), publish hooks on
the members' room topics (L{hubsd.rooms.relay} applies the rules), session
observers (a dropped connection holds the member's seat at once) and the
``ticket`` authenticator (session and account tokens).

Every procedure takes keyword arguments (``hub_sid`` may also be given
positionally) and maps room errors to their URIs here, once; the API is
documented in docs/wamp-api.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import Logger

from hubsd.rooms import relay
from hubsd.rooms.directory import Identity, RoomDirectory
from hubsd.rooms.errors import InvalidPayload, InvalidToken, RoomError
from hubsd.rooms.naf import correction_envelope
from hubsd.rooms.permissions import may_use_topic
from hubsd.rooms.room import LiveRoom, Notice
from hubsd.wamp import errors
from hubsd.wamp.auth import Authenticated
from hubsd.wamp.errors import WampError
from hubsd.wamp.local import register_procedures

log = Logger()

PREFIX = "hubsd."
ROOM_TOPIC = "hubsd.room."
#: The authrole of sessions that authenticated with a hubsd token.
MEMBER_ROLE = "member"


@dataclass(frozen=True)
class Caller:
    """Who called: the room identity and the router session (its connection)."""

    identity: Identity
    connection: int


def _room_error(e: RoomError) -> WampError:
    return WampError(e.uri, str(e))


def parse_room_topic(uri: str) -> tuple[str, str] | None:
    """C{hubsd.room.<sid>.<kind>} -> (sid, kind); None for anything else."""
    if not uri.startswith(ROOM_TOPIC):
        return None
    rest = uri[len(ROOM_TOPIC) :].split(".")
    if len(rest) != 2 or not rest[0] or not rest[1]:
        return None
    return rest[0], rest[1]


class WampRooms:
    """Binds a L{RoomDirectory} to one realm of the router."""

    def __init__(self, router: Any, realm: str, directory: RoomDirectory, tokens: Any) -> None:
        self.router = router
        self.realm = realm
        self.directory = directory
        self.tokens = tokens
        self.session: Any = None
        #: router session id -> who it is in rooms.
        self.identities: dict[int, Identity] = {}
        self._topics: dict[str, tuple[str, str] | None] = {}
        self.procedures: dict[str, Callable[..., Awaitable[Any]]] = {}

    # -- setup ----------------------------------------------------------------

    async def start(self) -> None:
        """Join the realm as the trusted room core and install the seams."""
        self.session = self.router.attach_local_session(self.realm, "hubsd.rooms", "trusted")
        d = self.directory
        table: dict[str, Callable[..., Awaitable[Any]]] = {
            "create": self._create,
            "describe": lambda c, hub_sid: d.describe(hub_sid),
            "list_public": lambda c: d.list_public(),
            "join": self._join,
            "enter": self._enter,
            "leave": lambda c, hub_sid: d.leave(c.identity, hub_sid),
            "update_presence": lambda c, hub_sid, **changes: d.update_presence(
                c.identity, hub_sid, changes
            ),
            "perms_token": lambda c, hub_sid: d.perms_token(c.identity, hub_sid),
            "invite": lambda c, hub_sid: d.invite(c.identity, hub_sid),
            "kick": lambda c, hub_sid, session_id, reason="": d.kick(
                c.identity, hub_sid, session_id, reason
            ),
            "mute": lambda c, hub_sid, session_id: d.mute(c.identity, hub_sid, session_id),
            "unmute": lambda c, hub_sid: d.unmute(c.identity, hub_sid),
            "block": lambda c, hub_sid, session_id: d.block(c.identity, hub_sid, session_id, True),
            "unblock": lambda c, hub_sid, session_id: d.block(
                c.identity, hub_sid, session_id, False
            ),
            "promote": lambda c, hub_sid, session_id: d.set_moderator(
                c.identity, hub_sid, session_id, True
            ),
            "demote": lambda c, hub_sid, session_id: d.set_moderator(
                c.identity, hub_sid, session_id, False
            ),
            "update": lambda c, hub_sid, **fields: d.update(c.identity, hub_sid, fields),
            "close": lambda c, hub_sid: d.close(c.identity, hub_sid),
            "pin": lambda c, hub_sid, object_id, gltf, file_id=None, promotion_token=None: d.pin(
                c.identity, hub_sid, object_id, gltf, file_id, promotion_token
            ),
            "unpin": lambda c, hub_sid, object_id: d.unpin(c.identity, hub_sid, object_id),
        }
        await register_procedures(self.session, ROOM_TOPIC, table, self._endpoint, self.procedures)
        self.router.add_gate(PREFIX, self.gate)
        self.router.add_publish_hook(ROOM_TOPIC + "*", self.on_publish)
        self.router.add_session_observer(self.on_session_join, self.on_session_leave)
        d.deliver = self.deliver

    def stop(self) -> None:
        if self.session is not None:
            self.session.leave()

    # -- identity ---------------------------------------------------------------

    def authenticate_ticket(self, realm: str, authid: str | None, details: dict[str, Any]) -> Any:
        """The router's custom C{ticket} method: a session or account token."""
        try:
            session_id, account_id = self.tokens.identity_from_ticket(details.get("ticket"))
        except InvalidToken as e:
            raise WampError(errors.AUTHENTICATION_FAILED, str(e)) from None
        extra: dict[str, Any] = {"session_id": session_id}
        if account_id is not None:
            extra["account_id"] = account_id
        return Authenticated(session_id, MEMBER_ROLE, extra, "hubsd", "ticket")

    def on_session_join(self, details: dict[str, Any]) -> None:
        if details.get("realm") not in (None, self.realm):
            return
        extra = details.get("authextra") or {}
        session_id = extra.get("session_id") if details.get("authprovider") == "hubsd" else None
        if isinstance(session_id, str):
            account_id = extra.get("account_id")
            identity = Identity(session_id, account_id if isinstance(account_id, int) else None)
        else:
            identity = Identity.anonymous()
        self.identities[details["session"]] = identity

    def on_session_leave(self, details: dict[str, Any]) -> None:
        identity = self.identities.pop(details["session"], None)
        if identity is not None:
            clean = bool(details.get("goodbye"))
            self.directory.connection_lost(identity, details["session"], clean)

    # -- procedures -------------------------------------------------------------

    def _endpoint(self, uri: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        signature = inspect.signature(fn)

        async def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            details = kwargs.pop("_details")
            identity = self.identities.get(details.caller) if details.caller else None
            if identity is None:
                raise WampError(errors.NOT_AUTHORIZED, "unknown caller")
            caller = Caller(identity, details.caller)
            try:
                signature.bind(caller, *args, **kwargs)
            except TypeError as e:
                raise WampError(InvalidPayload.uri, f"{uri}: {e}") from None
            try:
                return await fn(caller, *args, **kwargs)
            except RoomError as e:
                raise _room_error(e) from None

        def endpoint(*args: Any, **kwargs: Any) -> Deferred[Any]:
            return ensureDeferred(call(args, kwargs))

        return endpoint

    async def _create(self, c: Caller, **fields: Any) -> dict[str, Any]:
        return await self.directory.create(c.identity, fields)

    async def _join(
        self, c: Caller, hub_sid: Any, invite: Any = None, creator_token: Any = None
    ) -> dict[str, Any]:
        return await self.directory.join(c.identity, c.connection, hub_sid, invite, creator_token)

    async def _enter(
        self,
        c: Caller,
        hub_sid: Any,
        profile: Any = None,
        context: Any = None,
        presence: Any = "lobby",
    ) -> dict[str, Any]:
        return await self.directory.enter(c.identity, hub_sid, profile, context, presence)

    # -- gate and hooks -----------------------------------------------------------

    def _topic(self, uri: str) -> tuple[str, str] | None:
        parsed = self._topics.get(uri, False)
        if parsed is False:
            if len(self._topics) > 65536:
                self._topics.clear()
            parsed = self._topics[uri] = parse_room_topic(uri)
        return parsed  # type: ignore[return-value]

    def gate(self, details: dict[str, Any], action: str, uri: str, options: dict[str, Any]) -> bool:
        """Who may use a ``hubsd.`` URI: procedures for all, room topics for members."""
        if action == "call":
            return uri in self.procedures
        if action not in ("subscribe", "publish") or options.get("match", "exact") != "exact":
            return False
        parsed = self._topic(uri)
        if parsed is None:
            return False
        sid, kind = parsed
        room = self.directory.rooms.get(sid)
        identity = self.identities.get(details["session"])
        if room is None or identity is None:
            return False
        member = room.members.get(identity.session_id)
        if member is None or member.connection != details["session"]:
            return False
        return may_use_topic(action, kind, member.entered)

    def on_publish(self, pub: Any) -> Any:
        """The room rules for a member's publication on a room topic."""
        session = pub.session["session"]
        if session == self.session.session_id:
            return None  # the room core's own notices
        parsed = self._topic(pub.topic)
        identity = self.identities.get(session)
        room = self.directory.rooms.get(parsed[0]) if parsed is not None else None
        if room is None or identity is None or parsed is None:
            raise WampError(errors.NOT_AUTHORIZED, "not a member of this room")
        member = room.members.get(identity.session_id)
        if member is None:
            raise WampError(errors.NOT_AUTHORIZED, "not a member of this room")
        try:
            return relay.relay(room, member, parsed[1], pub)
        except RoomError as e:
            raise _room_error(e) from None
        finally:
            if room.flooders or room.corrections:
                # After this publication's fan-out, not from inside it.
                self.router.reactor.callLater(0, self._after_publish, room)

    def _after_publish(self, room: LiveRoom) -> None:
        corrections, room.corrections = room.corrections, []
        topic = ROOM_TOPIC + room.hub_sid + ".naf"
        for session_id, states in corrections:
            connections = room.connections([session_id])
            if not connections:
                continue
            for state in states:
                self.session.publish(
                    topic, kwargs=correction_envelope(state), eligible=connections, exclude_me=False
                )
        if room.flooders:
            self._remove_flooders(room)

    def _remove_flooders(self, room: LiveRoom) -> None:
        for session_id in list(room.flooders):
            log.info("removing a member of {sid} that sends too fast", sid=room.hub_sid)
            self.directory.tell(room, room.remove_flooder(session_id))

    # -- notices ----------------------------------------------------------------

    def deliver(self, room: LiveRoom, notices: list[Notice]) -> None:
        """Publish the room's notices to its members, in order."""
        if self.session is None or not self.session.joined:
            return  # shutting down: nobody is left to tell
        base = ROOM_TOPIC + room.hub_sid + "."
        for notice in notices:
            if notice.kind == "left":
                for connection in notice.connections:
                    self.router.unsubscribe_prefix(self.realm, connection, base)
                continue
            options: dict[str, Any] = {"exclude_me": False}
            if notice.to is not None:
                if not notice.connections:
                    continue
                options["eligible"] = list(notice.connections)
            payload = notice.payload
            if notice.kind == "refresh":
                payload = dict(payload, room=self.directory.public(room.record, room))
            self.session.publish(base + notice.kind, kwargs=payload, **options)
