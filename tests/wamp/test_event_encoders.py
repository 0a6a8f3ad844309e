"""Other kinds of session: their own event encoder, the same outgoing queue."""

from __future__ import annotations

from typing import Any

from twisted.internet.testing import StringTransport

from hubsd.wamp.auth import Authenticated
from hubsd.wamp.codec import JSON, MSGPACK
from hubsd.wamp.outgoing import Outgoing
from hubsd.wamp.payload import Payload
from hubsd.wamp.session import RouterSession
from tests.wamp.wiretools import Peer, make_router


class PhoenixLikeEncoder:
    """Encodes an event as `topic|publication|args` and counts its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, dict[str, Any]]] = []

    def event(
        self,
        topic: str,
        subscription: int,
        publication: int,
        details: dict[str, Any],
        payload: Payload,
    ) -> bytes:
        self.calls.append((topic, subscription, details))
        return f"{topic}|{payload.args}".encode()


class GatewaySession(RouterSession):
    """A session of another protocol: replies are values, events are bytes."""

    def __init__(self, router: Any, encoder: PhoenixLikeEncoder) -> None:
        RouterSession.__init__(self, router)
        self.wire = encoder
        self.transport = StringTransport()
        self.replies: list[list[Any]] = []
        s = router.settings
        self.out = Outgoing(
            self.transport,
            s.outgoing_soft_limit,
            s.outgoing_hard_limit,
            router.stats,
            lambda why: None,
            router.batcher,
        )

    def send(self, msg: list[Any]) -> None:
        self.replies.append(msg)

    def received(self) -> bytes:
        self.router.batcher.flush()
        data: bytes = self.transport.value()
        self.transport.clear()
        return data


def _gateways(n: int) -> tuple[Any, PhoenixLikeEncoder, list[GatewaySession]]:
    router, _ = make_router()
    enc = PhoenixLikeEncoder()
    sessions = []
    for i in range(n):
        s = GatewaySession(router, enc)
        router.attach(s, "realm1", Authenticated(f"member-{i}", "anonymous"))
        s.handle([32, 1, {}, "com.room.naf"])
        sessions.append(s)
    return router, enc, sessions


def test_events_are_encoded_once_per_encoder_and_publication() -> None:
    router, enc, gateways = _gateways(3)
    wamp = Peer(router, JSON)
    wamp.join()
    wamp.send([32, 1, {}, "com.room.naf"])
    (event,) = wamp.send([16, 2, {"exclude_me": False}, "com.room.naf", ["u"]])
    assert event[0] == 36 and event[4] == ["u"]
    assert len(enc.calls) == 1
    for g in gateways:
        assert g.received() == b"com.room.naf|['u']"


def test_encoder_gets_the_topic_for_exact_and_pattern_subscriptions() -> None:
    router, enc, (g,) = _gateways(1)
    g.handle([32, 2, {"match": "prefix"}, "com.room."])
    core = router.attach_local_session("realm1", "core", "trusted")
    core.publish("com.room.naf", ["x"])
    assert sorted((topic, "topic" in details) for topic, _, details in enc.calls) == [
        ("com.room.naf", False),
        ("com.room.naf", True),
    ]


def test_encoded_events_share_the_wamp_queue_and_its_superseding() -> None:
    router, enc, (g,) = _gateways(1)
    g.out.pauseProducing()
    core = router.attach_local_session("realm1", "core", "trusted")
    core.publish("com.room.naf", ["p1"], droppable=True)
    core.publish("com.room.naf", ["p2"], droppable=True)
    assert g.received() == b""
    g.out.resumeProducing()
    assert g.received() == b"com.room.naf|['p2']"
    assert router.stats.events_superseded == 1


def test_retained_events_go_through_the_encoder_too() -> None:
    router, enc, (g,) = _gateways(1)
    core = router.attach_local_session("realm1", "core", "trusted")
    core.publish("com.room.state", [1], retain=True)
    g.handle([32, 5, {"get_retained": True}, "com.room.state"])
    assert g.received() == b"com.room.state|[1]"
    assert enc.calls[-1][2] == {"retained": True}


def test_local_publish_of_a_received_payload_splices_the_raw_slice() -> None:
    router, _ = make_router()
    relay = router.attach_local_session("realm1", "relay", "trusted")
    seen: list[Any] = []
    relay.subscribe("com.in", seen.append)
    pub, sub = Peer(router, MSGPACK), Peer(router, MSGPACK)
    pub.join()
    sub.join()
    sub.send([32, 1, {}, "com.out"])
    pub.send([16, 2, {}, "com.in", [{"k": b"\x01"}]])
    (event,) = seen
    relay.publish("com.out", payload=event.payload)
    (out,) = sub.read()
    assert out[4] == [{"k": b"\x01"}]
    assert event.payload.raw is not None  # never decoded to be re-sent


def test_one_local_event_per_subscription_and_publication() -> None:
    router, _ = make_router()
    a = router.attach_local_session("realm1", "a", "trusted")
    b = router.attach_local_session("realm1", "b", "trusted")
    got_a: list[Any] = []
    got_b: list[Any] = []
    a.subscribe("com.t", got_a.append)
    b.subscribe("com.t", got_b.append)
    p = Peer(router)
    p.join()
    p.send([16, 1, {}, "com.t", ["x"]])
    assert len(got_a) == 1 and got_a[0] is got_b[0]
    assert got_a[0].args == ["x"] and got_a[0].topic == "com.t"


def test_local_handlers_never_run_in_the_middle_of_a_fan_out() -> None:
    router, _ = make_router()
    order: list[tuple[str, str]] = []
    a = router.attach_local_session("realm1", "a", "trusted")
    b = router.attach_local_session("realm1", "b", "trusted")

    def on_a(event: Any) -> None:
        order.append(("a", event.args[0]))
        if event.args[0] == "first":
            a.publish("com.t", ["second"], exclude_me=False)

    a.subscribe("com.t", on_a)
    b.subscribe("com.t", lambda e: order.append(("b", e.args[0])))
    p = Peer(router)
    p.join()
    p.send([16, 1, {}, "com.t", ["first"]])
    # Everyone gets "first" before anyone gets what a handler published in reaction.
    assert order == [("a", "first"), ("b", "first"), ("a", "second"), ("b", "second")]


def test_local_session_that_left_gets_no_queued_event() -> None:
    router, _ = make_router()
    a = router.attach_local_session("realm1", "a", "trusted")
    b = router.attach_local_session("realm1", "b", "trusted")
    got: list[Any] = []
    a.subscribe("com.t", lambda e: b.leave())
    b.subscribe("com.t", got.append)
    a.publish("com.t", ["x"], exclude_me=False)
    assert got == []
