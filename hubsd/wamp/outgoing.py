"""
Per-session outgoing queue with backpressure, and batched sending.

While the transport accepts data, frames written during one reactor turn
are collected per session and sent together when the turn ends
(L{OutputBatcher}): one C{send} system call per receiver per turn however
many events it got, straight to the socket when the transport has nothing
buffered (L{hubsd.wamp.internals.send_now}). That skips Twisted's write buffer
and the two epoll updates it costs for every write, which dominated fan-out.
When the transport's buffer fills,
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
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IPushProducer, IReactorTime, ITransport
from twisted.logger import Logger
from zope.interface import implementer

from hubsd.wamp.internals import send_now

if TYPE_CHECKING:
    from hubsd.wamp.router import RouterStats

log = Logger()

#: Bytes a session may collect within one reactor turn before they are sent
#: at once (Twisted's own write buffer pauses producers at 64 KiB too).
FLUSH_AT = 64 * 1024


class OutputBatcher:
    """
    Sends what sessions were given during one reactor turn, at its end.

    A fan-out to N receivers marks N sessions; the flush runs once, after
    the reactor has handled every socket that was ready, so a receiver that
    got several events in that turn gets them in one send.
    """

    def __init__(self, reactor: IReactorTime) -> None:
        self._reactor = reactor
        self._dirty: list[Outgoing] = []
        self._scheduled = False
        #: Seconds to wait before sending; 0 is "at the end of this turn".
        #: Raised while the router is overloaded (L{hubsd.wamp.shedding}), so
        #: that each send carries more events: per-receiver system calls,
        #: not events, are then what a turn costs.
        self.delay = 0.0

    def mark(self, out: Outgoing) -> None:
        self._dirty.append(out)
        if not self._scheduled:
            self._scheduled = True
            self._reactor.callLater(self.delay, self.flush)

    def flush(self) -> None:
        """Send everything pending now (also used by tests and shutdown)."""
        self._scheduled = False
        while self._dirty:
            dirty, self._dirty = self._dirty, []
            for out in dirty:
                out.flush()


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
        batcher: OutputBatcher | None = None,
    ) -> None:
        self._transport: Any = transport
        self._batcher = batcher
        # Frames given while not paused, sent at the end of the reactor turn.
        self._pending: list[bytes] | None = None
        self._pending_bytes = 0
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

    @classmethod
    def for_router(
        cls, transport: ITransport, router: Any, on_overflow: Callable[[str], None]
    ) -> Outgoing:
        """The queue of one of C{router}'s sessions: its limits, stats and batcher."""
        s = router.settings
        return cls(
            transport,
            s.outgoing_soft_limit,
            s.outgoing_hard_limit,
            router.stats,
            on_overflow,
            router.batcher,
        )

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
            pending = self._pending
            if pending is not None:
                pending.append(frame)
                self._pending_bytes += len(frame)
                if self._pending_bytes > FLUSH_AT:
                    # A burst within one turn: send now, so that the
                    # transport's backpressure (and our limits) apply.
                    self.flush()
            elif self._batcher is None:
                self._transport.write(frame)
            else:
                self._pending = [frame]
                self._pending_bytes = len(frame)
                self._batcher.mark(self)
            return
        if self._pending is not None:
            # Frames given before the pause (another write, a pong, filled
            # the transport since) go first.
            self.flush()
            if self.closed:
                return
        self._enqueue(frame, key)

    def flush(self) -> None:
        """Send the frames pending from this reactor turn."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        if self.closed:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        if self.paused:
            # Paused by a write of someone else's (a ping) since: keep order.
            self._enqueue(data, None)
            return
        send_now(self._transport, data)

    def _enqueue(self, frame: bytes, key: Any) -> None:
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
        self.flush()
        if not self._queue:
            fn()
            return True
        self._drained.append(fn)
        return False

    def close(self) -> None:
        """Forget queued data; further writes are ignored."""
        self.closed = True
        self._pending = None
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
