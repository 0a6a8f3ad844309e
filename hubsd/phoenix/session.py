"""
One Phoenix socket as a router session.

L{PhoenixSession} is a L{RouterSession} with the shared L{PhoenixEvents}
encoder and its own outgoing queue (L{PhoenixOutgoing}, an L{Outgoing}), so
a Phoenix member gets the same backpressure, superseding of droppable
updates and limits as a WAMP member. It reaches the room core the way a
WAMP member does: it subscribes to and publishes on the room's topics
through the router (the room gate and the relay rules decide), and calls
the L{RoomDirectory} for requests, as L{hubsd.rooms.procedures} does.

Frames are handled in order. While a request waits for the room core
(a join loading a room from storage), later frames wait behind it, at most
C{max_pending_frames}; heartbeats are answered at once, ahead of anything
queued for the socket.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import Logger

from hubsd.phoenix import frames
from hubsd.phoenix.frames import Frame, FrameError
from hubsd.wamp import errors
from hubsd.wamp.messages import ERROR, GOODBYE, PUBLISH, SUBSCRIBE, SUBSCRIBED
from hubsd.wamp.outgoing import Outgoing
from hubsd.wamp.payload import Payload
from hubsd.wamp.session import RouterSession
from hubsd.wamp.wire import websocket_frame

if TYPE_CHECKING:
    from hubsd.phoenix.gateway import PhoenixGateway
    from hubsd.rooms.directory import Identity

log = Logger()

#: Websocket close codes. 1000 only for a kick: Hubs treats a 1000 close
#: as "you were removed" and leaves the room (hubs src/hub.js).
CLOSE_KICKED = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_RESTART = 1012

#: Seconds a closing socket may take to send what is queued before it is dropped.
CLOSE_GRACE = 5.0

_OK: dict[str, Any] = {}


class PhoenixOutgoing(Outgoing):
    """An L{Outgoing} that can put a frame ahead of what waits in it."""

    def write_first(self, frame: bytes) -> None:
        """Send C{frame} before anything not yet handed to the transport."""
        if self.closed:
            return
        if not self.paused:
            if self._pending is not None:
                self._pending.insert(0, frame)
                self._pending_bytes += len(frame)
                return
            self.write(frame)
            return
        if self._queue is None:
            self._queue = deque()
        self._queue.appendleft([frame, None])
        self.queued_bytes += len(frame)


class Channel:
    """A joined channel of a socket: its topic, current join_ref, and room
    (or, for an ``auth:`` channel, its sign-in wait)."""

    __slots__ = (
        "topic",
        "join_ref",
        "hub_sid",
        "closing",
        "room_topics",
        "identity",
        "stop_waiting",
        "link_requested",
    )

    def __init__(self, topic: str, join_ref: str | None, hub_sid: str | None) -> None:
        self.topic = topic
        self.join_ref = join_ref
        self.hub_sid = hub_sid
        self.closing = False
        #: Who the member of a hub channel is (its account, if it joined with one).
        self.identity: Identity | None = None
        #: An auth channel's L{SignIn.wait} stop, while it waits.
        self.stop_waiting: Callable[[], None] | None = None
        #: An auth channel asked for its link (once per channel).
        self.link_requested = False
        #: The room's WAMP topics this channel publishes on, by kind.
        self.room_topics = {k: f"hubsd.room.{hub_sid}.{k}" for k in ("naf", "chat")}


class PhoenixSession(RouterSession):
    """The router session of one Phoenix socket (see module docstring)."""

    def __init__(
        self,
        gateway: PhoenixGateway,
        transport: Any,
        close: Callable[[int, str], None],
        abort: Callable[[], None],
        info: dict[str, Any],
        identity: Identity,
    ) -> None:
        router = gateway.router
        RouterSession.__init__(self, router)
        self.gateway = gateway
        self.encoder = gateway.encoder
        self.transport_info = info
        self.identity = identity
        self.out = PhoenixOutgoing.for_router(transport, router, self._overflow)
        self._close = close
        self._abort = abort
        self.channels: dict[str, Channel] = {}
        self.closed = False
        #: SFU requests running beside the frames (L{hubsd.phoenix.media.beside}).
        self.media_requests = 0
        #: Kicked: the socket closes in a moment (L{kicked}).
        self.kicking = False
        #: The transport is gone (L{connection_lost}).
        self.lost = False
        self._ids = itertools.count(1)
        self._answers: dict[int, list[Any]] = {}
        self._waiting: deque[Frame] | None = None
        self.last_seen = router.reactor.seconds()

    # -- output --------------------------------------------------------------

    def write(self, text: bytes) -> None:
        """Send one frame's JSON text."""
        self.out.write(websocket_frame(text, False))

    def reply(self, frame: Frame, status: str, response: Any) -> None:
        self.write(frames.reply(frame.join_ref, frame.ref, frame.topic, status, response))

    def push(self, channel: Channel, event: str, payload: Any) -> None:
        """A push to one channel of this socket, with its join_ref."""
        self.write(frames.encode(channel.join_ref, None, channel.topic, event, payload))

    def send(self, msg: list[Any]) -> None:
        """The router's answers (as values) to what this session asked it."""
        t = msg[0]
        if t == GOODBYE:
            # The router ends the session: shutdown (restart) or a kill.
            shutdown = msg[2] == errors.CLOSE_SYSTEM_SHUTDOWN
            self.close(CLOSE_RESTART if shutdown else CLOSE_GOING_AWAY, "server closed the session")
            return
        request = msg[2] if t == ERROR else msg[1]
        if type(request) is int and request in self._answers:
            self._answers[request] = msg

    def _ask(self, msg: list[Any]) -> list[Any] | None:
        """Hand C{msg} (with a fresh request id at [1]) to the router; its answer."""
        request = msg[1] = next(self._ids)
        self._answers[request] = []
        self.handle(msg)
        return self._answers.pop(request, None) or None

    def subscribe(self, topic: str) -> bool:
        """Subscribe through the router (the room gate decides)."""
        answer = self._ask([SUBSCRIBE, 0, {}, topic])
        return answer is not None and answer[0] == SUBSCRIBED

    def publish(self, topic: str, payload: Payload, acknowledge: bool) -> list[Any] | None:
        """Publish through the router (gate and relay rules); the ERROR if refused."""
        options = {"acknowledge": True} if acknowledge else {}
        answer = self._ask([PUBLISH, 0, options, topic, payload])
        return answer if answer is not None and answer[0] == ERROR else None

    def close(self, code: int, reason: str) -> None:
        """Close the socket with C{code} once what is queued has been sent."""
        if self.closed:
            return
        self.closed = True
        self.leave()
        if not self.out.when_drained(lambda: self._close(code, reason)):
            # A peer that stopped reading would keep the connection forever.
            self.router.reactor.callLater(CLOSE_GRACE, self._abort_if_open)

    def _abort_if_open(self) -> None:
        if not self.lost:
            self._abort()

    def close_transport(self, reason: str) -> None:
        self.close(CLOSE_GOING_AWAY, reason)

    def _overflow(self, why: str) -> None:
        log.warn(
            "disconnecting slow Phoenix socket {session}: {why}", session=self.session_id, why=why
        )
        self.closed = True
        self.leave()
        self._abort()

    # -- room notices that are not pushes --------------------------------------

    def kicked(self, hub_sid: str, notice: Mapping[str, Any]) -> None:
        """Removed from room C{hub_sid} by a moderator: a ``kicked`` push
        saying by whom (C{notice}, the room core's ``{session_id, by,
        reason}``; Hubs reads only the close, the push is for clients that
        show who removed them), then the socket closes with 1000.

        It closes once the room's observers have seen the kick, so that the
        SFU's word that the member's media ended for a kick (not because its
        socket went) reaches the member and its listeners first. Meanwhile
        the socket takes no frames and its channels are not closed one by
        one (the client must rejoin them, and be refused, after the close).
        """
        if self.closed or self.kicking:
            return
        channel = self.channels.get("hub:" + hub_sid)
        if channel is not None:
            self.push(channel, "kicked", dict(notice))
        self.kicking = True
        self.router.reactor.callLater(0, self.close, CLOSE_KICKED, "kicked")

    def room_left(self, hub_sid: str) -> None:
        """This connection no longer belongs to room C{hub_sid} (closed, or its
        seat went to another connection): the channel closes, no rejoin."""
        channel = self.channels.get("hub:" + hub_sid)
        if channel is None or channel.closing or self.closed or self.kicking:
            return
        del self.channels[channel.topic]
        self.write(
            frames.encode(channel.join_ref, channel.join_ref, channel.topic, frames.CLOSE, {})
        )

    # -- input ---------------------------------------------------------------

    def message_received(self, data: bytes) -> None:
        """One websocket message from the client."""
        if self.closed or self.kicking:
            return
        self.last_seen = self.router.reactor.seconds()
        frame = frames.decode(data)
        if isinstance(frame, FrameError):
            self._bad_frame(frame)
            return
        if frame.topic == frames.HEARTBEAT_TOPIC:
            self._heartbeat(frame)
            return
        waiting = self._waiting
        if waiting is not None:
            if len(waiting) >= self.gateway.settings.max_pending_frames:
                self.close(CLOSE_POLICY, "too many frames while a request is pending")
                return
            waiting.append(frame)
            return
        self._route(frame)

    def _bad_frame(self, error: FrameError) -> None:
        if error.fatal:
            self.close(CLOSE_UNSUPPORTED, error.reason[:120])
        else:
            self.write(
                frames.reply(
                    error.join_ref, error.ref, error.topic, "error", {"reason": error.reason}
                )
            )

    def _heartbeat(self, frame: Frame) -> None:
        if frame.event == frames.HEARTBEAT:
            text = frames.reply(None, frame.ref, frames.HEARTBEAT_TOPIC, "ok", _OK)
            self.out.write_first(websocket_frame(text, False))
        else:
            self.reply(frame, "error", {"reason": "unmatched topic"})

    def _route(self, frame: Frame) -> None:
        try:
            d = self.gateway.handle_frame(self, frame)
        except Exception:
            log.failure(
                "Phoenix frame {event} on {topic} failed", event=frame.event, topic=frame.topic
            )
            self.reply(frame, "error", {"reason": "internal error"})
            return
        if d is not None and not d.called:
            self._waiting = deque()
            d.addBoth(self._resume_frames)

    def _resume_frames(self, _: object) -> None:
        waiting, self._waiting = self._waiting, None
        while waiting and not self.closed:
            self._route(waiting.popleft())
            if self._waiting is not None:
                self._waiting.extend(waiting)
                return

    def run(self, frame: Frame, coro: Any) -> Deferred[Any]:
        """Run the coroutine answering C{frame}. A failure (a bug, or storage
        down) is logged and answered with an error reply, never raised."""

        def failed(f: Any) -> None:
            log.failure(
                "Phoenix {event} on {topic} failed", f, event=frame.event, topic=frame.topic
            )
            if not self.closed:
                self.reply(frame, "error", {"reason": "internal error"})

        d = ensureDeferred(coro)
        d.addErrback(failed)
        return d

    def idle_check(self, timeout: float) -> float | None:
        """Close if idle for C{timeout}; else the seconds until the next check."""
        if self.closed:
            return None
        idle = self.router.reactor.seconds() - self.last_seen
        if idle >= timeout:
            self.close(CLOSE_GOING_AWAY, "idle timeout")
            return None
        return timeout - idle

    def connection_lost(self) -> None:
        """The transport is gone: leave the router (rooms hold the seat)."""
        self.lost = True
        self.closed = True
        self.out.close()
        self.leave()
        self._waiting = None
