"""The router session driven message by message, without sockets."""

from __future__ import annotations

from typing import Any

from hubsd.wamp.codec import CBOR, JSON, MSGPACK
from hubsd.wamp.settings import RouterSettings
from tests.wamp.harness import OPEN_ROLE
from tests.wamp.wiretools import Peer, make_router


def test_welcome_announces_identity_and_features() -> None:
    router, _ = make_router()
    welcome = Peer(router).join()
    session_id, details = welcome[1], welcome[2]
    assert 1 <= session_id <= 2**53
    assert details["realm"] == "realm1"
    assert details["authrole"] == "anonymous"
    assert details["authmethod"] == "anonymous"
    assert details["roles"]["broker"]["features"]["event_retention"] is True
    assert details["roles"]["dealer"]["features"]["call_canceling"] is True


def test_anonymous_can_be_disabled() -> None:
    router, _ = make_router(RouterSettings(realms=("realm1",), anonymous_role=""))
    p = Peer(router)
    (abort,) = p.send([1, "realm1", {"roles": {"subscriber": {}}}])
    assert abort[0] == 3 and abort[2] == "wamp.error.no_auth_method"
    assert p.closed


def test_message_before_hello_is_a_protocol_violation() -> None:
    router, _ = make_router()
    p = Peer(router)
    (abort,) = p.send([32, 1, {}, "com.x"])
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert p.closed
    assert router.stats.protocol_violations == 1


def test_second_hello_aborts_and_cleans_up() -> None:
    router, _ = make_router()
    p = Peer(router)
    p.join()
    assert p.send([32, 1, {}, "com.x"])[0][0] == 33
    (abort,) = p.send([1, "realm1", {"roles": {"subscriber": {}}}])
    assert abort[2] == "wamp.error.protocol_violation"
    realm = router.realms["realm1"]
    assert realm.sessions == {} and realm.broker.by_id == {}


def test_garbage_bytes_abort() -> None:
    router, _ = make_router()
    p = Peer(router)
    p.join()
    (abort,) = p.send_bytes(b"\xff{not json")
    assert abort[2] == "wamp.error.protocol_violation"


def test_goodbye_is_answered_and_closes() -> None:
    router, _ = make_router()
    p = Peer(router)
    p.join()
    (bye,) = p.send([6, {}, "wamp.close.close_realm"])
    assert bye == [6, {}, "wamp.close.goodbye_and_out"]
    assert p.closed


def test_invalid_topic_is_an_error_not_an_abort() -> None:
    router, _ = make_router()
    p = Peer(router)
    p.join()
    (err,) = p.send([16, 7, {"acknowledge": True}, "bad topic#"])
    assert err[:5] == [8, 16, 7, {}, "wamp.error.invalid_uri"]
    assert not p.closed


def test_same_serializer_event_is_the_raw_slice_spliced() -> None:
    router, _ = make_router()
    a, b = Peer(router, MSGPACK), Peer(router, MSGPACK)
    a.join()
    b.join()
    sub_id = b.send([32, 1, {}, "com.t"])[0][2]
    a.send([16, 2, {}, "com.t", [1, {"x": b"\x01"}], {"k": 2}])
    (event,) = b.read()
    assert event[0] == 36 and event[1] == sub_id
    assert event[4:] == [[1, {"x": b"\x01"}], {"k": 2}]


def _flood_setup(**limits: Any) -> tuple[Any, Peer, Peer, int]:
    settings = RouterSettings(realms=("realm1",), roles=(OPEN_ROLE,), **limits)
    router, _ = make_router(settings)
    pub, slow = Peer(router, CBOR), Peer(router, CBOR)
    pub.join()
    slow.join()
    sub_pos = slow.send([32, 1, {}, "com.pos"])[0][2]
    slow.send([32, 2, {}, "com.chat"])
    slow.session.out.pauseProducing()
    return router, pub, slow, sub_pos


def test_paused_session_queues_and_flushes_in_order() -> None:
    router, pub, slow, _ = _flood_setup()
    for i in range(5):
        pub.send([16, i + 10, {}, "com.chat", [i]])
    assert slow.read() == []
    slow.session.out.resumeProducing()
    assert [m[4] for m in slow.read()] == [[0], [1], [2], [3], [4]]


def test_newer_droppable_event_supersedes_queued_one() -> None:
    router, pub, slow, _ = _flood_setup()
    pub.send([16, 1, {"droppable": True}, "com.pos", ["p1"]])
    pub.send([16, 2, {}, "com.chat", ["hello"]])
    pub.send([16, 3, {"droppable": True}, "com.pos", ["p2"]])
    slow.session.out.resumeProducing()
    assert [m[4] for m in slow.read()] == [["hello"], ["p2"]]
    assert router.stats.events_superseded == 1


def test_droppable_event_supersedes_only_its_own_publishers_update() -> None:
    router, alice, slow, _ = _flood_setup()
    bob = Peer(router, CBOR)
    bob.join()
    alice.send([16, 1, {"droppable": True}, "com.pos", ["alice-1"]])
    bob.send([16, 2, {"droppable": True}, "com.pos", ["bob-1"]])
    alice.send([16, 3, {"droppable": True}, "com.pos", ["alice-2"]])
    slow.session.out.resumeProducing()
    # Bob's update survives Alice's newer one; Alice's older one does not.
    assert [m[4] for m in slow.read()] == [["bob-1"], ["alice-2"]]
    assert router.stats.events_superseded == 1


def test_droppable_topics_from_settings_are_dropped_past_soft_limit() -> None:
    router, pub, slow, _ = _flood_setup(
        outgoing_soft_limit=100, outgoing_hard_limit=100_000, droppable_topics=("com.p*",)
    )
    big = "x" * 200
    pub.send([16, 1, {}, "com.chat", [big]])  # reliable, now over the soft limit
    pub.send([16, 2, {}, "com.pos", ["p"]])  # droppable, nothing to supersede: dropped
    pub.send([16, 3, {}, "com.chat", ["reliable"]])  # reliable: kept
    slow.session.out.resumeProducing()
    assert [m[4] for m in slow.read()] == [[big], ["reliable"]]
    assert router.stats.events_dropped == 1


def test_session_past_hard_limit_is_disconnected() -> None:
    router, pub, slow, _ = _flood_setup(outgoing_soft_limit=100, outgoing_hard_limit=1000)
    for i in range(20):
        pub.send([16, i + 1, {}, "com.chat", ["y" * 100]])
    assert slow.closed
    assert router.stats.slow_disconnects == 1
    assert slow.session.session_id not in router.realms["realm1"].sessions
    # The publisher is unaffected.
    assert pub.send([16, 99, {"acknowledge": True}, "com.chat", []])[0][0] == 17


def test_shutdown_says_goodbye_to_everyone() -> None:
    router, _ = make_router()
    peers = [Peer(router) for _ in range(3)]
    for p in peers:
        p.join()
    d = router.shutdown("wamp.close.system_shutdown")
    for p in peers:
        (bye,) = p.read()
        assert bye[0] == 6 and bye[2] == "wamp.close.system_shutdown"
        assert p.closed
    assert d.called
    assert router.realms["realm1"].sessions == {}


def test_publish_with_non_list_args_is_a_protocol_violation() -> None:
    for codec in (JSON, MSGPACK, CBOR):
        router, _ = make_router()
        pub, sub = Peer(router, codec), Peer(router, codec)
        pub.join()
        sub.join()
        sub.send([32, 1, {}, "com.t"])
        (abort,) = pub.send([16, 2, {}, "com.t", 5])
        assert abort[2] == "wamp.error.protocol_violation"
        assert sub.read() == []


def test_clients_cannot_publish_as_the_router() -> None:
    router, _ = make_router()
    p = Peer(router)
    p.join()
    (err,) = p.send([16, 1, {"acknowledge": True}, "wamp.session.on_join", [{}]])
    assert err[4] == "wamp.error.not_authorized"
    (err,) = p.send([64, 2, {}, "wamp.session.count"])
    assert err[4] in ("wamp.error.invalid_uri", "wamp.error.not_authorized")


def test_failing_dynamic_authorizer_denies_without_killing_the_session() -> None:
    # No role rules at all: every request goes to the (broken) dynamic hook.
    router, _ = make_router(RouterSettings(realms=("realm1",)))

    def broken(*args: Any) -> bool:
        raise RuntimeError("bug in hook")

    router.set_authorizer(broken)
    p = Peer(router)
    p.join()
    (err,) = p.send([32, 1, {}, "com.x"])
    assert err[4] == "wamp.error.not_authorized"
    assert not p.closed
    assert p.send([6, {}, "wamp.close.normal"])[0][0] == 6


def test_session_that_never_says_hello_is_closed() -> None:
    router, clock = make_router()
    p = Peer(router)
    clock.advance(router.settings.open_handshake_timeout + 0.1)
    (abort,) = p.read()
    assert abort[0] == 3 and abort[2] == "wamp.error.timeout"
    assert p.closed


def test_authenticator_that_never_answers_does_not_leave_a_stuck_session() -> None:
    from twisted.internet.defer import Deferred

    router, clock = make_router()
    router.set_authenticator("slow", lambda realm, authid, details: Deferred())
    p = Peer(router)
    assert p.send([1, "realm1", {"roles": {"caller": {}}, "authmethods": ["slow"]}]) == []
    clock.advance(router.settings.open_handshake_timeout + 0.1)
    (abort,) = p.read()
    assert abort[2] == "wamp.error.timeout"
    assert p.closed
    assert router.session_ids == set()


def test_joined_session_is_not_timed_out() -> None:
    router, clock = make_router()
    p = Peer(router)
    p.join()
    clock.advance(3600)
    assert p.read() == [] and not p.closed


def test_protocol_violation_is_counted_once() -> None:
    router, _ = make_router()
    p = Peer(router)
    p.join()
    p.send_bytes(b"not json")
    assert router.stats.protocol_violations == 1
    p.send_bytes(b"still not json")
    assert router.stats.protocol_violations == 1


def test_unencodable_result_becomes_an_error_not_a_hang() -> None:
    router, _ = make_router()
    core = router.attach_local_session("realm1", "core", "trusted")
    core.register("com.weird", lambda: {1, 2})  # a set: msgpack cannot encode it
    p = Peer(router, MSGPACK)
    p.join()
    (err,) = p.send([48, 5, {}, "com.weird"])
    assert err[:5] == [8, 48, 5, {}, "wamp.error.invalid_argument"]


def test_unencodable_invocation_fails_the_call() -> None:
    router, _ = make_router()
    callee = Peer(router, MSGPACK)
    callee.join()
    callee.send([64, 1, {}, "com.p"])
    core = router.attach_local_session("realm1", "core", "trusted")
    failures: list[Any] = []
    core.call("com.p", [{1, 2}]).addErrback(failures.append)
    assert callee.read() == []
    assert failures[0].value.error == "wamp.error.invalid_argument"


def test_closing_session_that_never_drains_is_cut_after_grace() -> None:
    from hubsd.wamp.wire import CLOSE_GRACE

    router, clock = make_router()
    p = Peer(router)
    p.join()
    aborted: list[bool] = []
    p.session._abort = lambda: aborted.append(True)  # type: ignore[method-assign]
    p.session.out.pauseProducing()
    p.send([6, {}, "wamp.close.normal"])  # GOODBYE reply waits in the queue
    assert not p.closed
    clock.advance(CLOSE_GRACE + 1)
    assert aborted == [True]


def test_dynamic_authorizer_cannot_grant_publishing_as_the_router() -> None:
    router, _ = make_router()
    router.set_authorizer(lambda details, action, uri, options: True)
    p = Peer(router)
    p.join()
    (err,) = p.send([16, 1, {"acknowledge": True}, "wamp.session.on_join", [{}]])
    assert err[4] == "wamp.error.not_authorized"
