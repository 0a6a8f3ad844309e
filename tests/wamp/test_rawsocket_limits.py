"""RawSocket: nothing longer than the client's announced maximum is sent."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from hubsd.wamp.codec import JSON
from hubsd.wamp.local import LocalInvocation
from hubsd.wamp.rawsocket import WampRawSocketFactory, WampRawSocketProtocol
from hubsd.wamp.router import Router
from hubsd.wamp.wire import rawsocket_frame
from tests.wamp.harness import SETTINGS
from tests.wamp.wiretools import HELLO_ROLES

BIG = "x" * 2000  # more than the 1024 bytes of length exponent 1
PAYLOAD_SIZE_EXCEEDED = "wamp.error.payload_size_exceeded"


class RawClient:
    """A RawSocket client (JSON) driven by hand over an in-memory transport."""

    def __init__(self, router: Router, exponent: int = 1) -> None:
        self.router = router
        self.max = 2 ** (9 + exponent)
        factory = WampRawSocketFactory(router, SETTINGS, Clock())
        self.protocol: WampRawSocketProtocol = factory.buildProtocol(None)  # type: ignore[assignment]
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)
        self.protocol.dataReceived(bytes((0x7F, (exponent << 4) | 1, 0, 0)))
        assert self.transport.value()[:1] == b"\x7f"
        self.transport.clear()

    def send(self, msg: list[Any]) -> list[list[Any]]:
        self.protocol.dataReceived(rawsocket_frame(JSON.encode(msg)))
        return self.read()

    def read(self) -> list[list[Any]]:
        self.router.batcher.flush()  # end the reactor turn
        data, out = self.transport.value(), []
        self.transport.clear()
        while data:
            assert data[0] == 0, "a regular message frame"
            n = int.from_bytes(data[1:4], "big")
            assert n <= self.max
            out += JSON.decode(data[4 : 4 + n])
            data = data[4 + n :]
        return out

    def join(self) -> None:
        (welcome,) = self.send([1, "realm1", {"roles": HELLO_ROLES}])
        assert welcome[0] == 2

    @property
    def session(self) -> Any:
        return self.protocol._wamp


def _router() -> Router:
    return Router(SETTINGS, Clock())


def test_event_too_big_for_the_client_is_skipped_and_counted() -> None:
    router = _router()
    client = RawClient(router)
    client.join()
    ((_, _, sub_id),) = client.send([32, 1, {}, "com.big"])
    core = router.attach_local_session("realm1", "core", "trusted")
    core.publish("com.big", [BIG])
    core.publish("com.big", ["small"])
    (event,) = client.read()
    assert event[:2] == [36, sub_id] and event[4] == ["small"]
    assert router.stats.events_too_big == 1
    assert client.session.joined and not client.transport.disconnecting


def test_result_too_big_for_the_caller_fails_the_call() -> None:
    router = _router()
    core = router.attach_local_session("realm1", "core", "trusted")
    core.register("com.big", lambda: BIG)
    client = RawClient(router)
    client.join()
    (error,) = client.send([48, 7, {}, "com.big", []])
    assert error[:5] == [8, 48, 7, {}, PAYLOAD_SIZE_EXCEEDED]
    assert client.session.joined
    # The session goes on: a small result still arrives.
    core.register("com.small", lambda: "ok")
    assert client.send([48, 8, {}, "com.small", []]) == [[50, 8, {}, ["ok"]]]


def test_invocation_too_big_for_the_callee_fails_the_caller() -> None:
    router = _router()
    client = RawClient(router)
    client.join()
    ((_, _, reg_id),) = client.send([64, 1, {}, "com.echo"])
    core = router.attach_local_session("realm1", "core", "trusted")
    failures: list[Failure] = []
    core.call("com.echo", [BIG]).addErrback(failures.append)
    assert failures[0].value.error == PAYLOAD_SIZE_EXCEEDED
    assert client.read() == []
    # A small invocation still reaches the callee.
    core.call("com.echo", ["hi"])
    ((kind, _, reg, _, args),) = client.read()
    assert (kind, reg, args) == (68, reg_id, ["hi"])


def test_progressive_result_too_big_ends_the_call_and_interrupts_the_callee() -> None:
    router = _router()
    core = router.attach_local_session("realm1", "core", "trusted")
    running: list[Deferred[Any]] = []

    def slow(details: LocalInvocation) -> Deferred[Any]:
        details.progress(BIG)
        d: Deferred[Any] = Deferred()
        running.append(d)
        return d

    core.register("com.progress", slow, details_arg="details")
    client = RawClient(router)
    client.join()
    (error,) = client.send([48, 3, {"receive_progress": True}, "com.progress", []])
    assert error[:5] == [8, 48, 3, {}, PAYLOAD_SIZE_EXCEEDED]
    # The callee was told to stop; its late answer reaches nobody.
    running[0].addErrback(lambda f: None)
    assert running[0].called
    assert client.read() == []


def test_the_client_maximum_follows_its_length_exponent() -> None:
    router = _router()
    assert RawClient(router, exponent=0).session.out.max_frame == 4 + 512
    assert RawClient(router, exponent=1).session.out.max_frame == 4 + 1024
    assert RawClient(router, exponent=3).session.out.max_frame == 4 + 4096
    # 2**24 does not fit the 24-bit length field.
    assert RawClient(router, exponent=15).session.out.max_frame == 4 + 2**24 - 1


def test_client_too_small_for_the_welcome_is_aborted() -> None:
    router = _router()
    client = RawClient(router, exponent=0)  # WELCOME with its features is longer
    (abort,) = client.send([1, "realm1", {"roles": HELLO_ROLES}])
    assert abort[0] == 3 and abort[2] == PAYLOAD_SIZE_EXCEEDED
    assert client.transport.disconnecting
    assert not router.realms["realm1"].sessions
