"""
Per-address rate limits for HTTP endpoints (sign-in, uploads, URL resolution).

One token bucket per client address (L{hubsd.rooms.ratelimit.KeyedLimiter}:
created on first use, the table bounded, the least recently used address
forgotten first). A limited request gets a 429 with ``Retry-After``.
"""

from __future__ import annotations

from hubsd.rooms.ratelimit import Clock, KeyedLimiter
from hubsd.web.http import HttpError


def rate_limited(what: str, wait: int) -> HttpError:
    """The 429 answer for C{what} requests that may come again in C{wait} seconds."""
    return HttpError(
        429,
        "rate_limited",
        f"too many {what} requests from this address; try again in {wait} s",
        headers={"Retry-After": str(wait)},
    )


class AddressLimiter(KeyedLimiter):
    """C{rate} requests per second per address, bursts of C{burst} requests."""

    def __init__(
        self, name: str, rate: float, burst: float, clock: Clock, max_addresses: int = 65536
    ) -> None:
        super().__init__(rate, burst, clock, max_addresses)
        self.name = name

    def check(self, address: str) -> None:
        """Take one request for C{address}; raise a 429 L{HttpError} when over the limit."""
        wait = self.wait(address)
        if wait:
            raise rate_limited(self.name, wait)
