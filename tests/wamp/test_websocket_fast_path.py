"""
The websocket fast path's edges: every header length form split at every
byte, the size limit at its boundary, unmasked frames, and a read that
continues a frame Autobahn's parser holds.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import Any

import pytest
from twisted.internet.testing import StringTransport

from hubsd.wamp.settings import RouterSettings
from hubsd.wamp.websocket import WampWebSocketFactory
from tests.wamp.harness import OPEN_ROLE
from tests.wamp.wiretools import HELLO_ROLES, make_router

LIMIT = 100_000
SETTINGS = RouterSettings(realms=("realm1",), roles=(OPEN_ROLE,), max_message_size=LIMIT)
HELLO = json.dumps([1, "realm1", {"roles": HELLO_ROLES}]).encode()


def frame(payload: bytes, opcode: int = 1, mask: bytes | None = None, masked: bool = True) -> bytes:
    """A client frame with the shortest length form (RFC 6455 5.2)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, (0x80 if masked else 0) | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, (0x80 if masked else 0) | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, (0x80 if masked else 0) | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    mask = mask or os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def publish(size: int, request: int = 1) -> bytes:
    """An acknowledged PUBLISH of about C{size} bytes."""
    head = b'[16,%d,{"acknowledge":true},"com.t",["' % request
    return head + b"x" * (size - len(head) - 3) + b'"]]'


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
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


class Conn:
    """One websocket connection over an in-memory transport, opened."""

    def __init__(self) -> None:
        self.router, self.clock = make_router(SETTINGS)
        factory = WampWebSocketFactory(self.router, SETTINGS, self.clock)
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
        for chunk in chunks:
            self.proto.dataReceived(chunk)
        self.router.batcher.flush()
        out = server_frames(self.transport.value())
        self.transport.clear()
        return out

    def replies(self, *chunks: bytes) -> list[Any]:
        return [json.loads(p)[0] for op, p in self.feed(*chunks) if op == 1]

    def joined(self) -> Conn:
        assert self.replies(frame(HELLO)) == [2]
        return self


@pytest.mark.parametrize("size", [100, 1000, 70_000], ids=["7-bit", "16-bit", "64-bit"])
def test_a_frame_split_at_any_byte_of_its_header_or_end_is_one_message(size: int) -> None:
    data = frame(publish(size))
    header = 2 + {100: 0, 1000: 2, 70_000: 8}[size] + 4
    for split in [*range(1, header + 2), len(data) - 1]:
        c = Conn().joined()
        assert c.replies(data[:split], data[split:]) == [17], f"split at {split}"


@pytest.mark.parametrize("size", [100, 1000, 70_000], ids=["7-bit", "16-bit", "64-bit"])
def test_several_frames_in_one_read_are_all_answered(size: int) -> None:
    c = Conn().joined()
    data = b"".join(frame(publish(size, request)) for request in (1, 2, 3))
    assert c.replies(data) == [17, 17, 17]


def test_a_message_of_exactly_the_limit_is_accepted() -> None:
    c = Conn().joined()
    assert c.replies(frame(publish(LIMIT))) == [17]


def test_a_message_one_byte_over_the_limit_fails_the_connection() -> None:
    c = Conn().joined()
    assert c.feed(frame(publish(LIMIT + 1))) == []
    assert c.transport.disconnecting
    assert "exceeds payload limit" in c.proto.wasNotCleanReason


def test_an_unmasked_client_frame_is_a_websocket_protocol_error() -> None:
    # Autobahn's parser refuses it and drops the connection; the fast path
    # must never read it as if it were masked (no WAMP ABORT).
    for followed_by in (b"", frame(publish(100, 2)) * 3):
        c = Conn().joined()
        assert c.feed(frame(publish(100), masked=False) + followed_by) == []
        assert c.transport.disconnecting
        assert "unmasked" in c.proto.wasNotCleanReason


def test_a_read_continuing_a_held_frame_is_not_parsed_as_a_new_frame() -> None:
    c = Conn().joined()
    payload = publish(100)
    # A mask that makes the masked payload itself look like the start of a
    # small frame: only Autobahn's parser, which holds the header, knows better.
    mask = bytes([payload[0] ^ 0x81, payload[1] ^ 0x80, 0, 0])
    data = frame(payload, mask=mask)
    assert data[6:8] == b"\x81\x80"
    assert c.replies(data[:6], data[6:]) == [17]
