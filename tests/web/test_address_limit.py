"""The per-address limiter of HTTP endpoints."""

import pytest
from twisted.internet.task import Clock

from hubsd.web.addresslimit import AddressLimiter
from hubsd.web.http import HttpError


def test_an_address_over_its_rate_gets_429_with_retry_after() -> None:
    clock = Clock()
    limiter = AddressLimiter("sign-in", rate=0.5, burst=2, clock=clock.seconds)
    limiter.check("192.0.2.1")
    limiter.check("192.0.2.1")
    with pytest.raises(HttpError) as e:
        limiter.check("192.0.2.1")
    assert e.value.status == 429
    assert e.value.headers == {"Retry-After": "2"}
    assert "sign-in" in e.value.message
    limiter.check("192.0.2.2")  # another address has its own bucket
    clock.advance(2)
    limiter.check("192.0.2.1")


def test_the_table_of_addresses_is_bounded_and_forgets_the_oldest() -> None:
    clock = Clock()
    limiter = AddressLimiter("upload", rate=1, burst=1, clock=clock.seconds, max_addresses=2)
    limiter.check("a")
    limiter.check("b")
    limiter.check("c")  # forgets "a"
    assert len(limiter._buckets) == 2
    limiter.check("a")  # a fresh, full bucket
    with pytest.raises(HttpError):
        limiter.check("c")
