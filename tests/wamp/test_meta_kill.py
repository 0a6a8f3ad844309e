"""The session meta API's kill and count procedures, driven in memory."""

from __future__ import annotations

from typing import Any

from hubsd.wamp.codec import MSGPACK
from tests.wamp.wiretools import Peer, login, make_router

ids = iter(range(1, 1_000_000))


def call(p: Peer, procedure: str, *args: Any, **kwargs: Any) -> list[Any]:
    """CALL and return the RESULT or ERROR."""
    msg: list[Any] = [48, next(ids), {}, procedure, list(args)]
    if kwargs:
        msg.append(kwargs)
    replies = p.send(msg)
    assert replies and replies[-1][0] in (8, 50), replies
    return replies[-1]


def result(p: Peer, procedure: str, *args: Any, **kwargs: Any) -> Any:
    r = call(p, procedure, *args, **kwargs)
    assert r[0] == 50, r
    return r[3][0] if len(r) > 3 and r[3] else None


def _goodbye(p: Peer) -> list[Any]:
    (bye,) = p.read()
    assert bye[0] == 6 and p.closed, bye
    return bye


def test_kill_by_authid_kills_the_others_with_that_authid() -> None:
    router, _ = make_router()
    caller = login(router, "carol", "anonymous")
    twins = [login(router, "alice", "user"), login(router, "alice", "user", MSGPACK)]
    bystander = login(router, "bob", "user")
    killed = result(
        caller, "wamp.session.kill_by_authid", "alice", reason="com.example.bye", message="see you"
    )
    assert killed == 2
    for twin in twins:
        assert _goodbye(twin) == [6, {"message": "see you"}, "com.example.bye"]
    assert not caller.closed and not bystander.closed
    assert result(caller, "wamp.session.count") == 2


def test_kill_by_authrole_spares_the_caller_and_defaults_to_close_normal() -> None:
    router, _ = make_router()
    caller = login(router, "carol", "anonymous")
    victims = [login(router, "alice", "user"), login(router, "bob", "user")]
    other = login(router, "dave", "anonymous")
    assert result(caller, "wamp.session.kill_by_authrole", "user") == 2
    for victim in victims:
        assert _goodbye(victim) == [6, {}, "wamp.close.normal"]
    # The caller has the authrole too, but is never among the killed.
    assert result(caller, "wamp.session.kill_by_authrole", "anonymous") == 1
    _goodbye(other)
    assert result(caller, "wamp.session.list") == [caller.session.session_id]


def test_kill_by_authid_without_matches_kills_nobody() -> None:
    router, _ = make_router()
    caller = login(router, "carol", "anonymous")
    assert result(caller, "wamp.session.kill_by_authid", "nobody") == 0


def test_kill_procedures_check_their_arguments() -> None:
    router, _ = make_router()
    caller = login(router, "dup", "anonymous")
    victim = login(router, "dup", "anonymous")
    me = caller.session.session_id
    cases = [
        (("wamp.session.kill_by_authid", "dup"), {"reason": "not a uri"}, "invalid_uri"),
        (("wamp.session.kill_by_authrole", "anonymous"), {"reason": 3}, "invalid_uri"),
        (("wamp.session.kill_by_authid", "dup"), {"message": 3}, "invalid_argument"),
        (("wamp.session.kill_by_authid",), {}, "invalid_argument"),
        (("wamp.session.kill_by_authrole", 7), {}, "invalid_argument"),
        (("wamp.session.kill", me), {}, "no_such_session"),
        (("wamp.session.kill", "x"), {}, "invalid_argument"),
        (("wamp.session.get", 12345), {}, "no_such_session"),
    ]
    for args, kwargs, error in cases:
        r = call(caller, *args, **kwargs)
        assert r[0] == 8 and r[4] == "wamp.error." + error, (args, kwargs, r)
    # Nothing was killed by a refused call.
    assert not victim.closed and victim.read() == []
    assert result(caller, "wamp.session.count") == 2


def test_kill_by_session_id_follows_the_spec_defaults() -> None:
    router, _ = make_router()
    caller = Peer(router)
    caller.join()
    victim = Peer(router)
    victim.join()
    assert result(caller, "wamp.session.kill", victim.session.session_id) is None
    assert _goodbye(victim) == [6, {}, "wamp.close.normal"]


def test_session_count_takes_the_authrole_filter_positionally() -> None:
    router, _ = make_router()
    caller = login(router, "carol", "anonymous")
    login(router, "alice", "user")
    assert result(caller, "wamp.session.count", ["user"]) == 1
    assert result(caller, "wamp.session.count", filter_authroles=["anonymous"]) == 1
    assert len(result(caller, "wamp.session.list", ["user", "anonymous"])) == 2


def test_session_get_describes_a_session() -> None:
    router, _ = make_router()
    caller = Peer(router)
    caller.join()
    alice = login(router, "alice", "user")
    details = result(caller, "wamp.session.get", alice.session.session_id)
    assert (details["authid"], details["authrole"], details["realm"]) == ("alice", "user", "realm1")
