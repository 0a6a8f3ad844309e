"""Gates: one function decides the rights on a URI prefix (the room API's)."""

from __future__ import annotations

from typing import Any

import pytest

from hubsd.wamp.authorization import could_match, reserved
from hubsd.wamp.settings import RoleRules, RouterSettings
from tests.wamp.harness import OPEN_ROLE
from tests.wamp.wiretools import Peer, logged_failures, make_router

ACK = {"acknowledge": True}


class Recorder:
    """A gate that says what C{answer} says and remembers what it was asked."""

    def __init__(self, answer: Any = True) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str, dict[str, Any]]] = []

    def __call__(self, details: dict[str, Any], action: str, uri: str, options: Any) -> Any:
        self.asked.append((details["authid"], action, uri, options))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(uri) if callable(self.answer) else self.answer


def _joined(settings: RouterSettings | None = None) -> tuple[Any, Peer]:
    router, _ = make_router(settings) if settings is not None else make_router()
    p = Peer(router)
    p.join()
    return router, p


def test_gate_alone_denies_what_static_rules_would_allow() -> None:
    router, p = _joined()  # the anonymous role may do everything ("*")
    gate = Recorder(False)
    router.add_gate("hubsd.", gate)
    (err,) = p.send([16, 1, ACK, "hubsd.room.x.naf", []])
    assert err[:5] == [8, 16, 1, {}, "wamp.error.not_authorized"]
    (err,) = p.send([32, 2, {}, "hubsd.room.x.naf"])
    assert err[4] == "wamp.error.not_authorized"
    (err,) = p.send([48, 3, {}, "hubsd.room.join"])
    assert err[4] == "wamp.error.not_authorized"
    (err,) = p.send([64, 4, {}, "hubsd.room.join"])
    assert err[4] == "wamp.error.not_authorized"
    assert [a[1] for a in gate.asked] == ["publish", "subscribe", "call", "register"]
    # Outside the prefix the static rules still decide.
    assert p.send([32, 5, {}, "com.x"])[0][0] == 33


def test_gate_alone_grants_without_any_role_rule() -> None:
    router, p = _joined(RouterSettings(realms=("realm1",)))  # no role rules at all
    router.add_gate("hubsd.", Recorder(True))
    assert p.send([32, 1, {}, "hubsd.room.x.naf"])[0][0] == 33
    assert p.send([16, 2, ACK, "hubsd.room.x.naf", []])[0][0] == 17
    (err,) = p.send([32, 3, {}, "com.x"])  # no gate, no rule: denied
    assert err[4] == "wamp.error.not_authorized"


def test_gate_is_asked_every_time_never_cached() -> None:
    router, p = _joined()
    allowed = {"yes"}
    router.add_gate("hubsd.", Recorder(lambda uri: "yes" in allowed))
    assert p.send([16, 1, ACK, "hubsd.t", []])[0][0] == 17
    allowed.clear()
    assert p.send([16, 2, ACK, "hubsd.t", []])[0][4] == "wamp.error.not_authorized"
    allowed.add("yes")
    assert p.send([16, 3, ACK, "hubsd.t", []])[0][0] == 17


def test_gate_sees_the_session_details_and_options() -> None:
    router, p = _joined()
    gate = Recorder(True)
    router.add_gate("hubsd.", gate)
    p.send([32, 1, {"match": "prefix"}, "hubsd.room."])
    p.send([16, 2, {"acknowledge": True, "exclude_me": False}, "hubsd.room.x", []])
    (sub, pub) = gate.asked
    assert sub[1:] == ("subscribe", "hubsd.room.", {"match": "prefix"})
    assert pub[1:] == ("publish", "hubsd.room.x", {"acknowledge": True, "exclude_me": False})
    assert sub[0].startswith("anonymous-")


def test_gate_decides_patterns_that_could_reach_gated_topics() -> None:
    router, p = _joined()
    gate = Recorder(False)
    router.add_gate("hubsd.", gate)
    for i, (match, pattern) in enumerate(
        [("prefix", "hub"), ("prefix", ""), ("wildcard", ".room.x.naf"), ("wildcard", "hubsd..")]
    ):
        (err,) = p.send([32, i + 1, {"match": match}, pattern])
        assert err[4] == "wamp.error.not_authorized", (match, pattern)
    # A pattern that cannot match any hubsd.* topic is the static rules' business.
    assert p.send([32, 10, {"match": "prefix"}, "com."])[0][0] == 33
    assert p.send([32, 11, {"match": "wildcard"}, "com..x"])[0][0] == 33


@pytest.mark.parametrize(
    ("match", "pattern", "expected"),
    [
        ("exact", "hubsd.room", True),
        ("exact", "hubs.room", False),
        ("prefix", "hubsd.room.", True),
        ("prefix", "hub", True),
        ("prefix", "", True),
        ("prefix", "hubsx", False),
        ("wildcard", "hubsd..naf", True),
        ("wildcard", "..naf", True),
        ("wildcard", "hubsd", False),
        ("wildcard", "com..naf", False),
    ],
)
def test_could_match(match: str, pattern: str, expected: bool) -> None:
    assert could_match(match, pattern, "hubsd.") is expected


@pytest.mark.parametrize(
    ("match", "pattern", "expected"),
    [
        ("wildcard", "hubsd..x", True),  # any second component, "room" included
        ("wildcard", "hubsd.rooms.x", True),
        ("wildcard", "hubsd.lobby.x", False),
        ("wildcard", "hubsd", False),
        ("prefix", "hubsd.r", True),
        ("prefix", "hubsd.lobby", False),
    ],
)
def test_could_match_a_prefix_ending_mid_component(
    match: str, pattern: str, expected: bool
) -> None:
    assert could_match(match, pattern, "hubsd.room") is expected


def test_longest_prefix_gate_wins() -> None:
    router, p = _joined()
    outer, inner = Recorder(False), Recorder(True)
    router.add_gate("hubsd.", outer)
    router.add_gate("hubsd.room.", inner)
    assert p.send([32, 1, {}, "hubsd.room.x"])[0][0] == 33
    assert p.send([32, 2, {}, "hubsd.other"])[0][4] == "wamp.error.not_authorized"
    assert [a[2] for a in inner.asked] == ["hubsd.room.x"]
    assert [a[2] for a in outer.asked] == ["hubsd.other"]


def test_trusted_sessions_bypass_gates() -> None:
    router, _ = make_router()
    gate = Recorder(False)
    router.add_gate("hubsd.", gate)
    core = router.attach_local_session("realm1", "core", "trusted")
    got: list[Any] = []
    core.subscribe("hubsd.room.x", lambda e: None).addCallback(got.append)
    core.publish("hubsd.room.x", acknowledge=True).addCallback(got.append)
    assert len(got) == 2 and gate.asked == []


def test_gate_cannot_grant_the_reserved_wamp_namespace() -> None:
    router, p = _joined()
    router.add_gate("wamp.", Recorder(True))
    (err,) = p.send([16, 1, ACK, "wamp.session.on_join", [{}]])
    assert err[4] == "wamp.error.not_authorized"
    (err,) = p.send([64, 2, {}, "wamp.session.count"])
    assert err[4] == "wamp.error.not_authorized"


def test_gate_added_after_a_decision_was_cached_still_decides() -> None:
    router, p = _joined()
    assert p.send([16, 1, ACK, "hubsd.t", []])[0][0] == 17  # static rule, cached
    router.add_gate("hubsd.", Recorder(False))
    assert p.send([16, 2, ACK, "hubsd.t", []])[0][4] == "wamp.error.not_authorized"


def test_denied_publish_is_dropped_silently_and_counted() -> None:
    router, p = _joined()
    listener = Peer(router)
    listener.join()
    router.add_gate("hubsd.", Recorder(lambda uri: uri == "hubsd.open"))
    listener.send([32, 1, {}, "hubsd.open"])
    router.stats.publishes_rejected = 0
    assert p.send([16, 2, {}, "hubsd.closed", ["x"]]) == []  # unacknowledged: no answer
    assert p.send([16, 3, ACK, "hubsd.closed", ["x"]])[0][4] == "wamp.error.not_authorized"
    assert router.stats.publishes_rejected == 2
    assert listener.read() == []
    assert not p.closed


def test_failing_gate_denies_and_logs_one_traceback() -> None:
    router, p = _joined()
    router.add_gate("hubsd.", Recorder(RuntimeError("bug")))
    with logged_failures() as failures:
        for i in range(5):
            (err,) = p.send([16, i + 1, ACK, "hubsd.t", []])
            assert err[4] == "wamp.error.not_authorized"
    assert len(failures) == 1
    assert router.authorizer.errors == 5
    assert not p.closed


def test_gate_answer_must_be_true_itself() -> None:
    router, p = _joined()
    router.add_gate("hubsd.", Recorder("yes"))  # truthy, but not True
    assert p.send([16, 1, ACK, "hubsd.t", []])[0][4] == "wamp.error.not_authorized"


@pytest.mark.parametrize(
    ("action", "uri", "authrole", "expected"),
    [
        ("publish", "wamp.session.on_join", "anonymous", True),
        ("register", "wamp.session.count", "user", True),
        ("publish", "wamp.session.on_join", "trusted", False),
        ("subscribe", "wamp.session.on_join", "anonymous", False),
        ("call", "wamp.session.count", "anonymous", False),
        ("publish", "com.wamp.x", "anonymous", False),
    ],
)
def test_reserved_namespace(action: str, uri: str, authrole: str, expected: bool) -> None:
    assert reserved(action, uri, authrole) is expected


def test_reserved_register_is_not_authorized_for_every_role() -> None:
    wamp_role = RoleRules("user", "realm1", register=("wamp.*",), publish=("wamp.*",))
    router, _ = make_router(RouterSettings(realms=("realm1",), roles=(OPEN_ROLE, wamp_role)))
    router.set_authenticator("x", lambda realm, authid, details: _user())
    p = Peer(router)
    p.send([1, "realm1", {"roles": {"callee": {}}, "authmethods": ["x"]}])
    (err,) = p.send([64, 1, {}, "wamp.my.proc"])
    assert err[4] == "wamp.error.not_authorized"


def _user() -> Any:
    from hubsd.wamp.auth import Authenticated

    return Authenticated("u", "user")
