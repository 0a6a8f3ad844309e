"""
Per-session outgoing queue with backpressure.

While the transport accepts data, frames are written straight through
(one C{transport.write} per frame). When the transport's buffer fills,
Twisted pauses us (we are registered as its streaming IPushProducer) and
frames wait in our own queue, whose size in bytes is the session's budget:

- Droppable events (publish option C{droppable=True}, a hubsd extension, or
  a topic matching C{droppable_topics} in settings) carry a key: their
  subscription and their publisher. While queued, a newer droppable event
  with the same key (the same publisher's next update on that subscription)
  supersedes the older one (the older frame is discarded, the newer is
  appended, so order with other messages is kept).
- Beyond the soft limit, droppable events without an older one to replace
  are dropped.
- Reliable messages are never dropped; past the hard limit the session is
  disconnected with a logged reason.

A frame longer than C{max_frame} (the peer's announced maximum, RawSocket
only) is never written: the wire session answers in place of a reply that
is too big, and an event that is too big is skipped for this receiver.

Drops, supersedes, disconnects and skipped events are counted in
L{RouterStats}.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IPushProducer, ITransport
from twisted.logger import Logger
from zope.interface import implementer

from hubsd.wamp.router import RouterStats

log = Logger()


@implementer(IPushProducer)
class Outgoing:
    """The write side of one wire session."""

    def __init__(
        self,
        transport: ITransport,
        soft_limit: int,
        hard_limit: int,
        stats: RouterStats,
        on_overflow: Callable[[str], None],
    ) -> None:
        self._transport = transport
        self._soft = soft_limit
        self._hard = hard_limit
        self._stats = stats
        self._on_overflow = on_overflow
        self.paused = False
        # Entries are [frame-or-None, key]; None marks a superseded frame.
        # Created on first pause: an idle connection should stay small.
        self._queue: deque[list[Any]] | None = None
        self._latest: dict[Any, list[Any]] = {}
        self.queued_bytes = 0
        self.closed = False
        self._drained: list[Callable[[], None]] = []
        #: Longest frame the peer accepts, framing header included.
        self.max_frame = sys.maxsize

    def write(self, frame: bytes, key: Any = None) -> None:
        """Send C{frame}; C{key} marks it droppable under that key."""
        if self.closed:
            return
        if len(frame) > self.max_frame:
            # Only events get here (L{WireSession.send} checks replies first):
            # one publisher's big event must not break or kill receivers.
            self._stats.events_too_big += 1
            return
        if not self.paused:
            self._transport.write(frame)
            return
        if key is not None:
            old = self._latest.get(key)
            if old is not None and old[0] is not None:
                self.queued_bytes -= len(old[0])
                old[0] = None
                self._stats.events_superseded += 1
            elif self.queued_bytes > self._soft:
                self._stats.events_dropped += 1
                return
            entry = [frame, key]
            self._latest[key] = entry
        else:
            entry = [frame, None]
        if self._queue is None:
            self._queue = deque()
        self._queue.append(entry)
        self.queued_bytes += len(frame)
        if self.queued_bytes > self._hard:
            self._stats.slow_disconnects += 1
            queued = self.queued_bytes
            self.close()
            self._on_overflow("outgoing queue of %d bytes exceeds the hard limit" % queued)

    def when_drained(self, fn: Callable[[], None]) -> bool:
        """Call C{fn} once everything queued has been handed to the transport.
        Return True if that happened at once."""
        if not self._queue:
            fn()
            return True
        self._drained.append(fn)
        return False

    def close(self) -> None:
        """Forget queued data; further writes are ignored."""
        self.closed = True
        self._queue = None
        self._latest.clear()
        self.queued_bytes = 0

    # IPushProducer

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        q = self._queue
        if q is None:
            return
        write = self._transport.write
        while q and not self.paused:
            frame, key = q.popleft()
            if frame is None:
                continue
            self.queued_bytes -= len(frame)
            if key is not None and self._latest.get(key) is not None:
                if self._latest[key][0] is frame:
                    del self._latest[key]
            write(frame)
        if not q:
            self._queue = None
            self._latest.clear()
            drained, self._drained = self._drained, []
            for fn in drained:
                fn()

    def stopProducing(self) -> None:
        self.close()
