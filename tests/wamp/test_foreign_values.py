"""
Values one serializer has and another has not: refused at the door when they
are not WAMP values at all, skipped or answered with an error when another
serializer cannot write them; never a traceback a client could repeat.
"""

from __future__ import annotations

from collections.abc import Iterator

import cbor2
import msgpack
import pytest
from twisted.logger import LogEvent, capturedLogs

from hubsd.wamp.codec import CBOR, JSON, MSGPACK, Codec
from tests.wamp.wiretools import Peer, make_router


@pytest.fixture
def log() -> Iterator[list[LogEvent]]:
    with capturedLogs() as events:
        yield events  # type: ignore[misc]


def tracebacks(events: list[LogEvent]) -> list[LogEvent]:
    return [e for e in events if "log_failure" in e]


def _cbor_publish(args_cbor: bytes) -> bytes:
    """[16, 1, {"acknowledge": true}, "com.t", <args>] with raw CBOR args."""
    return b"\x85\x10\x01" + cbor2.dumps({"acknowledge": True}) + cbor2.dumps("com.t") + args_cbor


NOT_WAMP_CBOR = {
    "datetime tag": b"\x81\xc1\x1a\x5e\x0b\xe1\x00",  # [tag 1 (epoch time)]
    "set tag": b"\x81\xd9\x01\x02\x81\x01",  # [tag 258 [1]]
    "regex tag": b"\x81\xd8\x23\x63a+b",  # [tag 35 "a+b"]
    "unknown tag": b"\x81\xd9\x12\x34\x01",
    "undefined": b"\x81\xf7",
    "simple value": b"\x81\xf0",
    "integer map key": b"\x81\xa1\x01\x02",  # [{1: 2}]
    "cycle": b"\xd8\x1c\x81\xd8\x1d\x00",  # shareable([sharedref(0)])
    "too deep": b"\x81" * 200 + b"\x01",
}


@pytest.mark.parametrize("args", NOT_WAMP_CBOR.values(), ids=NOT_WAMP_CBOR.keys())
def test_cbor_that_is_not_a_wamp_value_is_a_protocol_violation(
    args: bytes, log: list[LogEvent]
) -> None:
    router, _ = make_router()
    pub, sub = Peer(router, CBOR), Peer(router, JSON)
    pub.join()
    sub.join()
    sub.send([32, 1, {}, "com.t"])
    (abort,) = pub.send_bytes(_cbor_publish(args))
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert sub.read() == []
    assert tracebacks(log) == []


@pytest.mark.parametrize(
    "message",
    [
        # SUBSCRIBE with a tag in its options; CALL with one in its arguments.
        b"\x84\x18\x20\x01\xa1\x65match\xc1\x00\x65com.t",
        b"\x85\x18\x30\x02\xa0\x65com.p\x81\xd9\x01\x02\x80",
        # PUBLISH with one in its options (the header the fast path keeps).
        b"\x85\x10\x01\xa1\x69exclude_m\xc1\x00\x65com.t\x80",
    ],
    ids=["subscribe-options", "call-arguments", "publish-options"],
)
def test_cbor_tags_anywhere_in_a_message_are_refused(message: bytes, log: list[LogEvent]) -> None:
    assert cbor2.loads(message)  # well-formed CBOR
    router, _ = make_router()
    peer = Peer(router, CBOR)
    peer.join()
    (abort,) = peer.send_bytes(message)
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert "not a WAMP value" in abort[1]["message"]
    assert tracebacks(log) == []


def test_cbor_values_that_wamp_has_pass() -> None:
    value = [1, -(2**63), 2.5, "s", b"\x00bin", None, True, {"k": [{}]}]
    router, _ = make_router()
    pub, sub = Peer(router, CBOR), Peer(router, CBOR)
    pub.join()
    sub.join()
    sub.send([32, 1, {}, "com.t"])
    (ack,) = pub.send_bytes(_cbor_publish(cbor2.dumps(value)))
    assert ack[0] == 17
    (event,) = sub.read()
    assert event[4] == value


@pytest.mark.parametrize(
    "message",
    [
        [16, 1, {}, "com.t", [msgpack.ExtType(5, b"x")]],
        [48, 1, {}, "com.p", [msgpack.ExtType(5, b"")]],
    ],
    ids=["publish", "call"],
)
def test_msgpack_extension_type_is_a_protocol_violation(
    message: list[object], log: list[LogEvent]
) -> None:
    router, _ = make_router()
    pub = Peer(router, MSGPACK)
    pub.join()
    (abort,) = pub.send_bytes(msgpack.packb(message))
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert tracebacks(log) == []


# (publisher serializer, raw PUBLISH, receiver serializer that cannot write it)
FOREIGN = {
    "cbor integer beyond 64 bits to msgpack": (
        CBOR,
        _cbor_publish(cbor2.dumps([2**70])),
        MSGPACK,
    ),
    "msgpack binary map key to json": (
        MSGPACK,
        msgpack.packb([16, 1, {"acknowledge": True}, "com.t", [{b"k": 1}]]),
        JSON,
    ),
    "msgpack timestamp to cbor": (
        MSGPACK,
        msgpack.packb([16, 1, {"acknowledge": True}, "com.t", [msgpack.Timestamp(1, 0)]]),
        CBOR,
    ),
}


@pytest.mark.parametrize(("codec", "data", "other"), FOREIGN.values(), ids=FOREIGN.keys())
def test_event_another_serializer_cannot_write_skips_its_receivers_quietly(
    codec: Codec, data: bytes, other: Codec, log: list[LogEvent]
) -> None:
    router, _ = make_router()
    pub, same, foreign = Peer(router, codec), Peer(router, codec), Peer(router, other)
    for peer in (pub, same, foreign):
        peer.join()
    same.send([32, 1, {}, "com.t"])
    foreign.send([32, 1, {}, "com.t"])
    for _ in range(3):
        (ack,) = pub.send_bytes(data)
        assert ack[0] == 17
        assert len(same.read()) == 1
        assert foreign.read() == []
    assert tracebacks(log) == []
    assert len([e for e in log if e["log_level"].name == "warn"]) <= 1


def test_call_the_callee_cannot_receive_fails_with_invalid_argument(
    log: list[LogEvent],
) -> None:
    router, _ = make_router()
    caller, callee = Peer(router, CBOR), Peer(router, MSGPACK)
    caller.join()
    callee.join()
    callee.send([64, 1, {}, "com.proc"])
    for request in (2, 3, 4):
        (error,) = caller.send([48, request, {}, "com.proc", [2**70]])
        assert error[:3] == [8, 48, request]
        assert error[4] == "wamp.error.invalid_argument"
        assert callee.read() == []
    assert tracebacks(log) == []
    # One line for the session, not one per call.
    assert len([e for e in log if e["log_level"].name == "warn"]) == 1
