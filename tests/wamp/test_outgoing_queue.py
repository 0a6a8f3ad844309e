"""A session's outgoing queue: batching, backpressure, limits, superseding, order."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from hubsd.wamp.outgoing import FLUSH_AT, Outgoing, OutputBatcher
from hubsd.wamp.router import RouterStats


class CountingTransport(StringTransport):
    """Counts write calls: one per send is what batching promises."""

    writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        StringTransport.write(self, data)


class Queue:
    """An L{Outgoing} over an in-memory transport, with a reactor turn we end."""

    def __init__(self, soft: int = 1000, hard: int = 10_000) -> None:
        self.clock = Clock()
        self.stats = RouterStats()
        self.transport = CountingTransport()
        self.overflows: list[str] = []
        self.batcher = OutputBatcher(self.clock)
        self.out = Outgoing(
            self.transport, soft, hard, self.stats, self.overflows.append, self.batcher
        )
        self.transport.registerProducer(self.out, True)

    def end_turn(self) -> bytes:
        self.clock.advance(0)
        data = self.transport.value()
        self.transport.clear()
        return data


def test_frames_of_one_reactor_turn_go_out_in_one_write_at_its_end() -> None:
    q = Queue()
    q.out.write(b"a")
    q.out.write(b"b")
    q.out.write(b"c")
    assert q.transport.value() == b""
    assert q.end_turn() == b"abc"
    assert q.transport.writes == 1


def test_a_burst_beyond_FLUSH_AT_is_sent_without_waiting_for_the_turn() -> None:
    q = Queue(soft=10 * FLUSH_AT, hard=100 * FLUSH_AT)
    half = b"x" * (FLUSH_AT // 2 + 1)
    q.out.write(half)
    assert q.transport.value() == b""
    q.out.write(half)
    assert q.transport.value() == half + half


def test_without_a_batcher_frames_are_written_at_once() -> None:
    transport = StringTransport()
    out = Outgoing(transport, 10, 100, RouterStats(), lambda why: None)
    out.write(b"now")
    assert transport.value() == b"now"


def test_paused_session_queues_in_order_and_resume_writes_it_all() -> None:
    q = Queue()
    q.out.pauseProducing()
    for frame in (b"1", b"2", b"3"):
        q.out.write(frame)
    assert q.end_turn() == b""
    assert q.out.queued_bytes == 3
    q.out.resumeProducing()
    assert q.end_turn() == b"123"
    assert q.out.queued_bytes == 0


def test_frames_pending_when_paused_stay_ahead_of_later_frames() -> None:
    # An event is pending for the end of the turn when some other write (a
    # pong) fills the transport's buffer and pauses us; the next event queues.
    q = Queue()
    q.out.write(b"first")
    q.out.pauseProducing()
    q.out.write(b"second")
    q.end_turn()
    q.out.resumeProducing()
    assert q.end_turn() == b"firstsecond"


def test_resume_stops_as_soon_as_the_transport_pauses_again() -> None:
    q = Queue()
    q.out.pauseProducing()
    for frame in (b"aa", b"bb", b"cc"):
        q.out.write(frame)
    write = q.transport.write

    def write_then_pause(data: bytes) -> None:
        write(data)
        q.out.pauseProducing()

    q.transport.write = write_then_pause  # type: ignore[method-assign]
    q.out.resumeProducing()
    assert q.transport.value() == b"aa"
    assert q.out.queued_bytes == 4
    q.out.resumeProducing()
    assert q.transport.value() == b"aabb"
    assert q.out.queued_bytes == 2


@pytest.mark.parametrize(("queued", "kept"), [(999, True), (1000, True), (1001, False)])
def test_droppable_event_is_dropped_only_past_the_soft_limit(queued: int, kept: bool) -> None:
    q = Queue(soft=1000)
    q.out.pauseProducing()
    q.out.write(b"r" * queued)  # reliable
    q.out.write(b"d", key=("sub", "publisher"))
    assert q.stats.events_dropped == (0 if kept else 1)
    q.out.resumeProducing()
    assert q.end_turn().endswith(b"d") is kept


def test_reliable_messages_are_never_dropped_below_the_hard_limit() -> None:
    q = Queue(soft=10, hard=10_000)
    q.out.pauseProducing()
    for _ in range(50):
        q.out.write(b"r" * 100)
    assert q.stats.events_dropped == 0
    q.out.resumeProducing()
    assert len(q.end_turn()) == 5000


@pytest.mark.parametrize(("total", "cut"), [(10_000, False), (10_001, True)])
def test_session_is_cut_only_past_the_hard_limit(total: int, cut: bool) -> None:
    q = Queue(soft=100, hard=10_000)
    q.out.pauseProducing()
    q.out.write(b"r" * (total - 1))
    q.out.write(b"r")
    assert q.out.closed is cut
    assert q.stats.slow_disconnects == (1 if cut else 0)
    assert len(q.overflows) == (1 if cut else 0)
    if cut:
        assert "10001 bytes" in q.overflows[0]
        assert q.out.queued_bytes == 0


def test_newer_droppable_event_supersedes_the_queued_one_and_frees_its_bytes() -> None:
    q = Queue(soft=100_000, hard=1000)
    q.out.pauseProducing()
    for i in range(10):
        q.out.write(b"%03d" % i + b"p" * 597, key="k")  # 10 x 600 bytes > hard
    assert not q.out.closed
    assert q.out.queued_bytes == 600
    assert q.stats.events_superseded == 9
    q.out.resumeProducing()
    assert q.end_turn() == b"009" + b"p" * 597


def test_superseding_keeps_the_newer_event_behind_messages_queued_before_it() -> None:
    q = Queue()
    q.out.pauseProducing()
    q.out.write(b"<p1>", key="pos")
    q.out.write(b"<chat>")
    q.out.write(b"<p2>", key="pos")
    q.out.write(b"<other>", key="other")
    q.out.resumeProducing()
    assert q.end_turn() == b"<chat><p2><other>"


def test_an_event_already_sent_is_not_superseded_by_the_next() -> None:
    q = Queue()
    q.out.pauseProducing()
    q.out.write(b"<p1>", key="pos")
    q.out.resumeProducing()
    q.out.pauseProducing()
    q.out.write(b"<p2>", key="pos")
    assert q.stats.events_superseded == 0
    assert q.out.queued_bytes == 4
    q.out.resumeProducing()
    assert q.end_turn() == b"<p1><p2>"
    assert q.out.queued_bytes == 0


def test_an_event_sent_by_a_partial_resume_is_not_superseded_either() -> None:
    q = Queue()
    q.out.pauseProducing()
    q.out.write(b"<p1>", key="pos")
    q.out.write(b"<chat>")
    write = q.transport.write

    def write_then_pause(data: bytes) -> None:
        write(data)
        q.out.pauseProducing()

    q.transport.write = write_then_pause  # type: ignore[method-assign]
    q.out.resumeProducing()  # sends <p1>, then the transport is full again
    q.transport.write = write  # type: ignore[method-assign]
    q.out.write(b"<p2>", key="pos")
    assert q.stats.events_superseded == 0
    assert q.out.queued_bytes == len(b"<chat><p2>")
    q.out.resumeProducing()
    assert q.transport.value() == b"<p1><chat><p2>"


def test_bytes_sent_on_resume_no_longer_count_against_the_limits() -> None:
    q = Queue(soft=100, hard=1000)
    for _ in range(20):  # 12000 bytes in all, never more than 600 at once
        q.out.pauseProducing()
        q.out.write(b"r" * 600)
        q.out.resumeProducing()
    assert not q.out.closed
    assert q.out.queued_bytes == 0
    assert len(q.end_turn()) == 12_000


@pytest.mark.parametrize(("size", "sent"), [(10, True), (11, False)])
def test_frame_longer_than_the_peers_maximum_is_skipped_and_counted(size: int, sent: bool) -> None:
    q = Queue()
    q.out.max_frame = 10
    q.out.write(b"e" * size)
    assert (q.end_turn() == b"e" * size) is sent
    assert q.stats.events_too_big == (0 if sent else 1)


def test_when_drained_runs_at_once_if_nothing_waits() -> None:
    q = Queue()
    q.out.write(b"pending")
    called: list[bool] = []
    assert q.out.when_drained(lambda: called.append(True)) is True
    assert called == [True]
    assert q.transport.value() == b"pending"  # flushed first


def test_when_drained_runs_once_the_queue_has_been_written() -> None:
    q = Queue()
    q.out.pauseProducing()
    q.out.write(b"queued")
    called: list[bool] = []
    assert q.out.when_drained(lambda: called.append(True)) is False
    assert called == []
    q.out.resumeProducing()
    assert called == [True]
    assert q.transport.value() == b"queued"
    q.out.pauseProducing()
    q.out.resumeProducing()
    assert called == [True]


@pytest.mark.parametrize("stop", ["close", "stopProducing"])
def test_a_closed_queue_forgets_what_it_held_and_ignores_writes(stop: str) -> None:
    q = Queue()
    q.out.write(b"pending")
    q.out.pauseProducing()
    q.out.write(b"queued", key="k")
    getattr(q.out, stop)()
    q.out.write(b"late")
    q.out.resumeProducing()
    assert q.end_turn() == b""
    assert q.out.queued_bytes == 0


def test_batcher_sends_every_session_marked_in_the_turn_once() -> None:
    clock = Clock()
    batcher = OutputBatcher(clock)
    transports: list[Any] = [CountingTransport() for _ in range(3)]
    outs = [Outgoing(t, 10, 100, RouterStats(), lambda why: None, batcher) for t in transports]
    for out in outs:
        out.write(b"x")
        out.write(b"y")
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(0)
    assert [t.value() for t in transports] == [b"xy"] * 3
    assert [t.writes for t in transports] == [1, 1, 1]


def test_batcher_delay_holds_the_sends_while_overloaded() -> None:
    clock = Clock()
    batcher = OutputBatcher(clock)
    batcher.delay = 0.005
    transport = StringTransport()
    out = Outgoing(transport, 10, 100, RouterStats(), lambda why: None, batcher)
    out.write(b"x")
    clock.advance(0.004)
    assert transport.value() == b""
    clock.advance(0.001)
    assert transport.value() == b"x"
