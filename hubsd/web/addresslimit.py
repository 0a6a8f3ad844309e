"""
Per-address rate limits for HTTP endpoints (sign-in, uploads, URL resolution).

One token bucket per client address, created on first use; the table is
bounded (the least recently used address is forgotten first), so a flood of
addresses costs memory up to C{max_addresses} buckets and no more. A limited
request gets a 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from hubsd.rooms.ratelimit import Clock, TokenBucket
from hubsd.web.http import HttpError


class AddressLimiter:
    """C{rate} requests per second per address, bursts of C{burst} requests."""

    def __init__(
        self, name: str, rate: float, burst: float, clock: Clock, max_addresses: int = 65536
    ) -> None:
        self.name = name
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max = max_addresses
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, address: str) -> None:
        """Take one request for C{address}; raise a 429 L{HttpError} when over the limit."""
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = TokenBucket(self.rate, self.burst, self._clock)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        if not bucket.take():
            wait = max(1, math.ceil((1 - bucket.tokens) / self.rate))
            raise HttpError(
                429,
                "rate_limited",
                f"too many {self.name} requests from this address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
