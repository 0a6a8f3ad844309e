"""Inbound websocket framing: the fast path and autobahn's parser agree."""

from __future__ import annotations

import json
import os
import struct

import pytest

from hubsd.wamp.websocket import unmask
from tests.wamp.harness import SETTINGS
from tests.wamp.wiretools import HELLO_ROLES
from tests.wamp.wsconn import WsConn

HELLO = json.dumps([1, "realm1", {"roles": HELLO_ROLES}]).encode()


def client_frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    """A masked client frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + unmask(payload, mask)


class Conn(WsConn):
    def __init__(self) -> None:
        WsConn.__init__(self, SETTINGS)


def test_unmask_round_trips() -> None:
    data, mask = os.urandom(1001), os.urandom(4)
    assert unmask(unmask(data, mask), mask) == data
    assert unmask(b"", mask) == b""


@pytest.mark.parametrize("split", [1, 2, 5, 7, 20])
def test_frame_split_across_reads_is_reassembled(split: int) -> None:
    frame = client_frame(HELLO)
    (welcome,) = Conn().messages(frame[:split], frame[split:])
    assert welcome[0] == 2


def test_several_frames_in_one_read_are_all_handled() -> None:
    c = Conn()
    sub = json.dumps([32, 1, {}, "com.a"]).encode()
    sub2 = json.dumps([32, 2, {}, "com.b"]).encode()
    replies = c.messages(client_frame(HELLO) + client_frame(sub) + client_frame(sub2))
    assert [m[0] for m in replies] == [2, 33, 33]


def test_fragmented_message_goes_through_autobahn_and_back() -> None:
    c = Conn()
    c.messages(client_frame(HELLO))
    sub = json.dumps([32, 1, {}, "com.frag"]).encode()
    first, second = client_frame(sub[:10], fin=False), client_frame(sub[10:], opcode=0)
    after = client_frame(json.dumps([32, 2, {}, "com.next"]).encode())
    replies = c.messages(first, second + after)
    assert [m[0] for m in replies] == [33, 33]


def test_ping_between_messages_is_answered() -> None:
    c = Conn()
    c.messages(client_frame(HELLO))
    sub = client_frame(json.dumps([32, 1, {}, "com.p"]).encode())
    frames = c.feed(sub + client_frame(b"hi", opcode=9) + sub)
    # The pong goes out at once; WAMP replies at the end of the reactor turn
    # (control frames need no order relative to messages).
    assert sorted(op for op, _ in frames) == [1, 1, 10]
    assert (10, b"hi") in frames


def test_unmasked_client_frame_fails_the_connection() -> None:
    c = Conn()
    c.messages(client_frame(HELLO))
    unmasked = bytes([0x81, len(HELLO)]) + HELLO
    frames = c.feed(unmasked)
    assert frames and frames[-1][0] == 8  # close frame
    assert c.proto.state != c.proto.STATE_OPEN


def test_message_over_the_limit_drops_the_connection() -> None:
    c = Conn()
    c.messages(client_frame(HELLO))
    big = client_frame(b"[" + b"1," * (SETTINGS.max_message_size // 2) + b"1]")
    assert c.feed(big) == []
    assert c.transport.disconnecting
    assert c.proto.state == c.proto.STATE_CLOSED
