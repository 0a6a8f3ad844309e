"""In-process sessions, driven without sockets."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import globalLogPublisher

from hubsd.wamp.errors import WampError
from hubsd.wamp.local import LocalEvent
from tests.wamp.wiretools import Peer, make_router


def _result(d: Deferred[Any]) -> Any:
    """The result of a Deferred that has fired (raises its failure)."""
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "the Deferred has not fired"
    if hasattr(out[0], "raiseException"):
        out[0].raiseException()
    return out[0]


def test_local_session_leave_cleans_up() -> None:
    router, _ = make_router()
    local = router.attach_local_session("realm1", "core", "trusted")
    _result(local.subscribe("com.x", lambda e: None))
    _result(local.register("com.p", lambda: 1))
    realm = router.realms["realm1"]
    assert realm.broker.by_id and realm.dealer.by_id
    local.leave()
    assert local.left.called
    assert not realm.broker.by_id and not realm.dealer.by_id
    assert local.session_id not in realm.sessions


def test_local_session_after_leave_fails_fast() -> None:
    router, _ = make_router()
    core = router.attach_local_session("realm1", "core", "trusted")
    core.leave()
    for attempt in (
        core.call("com.x"),
        core.publish("com.x"),
        core.publish("com.x", acknowledge=True),
        core.subscribe("com.x", lambda e: None),
        core.register("com.x", lambda: None),
    ):
        failures: list[Any] = []
        attempt.addErrback(failures.append)
        assert failures and failures[0].check(WampError)


def test_pending_requests_fail_when_the_session_leaves() -> None:
    router, _ = make_router()
    callee = Peer(router)
    callee.join()
    callee.send([64, 1, {}, "com.slow"])
    core = router.attach_local_session("realm1", "core", "trusted")
    pending = core.call("com.slow")
    core.leave()
    failures: list[Any] = []
    pending.addErrback(failures.append)
    assert failures[0].value.error == "wamp.error.canceled"


def test_local_pattern_subscriber_and_retained_event() -> None:
    router, _ = make_router()
    core = router.attach_local_session("realm1", "core", "trusted")
    _result(core.publish("com.rooms.r1.state", [{"v": 1}], retain=True, acknowledge=True))
    events: list[LocalEvent] = []
    _result(core.subscribe("com.rooms.", events.append, match="prefix", get_retained=True))
    assert [(e.topic, e.retained, e.args) for e in events] == [
        ("com.rooms.r1.state", True, [{"v": 1}])
    ]
    _result(core.publish("com.rooms.r2.state", [2], exclude_me=False, acknowledge=True))
    assert events[-1].topic == "com.rooms.r2.state" and not events[-1].retained


def test_killed_local_session_is_told() -> None:
    router, _ = make_router()
    victim = router.attach_local_session("realm1", "gw", "trusted")
    admin = router.attach_local_session("realm1", "admin", "trusted")
    _result(admin.call("wamp.session.kill", [victim.session_id]))
    assert victim.left.called
    assert not victim.joined


def test_two_handlers_of_one_session_share_a_subscription() -> None:
    router, _ = make_router()
    core = router.attach_local_session("realm1", "core", "trusted")
    first: list[Any] = []
    second: list[Any] = []
    sub1 = _result(core.subscribe("com.t", first.append))
    sub2 = _result(core.subscribe("com.t", second.append))
    assert sub1.id == sub2.id
    p = Peer(router)
    p.join()
    p.send([16, 1, {}, "com.t", ["x"]])
    assert len(first) == len(second) == 1
    _result(core.unsubscribe(sub1))
    p.send([16, 2, {}, "com.t", ["y"]])
    assert len(first) == 1 and len(second) == 2


def test_failing_local_handler_is_logged_and_others_still_get_the_event() -> None:
    router, _ = make_router()
    core = router.attach_local_session("realm1", "core", "trusted")
    other = router.attach_local_session("realm1", "other", "trusted")
    got: list[Any] = []

    def broken(event: LocalEvent) -> None:
        raise RuntimeError("handler bug")

    core.subscribe("com.t", broken)
    other.subscribe("com.t", got.append)
    p = Peer(router)
    p.join()
    logged: list[Any] = []
    globalLogPublisher.addObserver(logged.append)
    try:
        for i in range(5):
            p.send([16, i + 1, {}, "com.t", ["x"]])
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert len(got) == 5
    assert len([e for e in logged if "log_failure" in e]) == 1  # not one per message
    assert router.stats.hook_errors == 5
    assert p.send([32, 9, {}, "com.u"])[0][0] == 33


def test_local_endpoint_raising_a_room_error_answers_its_uri_and_message() -> None:
    from hubsd.rooms.errors import RoomFull

    router, _ = make_router()
    core = router.attach_local_session("realm1", "core", "trusted")
    refusal = RoomFull("room full: 24 of 24 seats taken")

    def join() -> None:
        raise refusal

    core.register("com.room.join", join)
    p = Peer(router)
    p.join()
    (err,) = p.send([48, 1, {}, "com.room.join"])
    assert err[:5] == [8, 48, 1, {}, "hubsd.error.room_full"]
    assert err[5] == [str(refusal)]


def test_local_endpoint_bug_tells_the_caller_nothing_of_it() -> None:
    router, _ = make_router()
    core = router.attach_local_session("realm1", "core", "trusted")

    def buggy() -> None:
        raise RuntimeError("internal detail", "secret path /etc/x")

    core.register("com.buggy", buggy)
    p = Peer(router)
    p.join()
    for i in range(3):
        (err,) = p.send([48, i + 1, {}, "com.buggy"])
        assert err[4] == "wamp.error.runtime_error" and err[5:] in ([], [[]])
    assert router.stats.hook_errors == 3
