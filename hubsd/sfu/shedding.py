"""
Load shedding in an SFU worker: which media packets are too late to forward.

A worker that needs more than its core falls behind: received packets wait
in aioice's queues, every loop iteration grows longer, and the replies that
keep connections alive (ICE consent checks, answered within 0.5 s or counted
as failed; DTLS and ICE retransmissions) go late with the media, until the
peers give up and the whole room drops out. Forwarding is most of a worker's
work (24 sends per packet received in a 25-speaker room), so a packet that
has already waited longer than L{MAX_AGE} since it arrived is not forwarded
at all: an overloaded room loses packets, its connections stay up, and the
worker catches up on its own.

When a packet arrived is noted when aioice queues it (L{hubsd.sfu.aiortc_hooks.
tap_receiver}), and L{Shedding.arrival} allows for the time it may have
spent in the kernel's socket buffer before that, while the loop was busy: a
20 ms tick tells how late the loop runs. A tick due at T that has not run
yet means the loop has been busy since T; a tick that ran L seconds late
means the datagrams read just after it may have waited that long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: Seconds a media packet may wait in the worker before it is too late to
#: forward. A listener's jitter buffer holds some tens of milliseconds; a
#: packet later than this would be played late or thrown away there anyway.
MAX_AGE = 0.1
#: Seconds between the ticks that tell a busy loop from an idle one.
TICK = 0.02


class Shedding:
    """The lateness rule (see module docstring), with the clock it reads."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_age: float = MAX_AGE,
        tick: float = TICK,
    ) -> None:
        self.clock = clock
        self.max_age = max_age
        self.interval = tick
        #: When the next tick is due: past it, the loop is late.
        self.due = clock() + tick
        #: How late the last tick ran.
        self.lag = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def tick(self) -> None:
        """The loop runs the tick now."""
        now = self.clock()
        self.lag = max(0.0, now - self.due)
        self.due = now + self.interval

    def arrival(self) -> float:
        """When a datagram read now arrived, at the latest (see module docstring)."""
        now = self.clock()
        return min(self.due, now - self.lag)

    def late(self, arrived: float) -> bool:
        """Whether a packet that arrived at ``arrived`` is too late to forward now."""
        return self.clock() - arrived > self.max_age

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tick on ``loop`` from now on."""

        def run() -> None:
            self.tick()
            self._timer = loop.call_later(self.interval, run)

        self.stop()
        run()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
