"""The SFU worker's garbage-collection policy (hubsd/sfu/gcpolicy.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from hubsd.sfu import gcpolicy


def test_full_collector_collects_only_after_changes() -> None:
    calls: list[int] = []
    collector = gcpolicy.FullCollector(30.0, lambda: calls.append(1))
    assert not collector.tick() and calls == []
    collector.changed()
    collector.changed()
    assert collector.tick() and calls == [1]
    assert not collector.tick() and calls == [1]


def test_pause_meter_adds_up_and_logs_slow_pauses(caplog) -> None:  # type: ignore[no-untyped-def]
    times = iter([0.0, 0.01, 1.0, 1.5])
    meter = gcpolicy.PauseMeter(clock=lambda: next(times))
    meter("start", {"generation": 0})
    meter("stop", {"generation": 0, "collected": 0})
    with caplog.at_level("WARNING", logger="hubsd.sfu.gc"):
        meter("start", {"generation": 2})
        meter("stop", {"generation": 2, "collected": 7})
    assert meter.stats() == {"gc_seconds": 0.51, "gc_full_seconds": 0.5, "gc_full_collections": 1}
    assert "generation 2 took 0.50 s" in caplog.text


def test_install_stops_automatic_full_collections() -> None:
    # In a child process: the policy changes process-wide settings.
    code = textwrap.dedent(
        """
        import gc
        from hubsd.sfu import gcpolicy
        meter = gcpolicy.PauseMeter()
        gcpolicy.install(meter)
        full = meter.collections[2]
        junk = []
        for i in range(300_000):  # enough survivors for several automatic full collections
            a = {}; b = {"a": a}; a["b"] = b
            junk.append(a)
        assert meter.collections[2] == full, meter.collections
        assert meter.collections[0] > 0, meter.collections
        gc.collect()
        assert meter.collections[2] == full + 1
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
    assert gc.get_threshold()[2] != gcpolicy.NO_AUTOMATIC_FULL  # this process untouched


def test_the_worker_schedules_a_full_collection_after_closes_not_after_opens() -> None:
    # A full collection after a room's set-up walks every new connection for
    # nothing, in one pause long enough to make packets late; one after a
    # close reclaims that connection's cycles.
    import asyncio

    from hubsd.sfu.worker import Worker

    class Out:
        def __init__(self) -> None:
            self.written: list[bytes] = []

        def is_closing(self) -> bool:
            return False

        def write(self, data: bytes) -> None:
            self.written.append(data)

    async def run() -> list[bool]:
        out = Out()
        worker = Worker({}, out)  # type: ignore[arg-type]
        seen = []
        await worker.handle({"id": 1, "op": "publish", "args": {"handle": "h1", "sdp": "v=0"}})
        seen.append(worker.collector.dirty)
        await worker.handle({"id": 2, "op": "close", "args": {"handle": "h1"}})
        seen.append(worker.collector.dirty)
        worker.collector.tick()
        worker.emit({"event": "closed", "handle": "h2", "reason": "ice"})
        seen.append(worker.collector.dirty)
        assert len(out.written) == 3  # two answers and the event
        await worker.plane.close_all()
        return seen

    assert asyncio.run(run()) == [False, True, True]
