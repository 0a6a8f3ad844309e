"""
WAMP over RawSocket (TCP), for server-side peers that want no websocket.

Handshake (WAMP spec, "RawSocket Transport"): the client sends
C{0x7F, LLLL SSSS, 0, 0} (max length exponent, serializer 1=JSON,
2=msgpack, 3=CBOR); we answer the same shape with our own max length, or
C{0x7F, EEEE 0000, 0, 0} with an error code. Frames are a 4-byte header
(3 reserved bits, 3 bits type: 0 message, 1 ping, 2 pong; 24 bits length)
followed by the payload. Outgoing messages share the websocket path's
per-serializer encoding (framed with L{hubsd.wamp.wire.rawsocket_frame}).

The client's LLLL is the longest message it accepts, 2**(9+LLLL) bytes (and
never more than a 24-bit length can say). Nothing longer is sent to it: a
reply that is too big becomes an ERROR C{wamp.error.payload_size_exceeded}
(the call fails instead of the peer), an event that is too big is skipped
for this client and counted (C{RouterStats.events_too_big}).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

from hubsd.wamp import errors
from hubsd.wamp.codec import CBOR, JSON, MSGPACK, Codec
from hubsd.wamp.router import Router
from hubsd.wamp.settings import RouterSettings
from hubsd.wamp.wire import WireSession, wire_for

SERIALIZERS: dict[int, Codec] = {1: JSON, 2: MSGPACK, 3: CBOR}
# Handshake error codes. The spec's 2, "maximum message length unacceptable",
# is never sent: any length the client asks for is accepted (what we send is
# then limited to it).
ERR_SERIALIZER_UNSUPPORTED = 1
ERR_RESERVED_BITS = 3
MSG, PING, PONG = 0, 1, 2
#: The frame header: 1 byte type, 3 bytes length.
HEADER = 4
MAX_LENGTH = 2**24 - 1


def length_exponent(max_size: int) -> int:
    """The smallest RawSocket length exponent covering C{max_size} (0..15)."""
    for exp in range(16):
        if 2 ** (9 + exp) >= max_size:
            return exp
    return 15


class WampRawSocketProtocol(Protocol):
    """One RawSocket connection carrying one WAMP session."""

    factory: WampRawSocketFactory
    transport: Any

    def __init__(self) -> None:
        self._buf = bytearray()
        self._wamp: WireSession | None = None
        self._timer: IDelayedCall | None = None
        self._max_in = 0

    def connectionMade(self) -> None:
        timeout = self.factory.settings.open_handshake_timeout
        if timeout > 0:
            self._timer = self.factory.reactor.callLater(timeout, self._abort)

    def _abort(self) -> None:
        self._timer = None
        self.transport.abortConnection()

    def _refuse(self, code: int) -> None:
        self.transport.write(bytes((0x7F, code << 4, 0, 0)))
        self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if self._wamp is None:
            if len(buf) < 4:
                return
            if not self._handshake(bytes(buf[:4])):
                buf.clear()
                return
            del buf[:4]
        while len(buf) >= 4 and self._wamp is not None:
            kind = buf[0]
            length = int.from_bytes(buf[1:4], "big")
            if kind > PONG or length > self._max_in:
                self._wamp.abort(errors.PROTOCOL_VIOLATION, "bad RawSocket frame")
                buf.clear()
                return
            if len(buf) < 4 + length:
                return
            payload = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            if kind == MSG:
                self._wamp.message_received(payload)
            elif kind == PING:
                self.transport.write(bytes((PONG,)) + length.to_bytes(3, "big") + payload)

    def _handshake(self, head: bytes) -> bool:
        if head[0] != 0x7F:
            self.transport.loseConnection()
            return False
        if head[2] or head[3]:
            self._refuse(ERR_RESERVED_BITS)
            return False
        codec = SERIALIZERS.get(head[1] & 0x0F)
        if codec is None:
            self._refuse(ERR_SERIALIZER_UNSUPPORTED)
            return False
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        settings = self.factory.settings
        self._max_in = min(settings.max_message_size, MAX_LENGTH)
        exp = length_exponent(self._max_in)
        self.transport.write(bytes((0x7F, (exp << 4) | (head[1] & 0x0F), 0, 0)))
        transport: Any = self.transport
        peer = transport.getPeer()
        self._wamp = WireSession(
            self.factory.router,
            wire_for(codec, "rawsocket"),
            transport,
            transport.loseConnection,
            {"type": "rawsocket", "protocol": codec.name, "peer": str(peer)},
            transport.abortConnection,
        )
        peer_max = min(2 ** (9 + (head[1] >> 4)), MAX_LENGTH)
        self._wamp.out.max_frame = HEADER + peer_max
        transport.registerProducer(self._wamp.out, True)
        return True

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self._wamp is not None:
            wamp, self._wamp = self._wamp, None
            wamp.connection_lost()


class WampRawSocketFactory(Factory):
    """Builds L{WampRawSocketProtocol}s; use with any stream endpoint."""

    protocol = WampRawSocketProtocol  # type: ignore[assignment]

    def __init__(self, router: Router, settings: RouterSettings, reactor: IReactorTime) -> None:
        self.router = router
        self.settings = settings
        self.reactor = reactor
