"""
The Phoenix gateway: channel routing for every Phoenix socket.

L{PhoenixGateway} owns what Phoenix sockets share: the event encoder, the
table of sockets by router session id (so that room notices that are not
pushes, a kick or the end of a seat, reach the right socket) and the
channel routes of reticulum's socket: ``ret``, ``hub:<sid>`` (L{hubsd.phoenix.hub}),
``auth:<key>`` (sign-in by e-mailed link, L{hubsd.phoenix.auth}) and
``link:*`` (not supported yet). Lifecycle rules follow
Phoenix 1.5: a frame for a topic not joined gets ``unmatched topic``, a
second join of a joined topic closes the old one first (``phx_close`` with
the old join_ref), ``phx_leave`` answers ok and then ``phx_close``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from hubsd.phoenix import auth, frames, hub
from hubsd.phoenix.events import PhoenixEvents
from hubsd.phoenix.frames import Frame
from hubsd.phoenix.session import Channel, PhoenixSession
from hubsd.rooms.directory import Identity
from hubsd.rooms.errors import InvalidToken
from hubsd.wamp.auth import Authenticated

if TYPE_CHECKING:
    from hubsd.phoenix.settings import PhoenixSettings
    from hubsd.rooms.room import LiveRoom, Notice
    from hubsd.sfu.operations import Operations

log = Logger()

NOT_SUPPORTED = {
    "link": "device linking (link:*) is not supported by this server yet",
}


class PhoenixGateway:
    """Shared state and channel routing of the Phoenix sockets (see module docstring)."""

    def __init__(
        self,
        router: Any,
        realm: str,
        rooms: Any,
        settings: PhoenixSettings,
        sfu: Callable[[], Mapping[str, Any]] | None = None,
        sign_in: Any = None,
        media: Operations | None = None,
    ) -> None:
        self.router = router
        self.realm = realm
        self.directory = rooms.directory
        self.tokens = rooms.tokens
        self.settings = settings
        self.sfu = sfu
        #: L{hubsd.accounts.signin.SignIn}, None when accounts are not running.
        self.sign_in = sign_in
        #: The SFU's operations (the WAMP binding's), None without the SFU.
        self.media = media
        #: What a link's page sent along with a verification still running,
        #: by login key: (whose, payload).
        self.auth_payloads: dict[str, tuple[object, Any]] = {}
        self.encoder = PhoenixEvents(self._describe, sfu)
        self.sessions: dict[int, PhoenixSession] = {}
        previous = self.directory.deliver

        def deliver(room: LiveRoom, notices: list[Notice]) -> None:
            previous(room, notices)
            self.after_notices(room, notices)

        self.directory.deliver = deliver

    def _describe(self, sid: str) -> Mapping[str, Any] | None:
        room = self.directory.rooms.get(sid)
        return None if room is None else self.directory.public(room.record, room)

    # -- sockets ---------------------------------------------------------------

    def identity_for(self, session_token: object) -> Identity:
        """The room identity of a new socket: the session a valid
        ``session_token`` connect param names (a reconnect), else a new one."""
        if isinstance(session_token, str) and session_token:
            try:
                return Identity(self.tokens.verify_session(session_token))
            except InvalidToken:
                pass  # as reticulum: an invalid token just means a new session
        return Identity(str(uuid.uuid4()))

    def open(self, session: PhoenixSession) -> None:
        """Join the router as the socket's room identity."""
        sid = session.identity.session_id
        auth = Authenticated(sid, "member", {"session_id": sid}, "hubsd", "phoenix")
        self.router.attach(session, self.realm, auth)
        self.sessions[session.session_id] = session
        if self.settings.idle_timeout > 0:
            self._schedule_idle(session, self.settings.idle_timeout)

    def _schedule_idle(self, session: PhoenixSession, delay: float) -> None:
        def check() -> None:
            nxt = session.idle_check(self.settings.idle_timeout)
            if nxt is not None:
                self._schedule_idle(session, nxt)

        self.router.reactor.callLater(delay, check)

    def closed(self, session: PhoenixSession) -> None:
        """The socket's transport is gone: forget it (its router session id
        may already belong to a new session)."""
        if self.sessions.get(session.session_id) is session:
            del self.sessions[session.session_id]
        for channel in session.channels.values():
            auth.stop(channel)

    def after_notices(self, room: LiveRoom, notices: list[Notice]) -> None:
        """Room notices that are not pushes: a kick closes the target's
        socket, the end of a seat closes the room's channel."""
        for notice in notices:
            if notice.kind not in ("kicked", "left"):
                continue
            for connection in notice.connections:
                session = self.sessions.get(connection)
                if session is None:
                    continue
                if notice.kind == "kicked":
                    session.kicked(room.hub_sid, notice.payload)
                else:
                    session.room_left(room.hub_sid)

    # -- frames ----------------------------------------------------------------

    def handle_frame(self, session: PhoenixSession, frame: Frame) -> Deferred[Any] | None:
        """Route one frame; a Deferred while the request is still running."""
        event = frame.event
        if event == frames.JOIN:
            return self._join(session, frame)
        channel = session.channels.get(frame.topic)
        if event == frames.LEAVE:
            if channel is None:
                session.reply(frame, "ok", {})
                return None
            return session.run(frame, self._leave(session, channel, frame))
        if channel is None:
            session.reply(frame, "error", {"reason": "unmatched topic"})
            return None
        if channel.hub_sid is not None:
            return hub.handle_event(self, session, channel, frame)
        if channel.topic.startswith("auth:"):
            auth.handle_event(self, session, channel, frame)
            return None
        self._ret_event(session, frame)
        return None

    def _join(self, session: PhoenixSession, frame: Frame) -> Deferred[Any] | None:
        topic = frame.topic
        kind, _, rest = topic.partition(":")
        if topic != "ret" and not (kind in ("hub", "link", "auth") and rest):
            session.reply(frame, "error", {"reason": "unmatched topic"})
            return None
        old = session.channels.get(topic)
        if old is None and len(session.channels) >= self.settings.max_channels:
            limit = self.settings.max_channels
            session.reply(
                frame,
                "error",
                {"reason": "too_many_channels", "message": f"at most {limit} channels"},
            )
            return None
        return session.run(frame, self._rejoin(session, old, frame, kind, rest))

    async def _rejoin(
        self, session: PhoenixSession, old: Channel | None, frame: Frame, kind: str, rest: str
    ) -> None:
        if old is not None:
            # Phoenix: the old channel ends first and says so with its join_ref.
            await self._close_channel(session, old)
            session.write(frames.encode(old.join_ref, old.join_ref, old.topic, frames.CLOSE, {}))
        if kind in NOT_SUPPORTED:
            session.reply(
                frame, "error", {"reason": "not_supported", "message": NOT_SUPPORTED[kind]}
            )
            return
        if frame.topic == "ret":
            session.channels["ret"] = Channel("ret", frame.join_ref, None)
            session.reply(
                frame, "ok", {"vapid_public_key": None, "session_id": session.identity.session_id}
            )
            return
        if kind == "auth":
            auth.join(self, session, frame, rest)
            return
        await hub.join(self, session, frame, rest)

    async def _close_channel(self, session: PhoenixSession, channel: Channel) -> None:
        channel.closing = True
        session.channels.pop(channel.topic, None)
        auth.stop(channel)
        if channel.hub_sid is not None:
            await hub.leave(self, session, channel)

    async def _leave(self, session: PhoenixSession, channel: Channel, frame: Frame) -> None:
        await self._close_channel(session, channel)
        session.reply(frame, "ok", {})
        session.write(
            frames.encode(channel.join_ref, channel.join_ref, channel.topic, frames.CLOSE, {})
        )

    def _ret_event(self, session: PhoenixSession, frame: Frame) -> None:
        if frame.event == "change_hub":
            return  # reticulum tracks it for server-wide counts; hubsd keeps none
        if frame.event == "refresh_perms_token":
            reason = {"reason": "not_supported", "message": "global perms tokens need accounts"}
            session.reply(frame, "error", reason)
            return
        session.reply(frame, "error", {"reason": "unknown_event", "message": frame.event})
