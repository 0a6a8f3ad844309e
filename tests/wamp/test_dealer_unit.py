"""Dealer details driven message by message: cancel modes, progress, timeouts."""

from __future__ import annotations

from typing import Any

from hubsd.wamp.settings import RouterSettings
from tests.wamp.harness import OPEN_ROLE
from tests.wamp.wiretools import Peer, make_router


def _registered(router: Any) -> tuple[Peer, Peer]:
    """A callee with com.p registered, and a caller; both joined."""
    callee, caller = Peer(router), Peer(router)
    callee.join()
    caller.join()
    callee.send([64, 1, {}, "com.p"])
    return callee, caller


def _pending_call(router: Any) -> tuple[Peer, Peer, int]:
    """Callee, caller and the invocation id of the caller's call 7 to com.p."""
    callee, caller = _registered(router)
    caller.send([48, 7, {}, "com.p"])
    return callee, caller, _invocation(callee, caller)


def _invocation(callee: Peer, caller: Peer) -> int:
    (inv,) = callee.read()
    assert inv[0] == 68
    return int(inv[1])


def test_cancel_skip_answers_caller_and_leaves_callee_alone() -> None:
    router, _ = make_router()
    callee, caller, inv = _pending_call(router)
    (err,) = caller.send([49, 7, {"mode": "skip"}])
    assert err[:5] == [8, 48, 7, {}, "wamp.error.canceled"]
    assert callee.read() == []
    # A late YIELD is ignored.
    callee.send([70, inv, {}, ["late"]])
    assert caller.read() == []


def test_cancel_killnowait_interrupts_and_answers_at_once() -> None:
    router, _ = make_router()
    callee, caller, inv = _pending_call(router)
    (err,) = caller.send([49, 7, {"mode": "killnowait"}])
    assert err[4] == "wamp.error.canceled"
    (interrupt,) = callee.read()
    assert interrupt[:2] == [69, inv] and interrupt[2]["mode"] == "killnowait"


def test_cancel_kill_waits_for_the_callee() -> None:
    router, _ = make_router()
    callee, caller, inv = _pending_call(router)
    assert caller.send([49, 7, {"mode": "kill"}]) == []
    (interrupt,) = callee.read()
    assert interrupt[0] == 69 and interrupt[2]["mode"] == "kill"
    callee.send([8, 68, inv, {}, "wamp.error.canceled"])
    (err,) = caller.read()
    assert err[:5] == [8, 48, 7, {}, "wamp.error.canceled"]


def test_progress_is_forwarded_only_when_asked() -> None:
    router, _ = make_router()
    callee, caller = _registered(router)
    caller.send([48, 1, {"receive_progress": True}, "com.p"])
    inv1 = _invocation(callee, caller)
    caller.send([48, 2, {}, "com.p"])
    inv2 = _invocation(callee, caller)
    callee.send([70, inv1, {"progress": True}, ["p"]])
    callee.send([70, inv2, {"progress": True}, ["p"]])
    assert caller.read() == [[50, 1, {"progress": True}, ["p"]]]
    callee.send([70, inv2, {}, ["done"]])
    assert caller.read() == [[50, 2, {}, ["done"]]]


def test_settings_call_timeout_applies_without_call_option() -> None:
    settings = RouterSettings(realms=("realm1",), roles=(OPEN_ROLE,), call_timeout=2.0)
    router, clock = make_router(settings)
    callee, caller = _registered(router)
    caller.send([48, 7, {}, "com.p"])
    _invocation(callee, caller)
    clock.advance(1.9)
    assert caller.read() == []
    clock.advance(0.2)
    (err,) = caller.read()
    assert err[4] == "wamp.error.timeout"
    assert callee.read()[0][0] == 69


def test_yield_from_another_session_is_ignored() -> None:
    router, _ = make_router()
    callee, caller, intruder = Peer(router), Peer(router), Peer(router)
    for p in (callee, caller, intruder):
        p.join()
    callee.send([64, 1, {}, "com.p"])
    caller.send([48, 7, {}, "com.p"])
    inv = _invocation(callee, caller)
    intruder.send([70, inv, {}, ["forged"]])
    assert caller.read() == []
    callee.send([70, inv, {}, ["real"]])
    assert caller.read() == [[50, 7, {}, ["real"]]]


def test_unregister_of_foreign_registration_fails() -> None:
    router, _ = make_router()
    a, b = Peer(router), Peer(router)
    a.join()
    b.join()
    (registered,) = a.send([64, 1, {}, "com.p"])
    (err,) = b.send([66, 2, registered[2]])
    assert err[4] == "wamp.error.no_such_registration"
    assert a.send([66, 3, registered[2]]) == [[67, 3]]
