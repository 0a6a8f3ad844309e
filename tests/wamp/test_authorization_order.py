"""A Deferred answer of the dynamic authorizer never lets a later message overtake."""

from __future__ import annotations

from typing import Any

from twisted.internet.task import deferLater

from hubsd.wamp.session import MAX_BACKLOG
from hubsd.wamp.settings import RouterSettings
from tests.wamp.wiretools import Peer, make_router

ACK = {"acknowledge": True}
# No role rules: every request goes to the dynamic authorizer.
NO_RULES = RouterSettings(realms=("realm1",))


def _slow_authorizer(delays: dict[str, float], answers: dict[str, bool] | None = None) -> Any:
    """Topics in C{delays} are decided after that many (Clock) seconds."""
    router, clock = make_router(NO_RULES)
    asked: list[str] = []

    def authorize(details: Any, action: str, uri: str, options: Any) -> Any:
        asked.append(uri)
        ok = (answers or {}).get(uri, True)
        if uri in delays:
            return deferLater(clock, delays[uri], lambda: ok)
        return ok

    router.set_authorizer(authorize)
    p = Peer(router)
    p.join()
    return router, clock, p, asked


def _kinds(replies: list[list[Any]]) -> list[tuple[int, int]]:
    """(type, request) of each reply."""
    return [(r[0], r[2] if r[0] == 8 else r[1]) for r in replies]


def test_later_messages_wait_for_a_pending_authorization() -> None:
    router, clock, p, asked = _slow_authorizer({"com.slow": 1.0})
    assert p.send([32, 1, {}, "com.slow"]) == []
    assert p.send([16, 2, ACK, "com.fast", []]) == []
    assert p.send([32, 3, {}, "com.fast"]) == []
    assert asked == ["com.slow"]  # nothing after it was even looked at
    clock.advance(1.0)
    assert _kinds(p.read()) == [(33, 1), (17, 2), (33, 3)]


def test_a_denied_pending_request_is_answered_before_the_next() -> None:
    router, clock, p, _ = _slow_authorizer({"com.slow": 1.0}, {"com.slow": False})
    p.send([32, 1, {}, "com.slow"])
    p.send([32, 2, {}, "com.fast"])
    clock.advance(1.0)
    replies = p.read()
    assert _kinds(replies) == [(8, 1), (33, 2)]
    assert replies[0][4] == "wamp.error.not_authorized"


def test_a_second_pending_authorization_keeps_the_queue_in_order() -> None:
    router, clock, p, _ = _slow_authorizer({"com.slow": 2.0, "com.slower": 5.0})
    p.send([32, 1, {}, "com.slow"])
    p.send([32, 2, {}, "com.slower"])
    p.send([16, 3, ACK, "com.fast", []])
    clock.advance(2.0)
    assert _kinds(p.read()) == [(33, 1)]
    clock.advance(5.0)
    assert _kinds(p.read()) == [(33, 2), (17, 3)]


def test_a_publication_does_not_overtake_an_earlier_one() -> None:
    """The order subscribers see is the order the publisher sent."""
    router, clock, p, _ = _slow_authorizer({"com.chat": 1.0})
    sub = Peer(router)
    sub.join()
    sub.send([32, 1, {}, "com.chat"])
    sub.send([32, 2, {}, "com.pos"])
    clock.advance(1.0)
    sub.read()
    # com.chat is still slow to authorize on every publish (never cached).
    p.send([16, 10, {}, "com.chat", ["first"]])
    p.send([16, 11, {}, "com.pos", ["second"]])
    assert sub.read() == []
    clock.advance(1.0)
    assert [e[4] for e in sub.read()] == [["first"], ["second"]]


def test_a_session_that_drops_while_waiting_leaves_nothing_behind() -> None:
    router, clock, p, _ = _slow_authorizer({"com.slow": 1.0})
    p.send([32, 1, {}, "com.slow"])
    p.send([32, 2, {}, "com.fast"])
    p.session.connection_lost()
    clock.advance(1.0)
    assert router.realms["realm1"].broker.by_id == {}


def test_too_many_messages_while_waiting_abort_the_session() -> None:
    router, clock, p, _ = _slow_authorizer({"com.slow": 1.0})
    p.send([32, 1, {}, "com.slow"])
    for i in range(MAX_BACKLOG):
        assert p.send([16, i + 2, {}, "com.fast", []]) == []
    (abort,) = p.send([16, 9999, {}, "com.fast", []])
    assert abort[0] == 3 and p.closed
    clock.advance(1.0)
    assert p.read() == []


def test_an_already_fired_deferred_answer_does_not_hold_anything() -> None:
    from twisted.internet.defer import succeed

    router, _ = make_router(NO_RULES)
    router.set_authorizer(lambda *a: succeed(True))
    p = Peer(router)
    p.join()
    assert _kinds(p.send([32, 1, {}, "com.a"])) == [(33, 1)]
    assert _kinds(p.send([32, 2, {}, "com.b"])) == [(33, 2)]


def test_local_subscribers_get_what_was_decided_while_more_is_pending() -> None:
    router, clock, p, _ = _slow_authorizer({"com.slow": 1.0, "com.slower": 5.0})
    core = router.attach_local_session("realm1", "core", "trusted")
    got: list[Any] = []
    core.subscribe("com.fast", got.append)
    p.send([32, 1, {}, "com.slow"])
    p.send([16, 2, {}, "com.fast", ["now"]])
    p.send([32, 3, {}, "com.slower"])
    clock.advance(1.0)
    assert [e.args for e in got] == [["now"]]  # not held until com.slower is decided
