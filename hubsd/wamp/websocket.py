"""
WAMP over websocket: the autobahn protocol and factory mounting the router.

Use C{WebSocketResource(WampWebSocketFactory(router, settings, reactor))}
at C{/ws}, or the factory alone with C{listenTCP}. Subprotocols:
C{wamp.2.json}, C{wamp.2.msgpack}, C{wamp.2.cbor}, C{wamp.2.json.batched};
the client's order of preference wins. Outgoing WAMP messages bypass
autobahn's per-message send path: they are framed once (shared across
receivers) and written through L{hubsd.wamp.outgoing.Outgoing}.
permessage-deflate is not offered (it would defeat frame sharing). What the
fast paths read of Autobahn's private state is in L{hubsd.wamp.internals}.
"""

from __future__ import annotations

import struct
from typing import Any

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.interfaces import IReactorTime

from hubsd.wamp.codec import SUBPROTOCOLS
from hubsd.wamp.internals import (
    drop_handshake_state,
    parser_idle,
    send_now,
    sends_queued,
    take_over_producer,
)
from hubsd.wamp.router import Router
from hubsd.wamp.settings import RouterSettings
from hubsd.wamp.wire import WireSession, wire_for

_LEN16 = struct.Struct("!H")
_LEN64 = struct.Struct("!Q")


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR C{payload} with the 4-byte client C{mask} (RFC 6455 5.3), as one
    big-integer operation: a few microseconds for a typical WAMP message."""
    n = len(payload)
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class WampWebSocketProtocol(WebSocketServerProtocol):
    """One websocket connection carrying one WAMP session."""

    factory: WampWebSocketFactory
    _wamp: WireSession | None = None
    _subprotocol: str = ""
    _request: ConnectionRequest | None = None

    def onConnect(self, request: ConnectionRequest) -> str:
        for p in request.protocols:
            if p in SUBPROTOCOLS:
                self._subprotocol = p
                self._request = request
                return p
        raise ConnectionDeny(ConnectionDeny.BAD_REQUEST, "no supported WAMP subprotocol")

    def onOpen(self) -> None:
        codec = SUBPROTOCOLS[self._subprotocol]
        transport: Any = self.transport
        peer = str(self.peer)
        info: dict[str, Any] = {"type": "websocket", "protocol": self._subprotocol, "peer": peer}
        # Handshake leftovers are only needed during the handshake; an idle
        # connection should not carry its request headers (cookies!) around.
        self._request = None
        drop_handshake_state(self)
        self._wamp = WireSession(
            self.factory.router,
            wire_for(codec, "websocket"),
            transport,
            self._close_websocket,
            info,
            lambda: self.dropConnection(abort=True),
        )
        # twisted.web's HTTPChannel registered itself as the producer of the
        # transport we took over (not so with listenTCP).
        take_over_producer(transport, self._wamp.out)

    def _close_websocket(self) -> None:
        if self.state == self.STATE_OPEN:
            self.sendClose(1000)
        else:
            self.dropConnection(abort=True)

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        """
        autobahn's own frames (pong, close) go out at once, like WAMP
        frames (L{send_now}). A close frame left in Twisted's buffer would
        be lost: autobahn aborts the TCP connection as soon as the peer's
        close arrives, and with WAMP frames sent straight away the peer's
        close can arrive within the same reactor turn.
        """
        if sync or chopsize or sends_queued(self):
            WebSocketServerProtocol.sendData(self, data, sync, chopsize)
        else:
            send_now(self.transport, data)

    def dataReceived(self, data: bytes) -> None:
        """
        Fast path for the common case, one whole unfragmented masked data
        frame after another: parse and unmask here, hand each message to the
        session. Anything else (a control frame, a fragment, a frame split
        across reads, a frame over the size limit) and everything after it
        goes to autobahn's own parser, which is then also left to finish
        whatever it had buffered. Inbound parsing was about half the
        router's time under fan-out load with autobahn alone.
        """
        wamp = self._wamp
        if wamp is None or self.state != self.STATE_OPEN or not parser_idle(self):
            WebSocketServerProtocol.dataReceived(self, data)
            return
        limit = self.factory.max_message_size
        end = len(data)
        pos = 0
        while end - pos >= 6:
            b0 = data[pos]
            b1 = data[pos + 1]
            # FIN set, no RSV bits, text or binary opcode, masked (clients must).
            if (b0 != 0x81 and b0 != 0x82) or not b1 & 0x80:
                break
            length = b1 & 0x7F
            head = pos + 2
            if length == 126:
                if end - head < 2:
                    break
                (length,) = _LEN16.unpack_from(data, head)
                head += 2
            elif length == 127:
                if end - head < 8:
                    break
                (length,) = _LEN64.unpack_from(data, head)
                head += 8
            if limit and length > limit:
                break
            start = head + 4
            if start + length > end:
                break
            payload = unmask(data[start : start + length], data[head:start])
            pos = start + length
            wamp.message_received(payload)
            if self._wamp is not wamp or self.state != self.STATE_OPEN:
                break
        if pos < end:
            WebSocketServerProtocol.dataReceived(self, data[pos:])

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self._wamp is not None:
            self._wamp.message_received(payload)

    def onCloseFrame(self, code: int, reasonRaw: bytes) -> Any:
        # The peer is closing: stop sending WAMP frames behind its close frame.
        if self._wamp is not None:
            wamp, self._wamp = self._wamp, None
            wamp.connection_lost()
        return WebSocketServerProtocol.onCloseFrame(self, code, reasonRaw)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self._wamp is not None:
            wamp, self._wamp = self._wamp, None
            wamp.connection_lost()


class WampWebSocketFactory(WebSocketServerFactory):
    """Builds L{WampWebSocketProtocol}s for C{router} with C{settings}' limits."""

    protocol = WampWebSocketProtocol  # type: ignore[assignment]

    def __init__(self, router: Router, settings: RouterSettings, reactor: IReactorTime) -> None:
        WebSocketServerFactory.__init__(self, protocols=list(SUBPROTOCOLS), reactor=reactor)
        self.router = router
        #: Longest message payload a client may send (0: no limit).
        self.max_message_size = settings.max_message_size
        self.setProtocolOptions(
            maxMessagePayloadSize=settings.max_message_size,
            maxFramePayloadSize=settings.max_message_size,
            autoPingInterval=settings.auto_ping_interval,
            autoPingTimeout=settings.auto_ping_timeout,
            openHandshakeTimeout=settings.open_handshake_timeout,
            # The JSON decoder validates UTF-8 itself (strictly); checking
            # every text frame twice would only cost CPU.
            utf8validateIncoming=False,
        )
