"""The router is a Twisted service: its timer runs only while it is started."""

from __future__ import annotations

from twisted.application.service import IService

from hubsd.wamp.settings import RouterSettings
from tests.wamp.wiretools import Peer, make_router

SHEDDING = RouterSettings(realms=("realm1",), overload_lag=0.025)


def test_constructing_a_router_starts_no_timer() -> None:
    router, clock = make_router(SHEDDING)
    assert clock.getDelayedCalls() == []
    assert IService.providedBy(router) and not router.running


def test_start_service_starts_the_shedder_and_stop_service_shuts_down() -> None:
    router, clock = make_router(SHEDDING)
    router.startService()
    assert router.running and len(clock.getDelayedCalls()) == 1
    clock.advance(0.5)  # the reactor was late by far more than 25 ms once
    assert router.shedder.share > 0
    p = Peer(router)
    p.join()
    d = router.stopService()
    (bye,) = p.read()
    assert bye[0] == 6 and bye[2] == "wamp.close.system_shutdown"
    assert d.called and not router.running
    assert router.shedder.share == 0
    clock.advance(60)  # pending output flushes and close grace timers run out
    assert clock.getDelayedCalls() == []  # no sampling timer is left running
