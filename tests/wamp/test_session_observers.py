"""Session lifecycle observers and sessions attached from outside WAMP."""

from __future__ import annotations

from typing import Any

import pytest

from hubsd.wamp.auth import Authenticated
from hubsd.wamp.errors import WampError
from tests.wamp.wiretools import Peer, make_router


class Log:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def join(self, details: dict[str, Any]) -> None:
        self.seen.append(("join", details))

    def leave(self, details: dict[str, Any]) -> None:
        self.seen.append(("leave", details))


def _observed() -> tuple[Any, Any, Log]:
    router, clock = make_router()
    log = Log()
    router.add_session_observer(log.join, log.leave)
    return router, clock, log


def test_join_observer_gets_identity_and_realm() -> None:
    router, _, log = _observed()
    router.set_authenticator(
        "ticket",
        lambda realm, authid, details: Authenticated("u1", "member", {"session_id": "s-1"}),
    )
    p = Peer(router)
    p.send([1, "realm1", {"roles": {"caller": {}}, "authmethods": ["ticket"]}])
    p.send([5, "token", {}])
    ((what, details),) = log.seen
    assert what == "join"
    assert details["realm"] == "realm1"
    assert details["session"] == p.session.session_id
    assert (details["authid"], details["authrole"]) == ("u1", "member")
    assert details["authextra"] == {"session_id": "s-1"}


@pytest.mark.parametrize("how", ["goodbye", "transport_drop", "kill", "abort"])
def test_leave_observer_is_told_at_once(how: str) -> None:
    router, _, log = _observed()
    p = Peer(router)
    p.join()
    sub_id = p.send([32, 1, {}, "com.x"])[0][2]
    realm = router.realms["realm1"]
    subscribed_when_told: list[bool] = []
    router.add_session_observer(
        None, lambda d: subscribed_when_told.append(sub_id in realm.broker.by_id)
    )
    if how == "goodbye":
        p.send([6, {}, "wamp.close.normal"])
    elif how == "transport_drop":
        p.session.connection_lost()
    elif how == "kill":
        admin = router.attach_local_session("realm1", "admin", "trusted")
        admin.call("wamp.session.kill", [p.session.session_id])
    else:
        p.send([99, 1])  # not a message a joined session may send
    leaves = [d for what, d in log.seen if what == "leave"]
    assert [d["session"] for d in leaves] == [p.session.session_id]
    assert leaves[0] is [d for what, d in log.seen if what == "join"][0]
    # Its subscriptions were gone by then: nothing published in reaction reaches it.
    assert subscribed_when_told == [False]


def test_local_session_joins_and_leaves_are_observed() -> None:
    router, _, log = _observed()
    core = router.attach_local_session("realm1", "core", "trusted", {"k": 1})
    core.leave()
    assert [(w, d["authid"], d["authextra"]) for w, d in log.seen] == [
        ("join", "core", {"k": 1}),
        ("leave", "core", {"k": 1}),
    ]


def test_failing_observer_is_logged_and_the_router_goes_on() -> None:
    router, _, log = _observed()

    def broken(details: dict[str, Any]) -> None:
        raise RuntimeError("observer bug")

    router.add_session_observer(broken, broken)
    p = Peer(router)
    p.join()
    assert p.send([32, 1, {}, "com.x"])[0][0] == 33
    p.session.connection_lost()
    assert [w for w, _ in log.seen] == ["join", "leave"]
    assert router.realms["realm1"].sessions == {}


def test_attach_joins_a_session_authenticated_elsewhere() -> None:
    from hubsd.wamp.local import LocalSession

    router, _, log = _observed()
    session = LocalSession(router)
    router.attach(session, "realm1", Authenticated("gw-1", "member", {"via": "phoenix"}))
    assert session.joined and session.session_id in router.realms["realm1"].sessions
    assert session.session_id in router.session_ids
    assert log.seen[0][1]["authid"] == "gw-1"
    session.leave()
    assert session.session_id not in router.session_ids


def test_attach_to_an_unknown_realm_fails() -> None:
    from hubsd.wamp.local import LocalSession

    router, _, log = _observed()
    with pytest.raises(WampError) as e:
        router.attach(LocalSession(router), "nowhere", Authenticated("x", "member"))
    assert e.value.error == "wamp.error.no_such_realm"
    assert log.seen == []
