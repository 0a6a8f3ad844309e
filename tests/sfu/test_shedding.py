"""
Load shedding: a worker that falls behind drops media that is already late
instead of forwarding it, and its connections stay up.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
import pytest_twisted

from hubsd.sfu.shedding import MAX_AGE, TICK, Shedding
from tests.sfu.harness import media_room, poll, sleep


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_packet_is_late_once_it_waited_longer_than_the_limit() -> None:
    clock = Clock()
    rule = Shedding(clock)
    arrived = rule.arrival()
    assert arrived == clock.now
    clock.now += MAX_AGE * 0.9
    assert not rule.late(arrived)
    clock.now += MAX_AGE * 0.2
    assert rule.late(arrived)


def test_a_loop_on_time_takes_the_read_time_as_the_arrival() -> None:
    clock = Clock()
    rule = Shedding(clock)
    for _ in range(10):
        clock.now += TICK / 2
        assert rule.arrival() == pytest.approx(clock.now)
        clock.now += TICK / 2
        rule.tick()  # on time
        assert rule.lag == pytest.approx(0.0)


def test_packets_read_during_a_stall_arrived_no_later_than_the_missed_tick() -> None:
    clock = Clock()
    rule = Shedding(clock)
    due = clock.now + TICK
    clock.now += 1.0  # the loop ran nothing for a second; the tick is overdue
    arrived = rule.arrival()
    assert arrived == due
    assert rule.late(arrived)


def test_packets_read_after_a_late_tick_waited_as_long_as_the_tick() -> None:
    clock = Clock()
    rule = Shedding(clock)
    clock.now += TICK + 0.5  # the tick runs half a second late
    rule.tick()
    assert rule.lag == pytest.approx(0.5)
    assert rule.arrival() == pytest.approx(clock.now - 0.5) and rule.late(rule.arrival())
    # The next tick on time: the loop has caught up.
    clock.now += TICK
    rule.tick()
    assert rule.lag == pytest.approx(0.0)
    assert rule.arrival() == pytest.approx(clock.now) and not rule.late(rule.arrival())


@pytest_twisted.ensureDeferred
async def test_a_stalled_worker_sheds_the_media_that_waited_and_keeps_its_peers(
    daemon: Any, loop: Any
) -> None:
    sid, (a, b) = await media_room(daemon, loop, 2)
    await a.publish()
    await poll(lambda: a.events_of("connected"))
    await b.subscribe(a)
    await poll(lambda: b.heard(a) >= 20, seconds=20)
    before = await daemon.sfu.stats()
    # The worker stops for a second (a stand-in for a loop far behind): about
    # 50 audio packets wait in its socket meanwhile.
    pid = daemon.sfu.supervisor.workers[0].pid
    sent = len(a.publisher.sent)
    heard = b.heard(a)
    os.kill(pid, signal.SIGSTOP)
    try:
        await sleep(1.0)
    finally:
        os.kill(pid, signal.SIGCONT)
    stalled = len(a.publisher.sent) - sent
    await sleep(0.2)
    burst = b.heard(a) - heard
    after = await daemon.sfu.stats()
    # What had waited a second was dropped, not sent on late (without
    # shedding: all of it, 50 packets and the 10 sent since)...
    assert after["shed"] - before["shed"] >= 20, after
    assert burst <= stalled - 20 + 15, (stalled, burst)
    await poll(lambda: b.heard(a) >= heard + burst + 25, seconds=10)
    # ...and the connections are up and forwarding.
    assert not [e for m in (a, b) for e in m.events_of("closed")]
    await a.close_peers()
    await b.close_peers()
