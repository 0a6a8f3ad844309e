"""
Hypothesis: whatever a peer sends, the router answers with ABORT, ERROR or
a normal reply, never lets an exception escape, never logs a failure (a
client must not be able to fill the log with tracebacks) and never leaves
a request unanswered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.logger import LogLevel, globalLogPublisher

from hubsd.wamp.codec import CBOR, JSON, MSGPACK
from hubsd.wamp.messages import SHAPES
from tests.wamp.wiretools import Peer, make_router

CODECS = {"json": JSON, "msgpack": MSGPACK, "cbor": CBOR}
TYPES = [1, 2, 3, 4, 5, 6, 8, 16, 17, 32, 33, 34, 35, 36, 48, 49, 50, 64, 65, 66, 67, 68, 69, 70]
ANSWERED = {32, 34, 48, 64, 66}  # request types that must get a reply

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["com.t", "com..t", "wamp.session.count", "com.p", "", "a b"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
options = st.dictionaries(
    st.sampled_from(
        [
            "acknowledge",
            "match",
            "exclude",
            "eligible",
            "receive_progress",
            "timeout",
            "invoke",
            "retain",
            "get_retained",
            "mode",
            "progress",
            "disclose_me",
            "droppable",
        ]
    ),
    values,
    max_size=3,
)
loose_messages = st.builds(
    lambda t, req, opts, rest: [t, req, opts, *rest],
    st.sampled_from(TYPES),
    st.one_of(st.integers(min_value=0, max_value=2**53), values),
    st.one_of(options, values),
    st.lists(values, max_size=3),
)
# A value of each kind a well-formed field has, for the shape-based strategy.
GOOD = {
    "id": st.integers(min_value=0, max_value=2**53),
    "integer": st.sampled_from([8, 16, 48, 64, 68]),
    "string": st.sampled_from(["com.t", "com.p", "wamp.session.count"]),
    # Options that are valid wherever they appear, so that the wrong element
    # is what the router must notice.
    "dict": st.sampled_from([{}, {"acknowledge": True}, {"exclude_me": False}]),
    "list": st.lists(scalars, max_size=3),
}
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), scalars, max_size=2),
)


def _fields(t: int) -> tuple[str, ...]:
    if t == 16:
        return ("id", "dict", "string", "list", "dict")
    _, required, optional = SHAPES[t]
    return required + optional


#: Every (message type, element) that a peer may get wrong.
_SLOTS = [(t, i) for t in sorted([*SHAPES, 16]) for i in range(1, len(_fields(t)) + 1)]


@st.composite
def wrong_typed(draw: st.DrawFn) -> list[Any]:
    """A message of a real shape (L{SHAPES}, or PUBLISH) with one element
    of any other type, e.g. a CALL whose args is a string; sometimes with
    elements missing too."""
    t, wrong = draw(st.sampled_from(_SLOTS))
    fields = _fields(t)
    msg: list[Any] = [t] + [draw(GOOD[kind]) for kind in fields[:wrong]]
    msg[wrong] = draw(WRONG.filter(lambda v, k=fields[wrong - 1]: not _is(k, v)))
    if draw(st.booleans()):
        msg += [draw(GOOD[kind]) for kind in fields[wrong:]]
    return msg


def _is(kind: str, v: Any) -> bool:
    """True if C{v} would be a well-typed value of C{kind}."""
    types = {"id": int, "integer": int, "string": str, "dict": dict, "list": list}
    return type(v) is types[kind] and (kind != "id" or 0 <= v <= 2**53)


messages = st.one_of(loose_messages, wrong_typed())


@pytest.fixture
def failures() -> Iterator[list[Any]]:
    seen: list[Any] = []

    def observe(event: dict[str, Any]) -> None:
        if "log_failure" in event or event.get("log_level") in (LogLevel.error, LogLevel.critical):
            seen.append(event.get("log_failure") or event.get("log_format"))

    globalLogPublisher.addObserver(observe)
    yield seen
    globalLogPublisher.removeObserver(observe)


def _check_answered(msg: list[Any], replies: list[list[Any]], peer: Peer) -> None:
    if peer.closed or any(r[0] == 3 for r in replies):
        return
    if msg[0] in ANSWERED and type(msg[1]) is int:
        if msg[0] == 48 and any(r[0] == 68 for r in replies):
            return  # our own callee got it; a pending call is fine
        ids = [r[2] if r[0] == 8 else r[1] for r in replies if r[0] in (8, 33, 35, 50, 65, 67)]
        assert msg[1] in ids, (msg, replies)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    codec=st.sampled_from(sorted(CODECS)), msgs=st.lists(messages, max_size=6), joined=st.booleans()
)
def test_random_messages_never_crash_or_hang(
    failures: list[Any], codec: str, msgs: list[list[Any]], joined: bool
) -> None:
    failures.clear()
    router, clock = make_router()
    p = Peer(router, CODECS[codec])
    other = Peer(router, CODECS[codec])
    other.join()
    other.send([64, 1, {}, "com.p"])
    if joined:
        p.join()
    for msg in msgs:
        try:
            data = p.codec.encode(msg)
        except Exception:
            continue  # not representable in this serializer
        replies = p.send_bytes(data)
        if joined:
            _check_answered(msg, replies, p)
        if p.closed:
            break
    other.read()
    clock.advance(3600)
    assert failures == []
    if p.closed:
        assert p.session.session_id not in router.realms["realm1"].sessions


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(codec=st.sampled_from(sorted(CODECS)), msg=wrong_typed())
def test_wrong_typed_fields_get_an_answer_not_a_traceback(
    failures: list[Any], codec: str, msg: list[Any]
) -> None:
    failures.clear()
    router, _ = make_router()
    p = Peer(router, CODECS[codec])
    p.join()
    try:
        data = p.codec.encode(msg)
    except Exception:
        return  # not representable in this serializer
    replies = p.send_bytes(data)
    _check_answered(msg, replies, p)
    assert failures == []


#: One value of each type a field can wrongly have.
WRONG_SAMPLES = [True, -1, 2**53 + 1, 1.5, "text", ["list"], {"d": 1}]
#: A well-typed value of each kind, for the elements around the wrong one.
RIGHT = {"id": 7, "integer": 68, "string": "com.p", "dict": {}, "list": [1]}


def test_every_element_of_every_message_with_every_wrong_type(failures: list[Any]) -> None:
    """The table behind the fuzzer: each (message, element, wrong type) once."""
    router, _ = make_router()
    for t, wrong in _SLOTS:
        fields = _fields(t)
        for value in WRONG_SAMPLES:
            if _is(fields[wrong - 1], value):
                continue
            full: list[Any] = [t] + [RIGHT[kind] for kind in fields]
            full[wrong] = value
            for msg in (full, full[: wrong + 1]):  # with and without what follows
                p = Peer(router)
                p.join()
                replies = p.send(msg)
                assert replies and replies[-1][0] in (3, 8), (msg, replies)
                assert failures == [], msg


@pytest.mark.parametrize(
    "msg",
    [
        [48, 1, {}, "com.p", "str"],
        [48, 1, {}, "com.p", [], "kwargs"],
        [48, 1, "options", "com.p"],
        [48, True, {}, "com.p"],
        [48, -1, {}, "com.p"],
        [48, 2**53 + 1, {}, "com.p"],
        [70, 1, {}, "args"],
        [8, 68, 1, {}, "com.e", {}],
        [32, 1, {}, ["com.t"]],
        [64, 1, {}, 5],
        [34, 1, "sub"],
        [6, {}, 5],
        [49, 1],
    ],
)
def test_wrong_typed_message_aborts_naming_the_element(failures: list[Any], msg: list[Any]) -> None:
    router, _ = make_router()
    p = Peer(router)
    p.join()
    (abort,) = p.send(msg)
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert "element" in abort[1]["message"]
    assert failures == []


def test_call_shape_check_does_not_rely_on_assert() -> None:
    """Under C{python -O} (no asserts) a CALL with string args still aborts."""
    import subprocess
    import sys

    script = (
        "from tests.wamp.wiretools import Peer, make_router\n"
        "router, _ = make_router()\n"
        "p = Peer(router)\n"
        "p.join()\n"
        "(abort,) = p.send([48, 1, {}, 'com.p', 'str'])\n"
        "assert abort[0] == 3, abort\n"  # stripped by -O: check the output instead
        "print(abort[2])\n"
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "wamp.error.protocol_violation"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(codec=st.sampled_from(sorted(CODECS)), blobs=st.lists(st.binary(max_size=64), max_size=4))
def test_random_bytes_abort_or_are_ignored(
    failures: list[Any], codec: str, blobs: list[bytes]
) -> None:
    failures.clear()
    router, _ = make_router()
    p = Peer(router, CODECS[codec])
    p.join()
    for blob in blobs:
        replies = p.send_bytes(blob)
        assert all(r[0] in (3, 8, 33, 35, 17, 50, 65, 67, 36, 6) for r in replies)
        if p.closed:
            break
    assert failures == []


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from(
        [b'[16,1,{},"com.t",', b"\x95\x10\x01\x80\xa5com.t", b"\x85\x10\x01\xa0ecom.t"]
    ),
    tail=st.binary(max_size=32),
)
def test_truncated_or_corrupt_publish_payloads_never_reach_subscribers_broken(
    failures: list[Any], prefix: bytes, tail: bytes
) -> None:
    codec = {b"[": JSON, b"\x95": MSGPACK, b"\x85": CBOR}[prefix[:1]]
    failures.clear()
    router, _ = make_router()
    pub, sub = Peer(router, codec), Peer(router, codec)
    pub.join()
    sub.join()
    sub.send([32, 1, {}, "com.t"])
    pub.send_bytes(prefix + tail)
    for event in sub.read():  # whatever was delivered decodes cleanly
        assert event[0] == 36
    assert failures == []


TOPICS = st.sampled_from(["com.a", "com.b", "com.a.x"])
MATCHES = st.sampled_from([None, "exact", "prefix"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), codec=st.sampled_from(sorted(CODECS)))
def test_wellformed_interleavings_leave_nothing_behind(
    failures: list[Any], data: st.DataObject, codec: str
) -> None:
    """Two peers exchange valid messages in random order, referring to each
    other's real ids; then one disconnects. Every call gets its answer and
    the router forgets everything the leaver held."""
    failures.clear()
    router, clock = make_router()
    a, b = Peer(router, CODECS[codec]), Peer(router, CODECS[codec])
    a.join()
    b.join()
    known: dict[str, list[int]] = {"sub": [], "reg": [], "inv": [], "call": []}
    answered: set[int] = set()  # request ids are unique over both peers
    callers: dict[int, Peer] = {}
    req = iter(range(1, 10_000))

    def absorb(replies: list[list[Any]]) -> None:
        for r in replies:
            if r[0] == 33:
                known["sub"].append(r[2])
            elif r[0] == 65:
                known["reg"].append(r[2])
            elif r[0] == 68:
                known["inv"].append(r[1])
            elif r[0] == 50 and not r[2].get("progress"):
                answered.add(r[1])
            elif r[0] == 8 and r[1] == 48:
                answered.add(r[2])

    def pick(kind: str) -> int:
        pool = known[kind]
        return data.draw(st.sampled_from(pool)) if pool else 12345

    for _ in range(data.draw(st.integers(min_value=1, max_value=25))):
        who = data.draw(st.sampled_from([a, b]))
        action = data.draw(
            st.sampled_from(
                [
                    "sub",
                    "unsub",
                    "pub",
                    "reg",
                    "unreg",
                    "call",
                    "yield",
                    "progress",
                    "error",
                    "cancel",
                ]
            )
        )
        r = next(req)
        if action == "sub":
            opts = {"match": m} if (m := data.draw(MATCHES)) else {}
            msg: list[Any] = [32, r, opts, data.draw(TOPICS)]
        elif action == "unsub":
            msg = [34, r, pick("sub")]
        elif action == "pub":
            msg = [16, r, {"acknowledge": data.draw(st.booleans())}, data.draw(TOPICS), [r]]
        elif action == "reg":
            invoke = data.draw(st.sampled_from(["single", "roundrobin"]))
            msg = [64, r, {"invoke": invoke}, data.draw(TOPICS)]
        elif action == "unreg":
            msg = [66, r, pick("reg")]
        elif action == "call":
            timeout_ms = data.draw(st.sampled_from([0, 1000]))
            msg = [48, r, {"receive_progress": True, "timeout": timeout_ms}, data.draw(TOPICS)]
            known["call"].append(r)
            callers[r] = who
        elif action in ("yield", "progress"):
            msg = [70, pick("inv"), {"progress": action == "progress"}, ["y"]]
        elif action == "error":
            msg = [8, 68, pick("inv"), {}, "com.error.x"]
        else:
            mode = data.draw(st.sampled_from(["skip", "kill", "killnowait"]))
            msg = [49, pick("call"), {"mode": mode}]
        absorb(who.send(msg))
        absorb(a.read())
        absorb(b.read())
    # b vanishes without a word; a must not be left waiting for anything.
    b.session.connection_lost()
    absorb(a.read())
    clock.advance(5)  # call timeouts fire
    absorb(a.read())
    realm = router.realms["realm1"]
    assert b.session.session_id not in realm.sessions
    for sub in realm.broker.by_id.values():
        assert b.session.session_id not in sub.subscribers
    for reg in realm.dealer.by_id.values():
        assert b.session not in reg.callees
    # Whatever a still waits for is only a call to its own registration
    # that a itself has not answered yet (a is alive and may still answer).
    waiting = set()
    for pending in realm.dealer._invocations.values():
        assert pending.caller is a.session and pending.callee is a.session
        waiting.add(pending.request)
    # Every call of a has its one final answer, or is that wait.
    for request, who in callers.items():
        if who is a:
            assert (request in answered) != (request in waiting), request
    assert failures == []
