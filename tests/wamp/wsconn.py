"""A websocket connection to the router over an in-memory transport, for tests."""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import Any

from twisted.internet.testing import StringTransport

from hubsd.wamp.settings import RouterSettings
from hubsd.wamp.websocket import WampWebSocketFactory
from tests.wamp.wiretools import make_router


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of unmasked server frames."""
    out = []
    while data:
        opcode, n, pos = data[0] & 0x0F, data[1] & 0x7F, 2
        if n == 126:
            (n,), pos = struct.unpack("!H", data[2:4]), 4
        elif n == 127:
            (n,), pos = struct.unpack("!Q", data[2:10]), 10
        out.append((opcode, data[pos : pos + n]))
        data = data[pos + n :]
    return out


class WsConn:
    """One websocket connection (wamp.2.json) to a router of its own, opened."""

    def __init__(self, settings: RouterSettings) -> None:
        self.router, self.clock = make_router(settings)
        factory = WampWebSocketFactory(self.router, settings, self.clock)
        self.proto: Any = factory.buildProtocol(None)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)
        key = base64.b64encode(os.urandom(16)).decode()
        self.proto.dataReceived(
            (
                "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
            ).encode()
        )
        assert self.transport.value().startswith(b"HTTP/1.1 101")
        self.transport.clear()

    def feed(self, *chunks: bytes) -> list[tuple[int, bytes]]:
        """Give the server C{chunks}; return the frames it sent back."""
        for chunk in chunks:
            self.proto.dataReceived(chunk)
        self.router.batcher.flush()
        out = server_frames(self.transport.value())
        self.transport.clear()
        return out

    def messages(self, *chunks: bytes) -> list[Any]:
        """The WAMP messages the server answered C{chunks} with."""
        return [json.loads(p) for op, p in self.feed(*chunks) if op == 1]

    def replies(self, *chunks: bytes) -> list[Any]:
        """The message types of those answers."""
        return [m[0] for m in self.messages(*chunks)]
