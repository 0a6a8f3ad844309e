"""Fixtures of the media resolver's tests: a loopback origin and resolvers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor

from hubsd.media.resolver import MediaResolver, MediaSettings
from tests.media.origin import Origin, serve

PUBLIC_ORIGIN = "https://hubs.example"


@pytest_twisted.async_yield_fixture
async def origin() -> Any:
    site = serve(reactor)
    yield site
    for request in site.hanging:
        if not request.finished and not getattr(request, "_disconnected", False):
            request.finish()
    assert site.listening is not None
    await site.listening.stopListening()


@pytest.fixture
def make_resolver() -> Iterator[Any]:
    """make(allow=("127.0.0.1/32",), clock=, resolver=, connector=, tls=, **settings)."""
    started: list[MediaResolver] = []

    def make(
        allow: tuple[str, ...] = ("127.0.0.1/32",),
        clock: Any = None,
        resolver: Any = None,
        connector: Any = None,
        tls: Any = None,
        **settings: Any,
    ) -> MediaResolver:
        values = replace(MediaSettings(), allow_networks=allow, **settings)
        media = MediaResolver(values, reactor, PUBLIC_ORIGIN, clock, resolver, connector, tls)
        media.start()
        started.append(media)
        return media

    yield make
    for media in started:
        media.stop()


async def refused(media: MediaResolver, body: Any, **kw: Any) -> Any:
    """The HttpError C{media.resolve(body)} raises (the test fails if it answers)."""
    from hubsd.web.http import HttpError

    try:
        answer = await media.resolve(body, **kw)
    except HttpError as e:
        return e
    raise AssertionError(f"resolved, but should have been refused: {answer}")


async def until(predicate: Any, seconds: float = 10.0) -> None:
    """Poll C{predicate} on the real reactor until it holds (fails after C{seconds})."""
    from twisted.internet.task import deferLater

    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"{predicate} did not come true in {seconds} s")


async def stalled(media: MediaResolver, origin: Origin, path: str) -> Any:
    """A resolution of C{path} that the origin holds open: its HttpError, pending."""
    from twisted.internet.defer import ensureDeferred

    pending = ensureDeferred(refused(media, media_body(origin.url(path))))
    await until(lambda: origin.hanging)
    return pending


def media_body(url: str, **media: Any) -> dict[str, Any]:
    return {"media": {"url": url, **media}}


__all__ = ["Origin", "PUBLIC_ORIGIN", "media_body", "refused", "stalled", "until"]
