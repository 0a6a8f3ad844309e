"""
Per-member rate limits: token buckets that decide, message by message,
whether a publish passes.

Pure: time comes from an injected clock (a callable returning seconds, e.g.
``reactor.seconds`` or ``twisted.internet.task.Clock().seconds`` in tests),
nothing is scheduled and nothing is logged. ``MemberLimiter.allow`` runs for
every publish of every member, so it does a handful of float operations on
slotted attributes and allocates no container per call.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]

#: A member counts as continuously over the limit while no more than this many
#: seconds pass between two of its dropped messages.
OVER_LIMIT_GAP = 1.0


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not value > 0:  # also refuses NaN
        raise ValueError(f"{name} must be greater than 0, not {value!r}")
    return value


class TokenBucket:
    """
    A bucket of C{burst} tokens refilled at C{rate} tokens per second, full
    at creation.

    ``take(n)`` succeeds when the bucket holds C{n} tokens. A request larger
    than the whole bucket succeeds only when the bucket is full, and leaves
    it in debt (negative) so that the average rate still holds; without that
    such a request could never pass.
    """

    __slots__ = ("rate", "burst", "tokens", "_clock", "_last")

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self.rate = _positive("rate", rate)
        self.burst = _positive("burst", burst)
        self.tokens = self.burst
        self._clock = clock
        self._last = clock()

    def take(self, n: float = 1.0) -> bool:
        """Take C{n} tokens if there are enough; True if they were taken."""
        now = self._clock()
        elapsed = now - self._last
        self._last = now
        # A clock that steps back refills nothing (and is not a free refill later).
        if elapsed > 0:
            tokens = self.tokens + elapsed * self.rate
            self.tokens = tokens if tokens < self.burst else self.burst
        if self.tokens >= n or self.tokens >= self.burst:
            self.tokens -= n
            return True
        return False


class MemberLimiter:
    """
    One member's limits in one room: at most C{msgs_per_s} messages and
    C{bytes_per_s} bytes per second, each allowed to burst to
    C{burst_seconds} worth of its rate. The two are independent: a message
    passes only if both buckets have room, and then takes from both; a
    dropped message takes from neither.

    ``allow(nbytes)`` answers whether a message of C{nbytes} passes; a False
    answer means the caller drops it (counted in ``dropped`` and
    ``dropped_bytes``). ``should_kick()`` becomes true once the member has
    been over the limit continuously (a drop at least every
    L{OVER_LIMIT_GAP} seconds) for C{kick_after_s} seconds while attempting
    at least C{kick_factor} times one of the rates; a member a little over
    the limit is only slowed, one far over it for long is to be kicked.
    C{kick_after_s} 0 means never.
    """

    __slots__ = (
        "msgs_per_s",
        "bytes_per_s",
        "kick_after_s",
        "kick_factor",
        "_clock",
        "_msg_burst",
        "_byte_burst",
        "_msgs",
        "_bytes",
        "_last",
        "allowed",
        "dropped",
        "dropped_bytes",
        "_attempts",
        "_attempted_bytes",
        "_over_since",
        "_over_attempts",
        "_over_bytes",
        "_last_drop",
    )

    def __init__(
        self,
        msgs_per_s: float,
        bytes_per_s: float,
        burst_seconds: float,
        kick_after_s: float,
        clock: Clock,
        *,
        kick_factor: float = 3.0,
    ) -> None:
        self.msgs_per_s = _positive("msgs_per_s", msgs_per_s)
        self.bytes_per_s = _positive("bytes_per_s", bytes_per_s)
        burst_seconds = _positive("burst_seconds", burst_seconds)
        kick_after_s = float(kick_after_s)
        if not kick_after_s >= 0:
            raise ValueError(f"kick_after_s must be 0 (never) or more, not {kick_after_s!r}")
        self.kick_after_s = kick_after_s
        self.kick_factor = _positive("kick_factor", kick_factor)
        self._clock = clock
        # At least one message fits, whatever the rate and burst.
        self._msg_burst = max(1.0, self.msgs_per_s * burst_seconds)
        self._byte_burst = self.bytes_per_s * burst_seconds
        self._msgs = self._msg_burst
        self._bytes = self._byte_burst
        self._last = clock()
        #: Messages that passed, messages dropped, bytes of the dropped ones.
        self.allowed = 0
        self.dropped = 0
        self.dropped_bytes = 0
        # Everything attempted, and where the current over-limit spell began.
        self._attempts = 0
        self._attempted_bytes = 0
        self._over_since: float | None = None
        self._over_attempts = 0
        self._over_bytes = 0
        self._last_drop = 0.0

    def allow(self, nbytes: int) -> bool:
        """True if a message of C{nbytes} bytes may pass now (and count it)."""
        now = self._clock()
        elapsed = now - self._last
        self._last = now
        if elapsed > 0:
            msgs = self._msgs + elapsed * self.msgs_per_s
            self._msgs = msgs if msgs < self._msg_burst else self._msg_burst
            nb = self._bytes + elapsed * self.bytes_per_s
            self._bytes = nb if nb < self._byte_burst else self._byte_burst
        self._attempts += 1
        self._attempted_bytes += nbytes
        if self._msgs >= 1.0 and (self._bytes >= nbytes or self._bytes >= self._byte_burst):
            self._msgs -= 1.0
            self._bytes -= nbytes
            self.allowed += 1
            return True
        self.dropped += 1
        self.dropped_bytes += nbytes
        if self._over_since is None or now - self._last_drop > OVER_LIMIT_GAP:
            # A new spell over the limit; count its attempts from this one on.
            self._over_since = now
            self._over_attempts = self._attempts - 1
            self._over_bytes = self._attempted_bytes - nbytes
        self._last_drop = now
        return False

    def should_kick(self) -> bool:
        """
        True if the member has been far over its limits, continuously, for
        at least ``kick_after_s`` seconds (never if that is 0).
        """
        since = self._over_since
        if not self.kick_after_s or since is None:
            return False
        now = self._clock()
        if now - self._last_drop > OVER_LIMIT_GAP:
            return False  # the spell is over: the member slowed down
        spell = now - since
        if spell < self.kick_after_s:
            return False
        factor = self.kick_factor * spell
        return (
            self._attempts - self._over_attempts >= factor * self.msgs_per_s
            or self._attempted_bytes - self._over_bytes >= factor * self.bytes_per_s
        )


class KeyedLimiter:
    """
    One L{TokenBucket} per key (a client address, an e-mail hash), created
    full on first use: C{rate} per second, bursts of C{burst}. The table is
    bounded: past C{max_keys} the least recently used key is forgotten, so a
    flood of keys costs at most C{max_keys} buckets.
    """

    def __init__(self, rate: float, burst: float, clock: Clock, max_keys: int = 65536) -> None:
        self.rate = _positive("rate", rate)
        self.burst = _positive("burst", burst)
        self._clock = clock
        self._max = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def wait(self, key: str) -> int:
        """
        Take one request for C{key}: 0 if it may go ahead, else the whole
        seconds (at least 1) until it could.
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        if bucket.take():
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))
