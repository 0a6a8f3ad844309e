"""Load shedding: a router that falls behind sheds droppable publications only."""

from __future__ import annotations

from twisted.internet.task import Clock

from hubsd.wamp.router import OVERLOAD_FLUSH_DELAY
from hubsd.wamp.settings import RouterSettings
from hubsd.wamp.shedding import MAX_SHARE, PERIOD, LoadShedder
from tests.wamp.harness import OPEN_ROLE
from tests.wamp.wiretools import Peer, make_router


def test_share_grows_while_the_reactor_is_late_and_decays_after() -> None:
    shedder = LoadShedder(Clock(), target_lag=0.025)
    for _ in range(5):
        shedder.observe(0.050)
    assert abs(shedder.share - 0.25) < 1e-9
    for _ in range(100):
        shedder.observe(0.100)
    assert shedder.share == MAX_SHARE
    for _ in range(200):
        shedder.observe(0.001)
    assert shedder.share == 0.0
    assert not shedder.shed()


def test_lag_is_measured_from_the_reactor_clock() -> None:
    clock = Clock()
    shedder = LoadShedder(clock, target_lag=0.025)
    shedder.start()
    clock.advance(PERIOD)  # on time
    assert shedder.share == 0.0
    clock.advance(PERIOD + 0.2)  # the reactor was busy for 200 ms
    assert shedder.share > 0.0
    shedder.stop()
    assert shedder.share == 0.0


def test_zero_target_disables_shedding() -> None:
    clock = Clock()
    shedder = LoadShedder(clock, target_lag=0.0)
    shedder.start()
    clock.advance(10)
    assert clock.getDelayedCalls() == []
    assert not shedder.shed()


def test_overloaded_router_sheds_droppable_but_delivers_reliable() -> None:
    settings = RouterSettings(
        realms=("realm1",), roles=(OPEN_ROLE,), droppable_topics=("com.pos",), overload_lag=0.025
    )
    router, _ = make_router(settings)
    pub, sub = Peer(router), Peer(router)
    pub.join()
    sub.join()
    sub.send([32, 1, {}, "com.pos"])
    sub.send([32, 2, {}, "com.chat"])
    router.shedder.share = MAX_SHARE
    router.shedder._random = lambda: 0.0  # every droppable publication is shed
    (ack,) = pub.send([16, 3, {"acknowledge": True}, "com.pos", ["p"]])
    assert ack[0] == 17  # PUBLISHED: accepted, though nobody receives it
    pub.send([16, 4, {}, "com.chat", ["hello"]])
    pub.send([16, 5, {"retain": True}, "com.pos", ["kept"]])
    assert [m[4] for m in sub.read()] == [["hello"], ["kept"]]
    assert router.stats.publishes_shed == 1


def test_overloaded_router_sends_less_often_with_more_events_a_send() -> None:
    settings = RouterSettings(realms=("realm1",), roles=(OPEN_ROLE,), overload_lag=0.025)
    router, clock = make_router(settings)
    calls: list[float] = []
    router.shedder.observe(0.5)  # far behind: shedding starts
    assert router.batcher.delay == OVERLOAD_FLUSH_DELAY
    router.batcher.mark(_Recorder(calls, clock))
    clock.advance(0)
    assert calls == []  # not at the end of this turn ...
    clock.advance(OVERLOAD_FLUSH_DELAY)
    assert calls == [OVERLOAD_FLUSH_DELAY]  # ... but a little later
    for _ in range(200):
        router.shedder.observe(0.0)  # caught up
    assert router.batcher.delay == 0.0


class _Recorder:
    def __init__(self, calls: list[float], clock: Clock) -> None:
        self.calls, self.clock = calls, clock

    def flush(self) -> None:
        self.calls.append(self.clock.seconds())
