"""The RawSocket handshake and framing, byte by byte, over an in-memory transport."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from hubsd.wamp.codec import JSON
from hubsd.wamp.rawsocket import (
    ERR_RESERVED_BITS,
    ERR_SERIALIZER_UNSUPPORTED,
    SERIALIZERS,
    WampRawSocketFactory,
    length_exponent,
)
from hubsd.wamp.router import Router
from hubsd.wamp.wire import rawsocket_frame
from tests.wamp.harness import SETTINGS
from tests.wamp.wiretools import HELLO_ROLES


class Raw:
    """One RawSocket connection driven by hand."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.router = Router(SETTINGS, self.clock)
        self.protocol: Any = WampRawSocketFactory(self.router, SETTINGS, self.clock).buildProtocol(
            None
        )
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def feed(self, data: bytes) -> bytes:
        self.protocol.dataReceived(data)
        self.router.batcher.flush()
        out = self.transport.value()
        self.transport.clear()
        return out

    def open(self, serializer: int = 1, exponent: int = 15) -> bytes:
        return self.feed(bytes((0x7F, (exponent << 4) | serializer, 0, 0)))

    def messages(self, data: bytes) -> list[Any]:
        out = []
        while data:
            assert data[0] == 0
            n = int.from_bytes(data[1:4], "big")
            out += JSON.decode(data[4 : 4 + n])
            data = data[4 + n :]
        return out


def test_what_the_server_announces_covers_its_maximum_message_size() -> None:
    ours = length_exponent(min(SETTINGS.max_message_size, 2**24 - 1))
    for serializer in SERIALIZERS:
        reply = Raw().open(serializer)
        assert reply == bytes((0x7F, (ours << 4) | serializer, 0, 0))


@pytest.mark.parametrize("serializer", [0, 4, 5, 15])
def test_unknown_serializer_is_refused_with_error_1(serializer: int) -> None:
    raw = Raw()
    assert raw.open(serializer) == bytes((0x7F, ERR_SERIALIZER_UNSUPPORTED << 4, 0, 0))
    assert raw.transport.disconnecting


@pytest.mark.parametrize("reserved", [b"\x01\x00", b"\x00\x01", b"\xff\xff"])
def test_reserved_handshake_bytes_are_refused_with_error_3(reserved: bytes) -> None:
    raw = Raw()
    assert raw.feed(b"\x7f\x11" + reserved) == bytes((0x7F, ERR_RESERVED_BITS << 4, 0, 0))
    assert raw.transport.disconnecting


def test_a_client_that_is_not_rawsocket_is_cut_without_a_reply() -> None:
    raw = Raw()
    assert raw.feed(b"GET / HTTP/1.1\r\n") == b""
    assert raw.transport.disconnecting


def test_handshake_split_across_reads_is_waited_for() -> None:
    raw = Raw()
    assert raw.feed(b"\x7f") == b""
    assert raw.feed(b"\xf1\x00") == b""
    assert raw.feed(b"\x00")[:1] == b"\x7f"
    assert not raw.transport.disconnecting


def test_no_handshake_within_the_timeout_aborts() -> None:
    raw = Raw()
    raw.clock.advance(SETTINGS.open_handshake_timeout + 0.01)
    assert raw.transport.disconnecting


def test_handshakes_in_time_cancel_the_timeouts() -> None:
    raw = Raw()
    raw.open()
    hello = rawsocket_frame(JSON.encode([1, "realm1", {"roles": HELLO_ROLES}]))
    assert raw.messages(raw.feed(hello))[0][0] == 2
    raw.clock.advance(SETTINGS.open_handshake_timeout + 0.01)
    assert not raw.transport.disconnecting


def test_rawsocket_handshake_without_hello_still_times_out() -> None:
    raw = Raw()
    raw.open()
    raw.clock.advance(SETTINGS.open_handshake_timeout + 0.01)
    assert raw.transport.disconnecting


def test_ping_is_answered_with_a_pong_of_the_same_payload() -> None:
    raw = Raw()
    raw.open()
    assert raw.feed(b"\x01\x00\x00\x03abc") == b"\x02\x00\x00\x03abc"


def test_frames_split_and_joined_arrive_as_whole_messages() -> None:
    raw = Raw()
    raw.open()
    hello = rawsocket_frame(JSON.encode([1, "realm1", {"roles": HELLO_ROLES}]))
    sub = rawsocket_frame(JSON.encode([32, 1, {}, "com.t"]))
    data = hello + sub
    out = b"".join(raw.feed(data[i : i + 7]) for i in range(0, len(data), 7))
    assert [m[0] for m in raw.messages(out)] == [2, 33]


@pytest.mark.parametrize(
    "frame",
    [b"\x03\x00\x00\x00", b"\x07\x00\x00\x01x", b"\x00" + (2**24 - 1).to_bytes(3, "big")],
    ids=["type-3", "type-7", "longer-than-our-maximum"],
)
def test_bad_frame_aborts_with_protocol_violation(frame: bytes) -> None:
    raw = Raw()
    raw.open()
    (abort,) = raw.messages(raw.feed(frame))
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert raw.router.stats.protocol_violations == 1


def test_frame_missing_its_last_byte_waits_for_it() -> None:
    raw = Raw()
    raw.open()
    ping = b"\x01\x00\x00\x03abc"
    assert raw.feed(ping[:-1]) == b""
    assert raw.feed(ping[-1:]) == b"\x02\x00\x00\x03abc"


def test_frame_of_exactly_the_maximum_length_is_accepted_and_one_more_is_not() -> None:
    limit = min(SETTINGS.max_message_size, 2**24 - 1)
    raw = Raw()
    raw.open()
    length, payload = limit.to_bytes(3, "big"), b"p" * limit
    assert raw.feed(b"\x01" + length + payload) == b"\x02" + length + payload  # PING, PONG
    (abort,) = raw.messages(raw.feed(b"\x01" + (limit + 1).to_bytes(3, "big")))
    assert abort[2] == "wamp.error.protocol_violation"
