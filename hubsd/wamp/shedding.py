"""
Load shedding: when the router falls behind, droppable publications are
shed before fan-out, so that reliable messages stay on time.

Output backpressure (L{hubsd.wamp.outgoing}) protects against slow
receivers. This protects against a router that is short of CPU: past its
capacity every message waits behind the backlog, chat as much as avatar
positions. The signal is the reactor's lag: a timer due every C{PERIOD}
runs late by about how long the reactor spent on the sockets that were
ready. While the lag exceeds the target, the share of droppable publishes
shed grows; while it stays well below, the share shrinks again (additive
steps both ways, so the share settles where the router just keeps up).

A shed publication is acknowledged as usual (it was accepted; nobody
receives it) and counted in C{RouterStats.publishes_shed}. Reliable
publications, calls and everything else are never shed.
"""

from __future__ import annotations

import random
from typing import Any

from twisted.internet.task import LoopingCall

#: How often the lag is sampled (seconds).
PERIOD = 0.01
#: Share added per late sample, and removed per timely one.
STEP_UP = 0.05
STEP_DOWN = 0.01
#: Never shed everything: each droppable stream keeps some updates.
MAX_SHARE = 0.95


class LoadShedder:
    """Decides, per droppable publication, whether to shed it."""

    def __init__(self, reactor: Any, target_lag: float, on_overload: Any = None) -> None:
        self._reactor = reactor
        self.target_lag = target_lag
        #: Called with True when shedding starts and False when it ends.
        self._on_overload = on_overload or (lambda overloaded: None)
        #: Share of droppable publications shed right now, 0..MAX_SHARE.
        self.share = 0.0
        self._random = random.random
        self._expected = 0.0
        self._loop: LoopingCall | None = None

    def start(self) -> None:
        """Begin sampling (no-op when the target is 0: shedding is off)."""
        if self.target_lag <= 0 or self._loop is not None:
            return
        self._loop = LoopingCall(self._sample)
        self._loop.clock = self._reactor
        self._expected = self._reactor.seconds() + PERIOD
        self._loop.start(PERIOD, now=False)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        if self.share:
            self.share = 0.0
            self._on_overload(False)

    def observe(self, lag: float) -> None:
        """Adjust the share after a sample that ran C{lag} seconds late."""
        before = self.share
        if lag > self.target_lag:
            self.share = min(MAX_SHARE, self.share + STEP_UP)
        elif lag < self.target_lag / 2 and self.share:
            self.share = max(0.0, self.share - STEP_DOWN)
        if (before == 0.0) != (self.share == 0.0):
            self._on_overload(self.share > 0.0)

    def _sample(self) -> None:
        now = self._reactor.seconds()
        self.observe(max(0.0, now - self._expected))
        self._expected = now + PERIOD

    def shed(self) -> bool:
        """True if this droppable publication should be shed."""
        return self.share > 0.0 and self._random() < self.share
