"""
A WAMP session carried by bytes: handshake, decoding, encoding, framing.

L{Wire} pairs a serializer with a transport framing (websocket or
rawsocket); one shared L{Wire} per pair lets the broker cache one framed
EVENT per subscription and wire. L{WireSession} is transport-agnostic: a
transport adapter feeds it whole messages (L{WireSession.message_received})
and gives it a C{close} callable.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autobahn.wamp import message as m
from autobahn.wamp.exception import InvalidUriError, ProtocolError
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, ITransport
from twisted.logger import Logger
from twisted.python.failure import Failure

from hubsd.wamp import errors
from hubsd.wamp.auth import Authenticated, Challenge
from hubsd.wamp.broker import encode_event
from hubsd.wamp.codec import VALUE_ERRORS, Codec, CodecError, Unrepresentable
from hubsd.wamp.errors import ProtocolViolation, WampError
from hubsd.wamp.messages import (
    ABORT,
    AUTHENTICATE,
    CALL,
    CHALLENGE,
    ERROR,
    GOODBYE,
    HELLO,
    INVOCATION,
    RESULT,
    WELCOME,
)
from hubsd.wamp.outgoing import Outgoing
from hubsd.wamp.payload import Payload
from hubsd.wamp.session import RouterSession

if TYPE_CHECKING:
    from hubsd.wamp.router import Router

log = Logger()

_UNENCODABLE = "value cannot be represented in the receiver's serializer"
#: Seconds a closing session may take to flush its queue before it is cut.
CLOSE_GRACE = 10.0

BROKER_FEATURES = {
    "publisher_identification": True,
    "publisher_exclusion": True,
    "subscriber_blackwhite_listing": True,
    "pattern_based_subscription": True,
    "event_retention": True,
    "subscription_meta_api": True,
    "session_meta_api": True,
}
DEALER_FEATURES = {
    "caller_identification": True,
    "call_canceling": True,
    "call_timeout": True,
    "progressive_call_results": True,
    "pattern_based_registration": True,
    "shared_registration": True,
    "registration_meta_api": True,
    "session_meta_api": True,
}


def websocket_frame(payload: bytes, binary: bool) -> bytes:
    """One unmasked, unfragmented server websocket frame (RFC 6455 5.2)."""
    b0 = 0x82 if binary else 0x81
    n = len(payload)
    if n < 126:
        return bytes((b0, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", b0, 126, n) + payload
    return struct.pack("!BBQ", b0, 127, n) + payload


def rawsocket_frame(payload: bytes) -> bytes:
    """One WAMP RawSocket regular message frame."""
    return struct.pack("!I", len(payload)) + payload


class Wire:
    """A serializer plus a framing; shared by every session using both."""

    __slots__ = ("codec", "frame")

    def __init__(self, codec: Codec, frame: Callable[[bytes], bytes]) -> None:
        self.codec = codec
        self.frame = frame

    def message(self, msg: list[Any]) -> bytes:
        """C{msg} framed; L{Unrepresentable} if a value cannot be written here."""
        try:
            return self.frame(self.codec.encode(msg))
        except VALUE_ERRORS as e:
            raise Unrepresentable(f"{self.codec.name}: {e}") from None

    def event(self, sub_id: int, pub_id: int, details: dict[str, Any], payload: Payload) -> bytes:
        """
        The framed EVENT, or b"" (the receiver is skipped) when a value of
        the publisher's serializer cannot be written in this one: a client
        must not be able to make the router log a traceback per event.
        """
        try:
            return self.frame(self.codec.encode_event(sub_id, pub_id, details, payload))
        except VALUE_ERRORS as e:
            _unrepresentable_once(self.codec.name, str(e))
            return b""


_SAID: set[str] = set()


def _unrepresentable_once(codec: str, why: str) -> None:
    """One log line per serializer and process for skipped events."""
    if codec not in _SAID:
        _SAID.add(codec)
        log.warn(
            "an event cannot be represented in {codec} ({why}); receivers on {codec} "
            "skip such events (said once)",
            codec=codec,
            why=why,
        )


_WIRES: dict[tuple[str, str], Wire] = {}


def wire_for(codec: Codec, framing: str) -> Wire:
    """The shared wire for C{codec} over C{framing} (websocket|rawsocket)."""
    key = (codec.name + ("+batched" if type(codec).__name__.startswith("Batched") else ""), framing)
    w = _WIRES.get(key)
    if w is None:
        if framing == "websocket":
            binary = codec.binary
            w = Wire(codec, lambda p: websocket_frame(p, binary))
        else:
            w = Wire(codec, rawsocket_frame)
        _WIRES[key] = w
    return w


class WireSession(RouterSession):
    """A router session over a byte transport."""

    def __init__(
        self,
        router: Router,
        wire: Wire,
        transport: ITransport,
        close: Callable[[], None],
        transport_info: dict[str, Any],
        abort: Callable[[], None] | None = None,
    ) -> None:
        RouterSession.__init__(self, router)
        self.wire = wire
        self.transport_info = transport_info
        self._close = close
        # A slow peer's buffers are full: a polite close would queue too.
        self._abort = abort or close
        settings = router.settings
        self.out = Outgoing.for_router(transport, router, self._overflow)
        self.state = "hello"
        self._challenge: Challenge | None = None
        self._realm_name = ""
        self._closed_d: Deferred[None] | None = None
        self.lost = False
        self._said_unrepresentable = False
        # HELLO, CHALLENGE/AUTHENTICATE and slow authenticators all count
        # against the open handshake timeout: no session waits forever.
        self._join_timer: IDelayedCall | None = None
        if settings.open_handshake_timeout > 0:
            self._join_timer = router.reactor.callLater(
                settings.open_handshake_timeout, self._join_timed_out
            )

    def _join_timed_out(self) -> None:
        self._join_timer = None
        if self.state in ("hello", "auth", "challenge"):
            self.abort(errors.TIMEOUT, "no WELCOME within the open handshake timeout")

    def _stop_join_timer(self) -> None:
        if self._join_timer is not None and self._join_timer.active():
            self._join_timer.cancel()
        self._join_timer = None

    # -- output ------------------------------------------------------------

    def send(self, msg: list[Any]) -> None:
        try:
            frame = self.wire.message(msg)
        except Unrepresentable as e:
            # Values from another serializer or a local session: one line per
            # session, never a traceback a client could repeat at will.
            if not self._said_unrepresentable:
                self._said_unrepresentable = True
                log.warn(
                    "session {session}: message type {type} cannot be represented ({why})",
                    session=self.session_id,
                    type=msg[0],
                    why=str(e),
                )
            self._undeliverable(msg, errors.INVALID_ARGUMENT, _UNENCODABLE)
            return
        except Exception:
            log.failure("cannot encode message type {type}", type=msg[0])
            self._undeliverable(msg, errors.INVALID_ARGUMENT, _UNENCODABLE)
            return
        if len(frame) > self.out.max_frame:
            # The peer announced a smaller maximum (RawSocket handshake).
            text = "message of %d bytes exceeds the peer's maximum length" % len(frame)
            self._undeliverable(msg, errors.PAYLOAD_SIZE_EXCEEDED, text)
            return
        self.out.write(frame)

    def _undeliverable(self, msg: list[Any], error: str, text: str) -> None:
        """Answer in place of C{msg}, which this peer cannot receive, so that
        no call hangs and the peer never gets bytes it must refuse."""
        t = msg[0]
        if t == RESULT:
            if self.realm is not None:
                # A progressive result: the call cannot go on either.
                self.realm.dealer.abandon(self, msg[1], error)
            self.send([ERROR, CALL, msg[1], {}, error, [text]])
        elif t == INVOCATION:
            if self.realm is not None:
                self.realm.dealer.error(self, msg[1], error, [text], None)
        elif t == ERROR:
            if msg[4] != error:
                self.send([ERROR, msg[1], msg[2], {}, error, [text]])
        elif t not in (ABORT, GOODBYE):
            self.abort(error, text)

    def send_event(
        self,
        sub_id: int,
        pub_id: int,
        details: dict[str, Any],
        payload: Payload,
        cache: dict[Any, Any],
        key: Any,
    ) -> None:
        wire = self.wire
        frame = cache.get(wire)
        if frame is None:
            frame = cache[wire] = encode_event(wire, sub_id, pub_id, details, payload)
        if frame:
            self.out.write(frame, key)

    def close_transport(self, reason: str) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        if not self.out.when_drained(self._close):
            # A peer that stopped reading would keep the connection forever.
            self.router.reactor.callLater(CLOSE_GRACE, self._abort_if_open)

    def _abort_if_open(self) -> None:
        if not self.lost:
            self._abort()

    def _overflow(self, why: str) -> None:
        log.warn(
            "disconnecting slow session {session} ({authid}): {why}",
            session=self.session_id,
            authid=self.authid,
            why=why,
        )
        self.state = "closed"
        self.leave()
        self._abort()

    def shutdown(self, reason: str) -> Deferred[None]:
        if self.lost:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._closed_d = d
        self.kill(reason, "router shutting down")
        return d

    # -- input ---------------------------------------------------------------

    def message_received(self, data: bytes) -> None:
        """One whole transport message (may hold several when batched)."""
        if self.state == "closed":
            return
        try:
            msgs = self.wire.codec.decode(data)
        except CodecError as e:
            self._violation(str(e))
            return
        for msg in msgs:
            if self.state == "joined":
                self.handle(msg)
            elif self.state == "closed":
                return
            else:
                self._handshake(msg)

    def _violation(self, text: str) -> None:
        self.abort(errors.PROTOCOL_VIOLATION, text)

    def abort(self, reason: str, text: str) -> None:
        if self.state == "closed":
            return
        if reason == errors.PROTOCOL_VIOLATION:
            self.router.stats.protocol_violations += 1
        RouterSession.abort(self, reason, text)

    def connection_lost(self) -> None:
        """The transport is gone: clean up everything this session held."""
        self.lost = True
        self.state = "closed"
        self._stop_join_timer()
        self.out.close()
        self.leave()
        if self.session_id:
            self.router.release_session_id(self.session_id)
        if self._closed_d is not None:
            d, self._closed_d = self._closed_d, None
            d.callback(None)

    # -- handshake -------------------------------------------------------------

    def _handshake(self, msg: list[Any]) -> None:
        try:
            if self.state == "hello" and msg[0] == HELLO:
                self._on_hello(m.Hello.parse(msg), msg)
            elif self.state == "challenge" and msg[0] == AUTHENTICATE:
                self._on_authenticate(m.Authenticate.parse(msg))
            elif msg[0] == ABORT and self.state != "hello":
                self.state = "closed"
                self._close()
            else:
                raise ProtocolViolation(f"message type {msg[0]} not allowed in state {self.state}")
        except (ProtocolViolation, ProtocolError, InvalidUriError) as e:
            self._violation(str(e))
        except Exception:
            log.failure("handshake failed")
            self._violation("handshake failed")

    def _on_hello(self, hello: m.Hello, msg: list[Any]) -> None:
        realm = self.router.realms.get(hello.realm)
        if self.router.closing:
            self.abort(errors.CLOSE_SYSTEM_SHUTDOWN, "router is shutting down")
            return
        if realm is None:
            self.abort(errors.NO_SUCH_REALM, f"no realm {hello.realm!r}")
            return
        self._realm_name = hello.realm
        self.roles = msg[2].get("roles", {})
        self.session_id = self.router.new_session_id()
        self.state = "auth"
        d = self.router.auth.start(hello.realm, self.session_id, msg[2])
        d.addCallbacks(self._auth_step, self._auth_failed)

    def _on_authenticate(self, a: m.Authenticate) -> None:
        if self._challenge is None:  # state "challenge" sets it; not an assert (python -O)
            raise ProtocolViolation("AUTHENTICATE without a CHALLENGE")
        self.state = "auth"
        d = self._challenge.verify(a.signature)
        d.addCallbacks(self._auth_step, self._auth_failed)

    def _auth_step(self, result: Authenticated | Challenge) -> None:
        if self.state != "auth":
            return
        if isinstance(result, Challenge):
            self._challenge = result
            self.state = "challenge"
            self.send([CHALLENGE, result.method, result.extra])
            return
        self._welcome(result)

    def _auth_failed(self, f: Failure) -> None:
        if self.state != "auth":
            return
        if f.check(WampError):
            e: Any = f.value
            self.abort(e.error, str(e.args_[0]) if e.args_ else e.error)
        else:
            log.failure("authenticator failed", f)
            self.abort(errors.AUTHENTICATION_FAILED, "authentication failed")

    def _welcome(self, auth: Authenticated) -> None:
        realm = self.router.realms[self._realm_name]
        details: dict[str, Any] = {
            "realm": realm.name,
            "authid": auth.authid,
            "authrole": auth.authrole,
            "authmethod": auth.authmethod,
            "authprovider": auth.authprovider,
            "roles": {
                "broker": {"features": BROKER_FEATURES},
                "dealer": {"features": DEALER_FEATURES},
            },
        }
        if auth.authextra is not None:
            details["authextra"] = auth.authextra
        self._stop_join_timer()
        self.state = "joined"
        self.send([WELCOME, self.session_id, details])
        if self.state == "joined":  # not aborted: WELCOME may not fit the peer
            self.join(realm, auth)
