"""
Garbage collection in an SFU worker: no automatic full collections.

A worker holds hundreds of peer connections, each about 1,500 Python
objects (aiortc's and aioice's state, SDP, timers). CPython's automatic
full collection walks all of them, and it runs again every time the old
generation has grown by a quarter, which is all the time while a room's
connections are being set up: measured with 625 peer connections, the
worker spent about half of its CPU in the collector, in pauses of 0.2 s and
more on an idle core. A pause that long makes consent checks (answered
within 0.5 s or counted as failed) and DTLS retransmissions late for every
connection at once.

Reference counting frees almost everything a packet allocates; the
young generations are still collected as usual (they are small). Full
collections, which reclaim the cycles of closed peer connections, run from
L{FullCollector} at most every C{interval} seconds and only when handles
were closed since the last one (opening handles makes no garbage worth a
walk over every live object).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

#: Young-generation thresholds: collections of generation 0 every this many
#: allocations (CPython: 700); generation 1 every 20 of those.
YOUNG = (5000, 20)
#: Never reached: generation 2 is left to L{FullCollector}.
NO_AUTOMATIC_FULL = 1_000_000_000
#: A collection pause at least this long is logged.
SLOW_PAUSE = 0.25

log = logging.getLogger("hubsd.sfu.gc")


class PauseMeter:
    """Time spent in the collector (a C{gc.callbacks} hook), per generation."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.seconds = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self.clock()
            return
        took = self.clock() - self._started
        generation = int(info.get("generation", 2))
        self.seconds[generation] += took
        self.collections[generation] += 1
        self.longest = max(self.longest, took)
        if took >= SLOW_PAUSE:
            log.warning(
                "garbage collection of generation %d took %.2f s (%d unreachable)",
                generation,
                took,
                info.get("collected", 0),
            )

    def stats(self) -> dict[str, Any]:
        """Totals (they add up across workers)."""
        return {
            "gc_seconds": round(sum(self.seconds), 4),
            "gc_full_seconds": round(self.seconds[2], 4),
            "gc_full_collections": self.collections[2],
        }


class FullCollector:
    """Full collections on a schedule, when something may have become garbage."""

    def __init__(self, interval: float, collect: Callable[[], object] = gc.collect) -> None:
        self.interval = interval
        self.collect = collect
        self.dirty = False

    def changed(self) -> None:
        """Handles were closed: the next L{tick} collects."""
        self.dirty = True

    def tick(self) -> bool:
        """Collect now if anything changed since the last collection; whether it did."""
        if not self.dirty:
            return False
        self.dirty = False
        self.collect()
        return True


def install(meter: PauseMeter) -> None:
    """This process: young collections as usual, no automatic full ones, pauses measured."""
    # What exists now (modules, aiortc's tables) lives as long as the process.
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG[0], YOUNG[1], NO_AUTOMATIC_FULL)
    if meter not in gc.callbacks:
        gc.callbacks.append(meter)
