"""
Media resolution: what a pasted URL is, for the client's loaders.

``POST /api/v1/media`` with ``{"media": {"url", "quality"?}, "version"?}``
(the Hubs client's resolve request) is answered with ``{"origin": url,
"meta": {"expected_content_type", "thumbnail"?, ...}}``. The URL is fetched
through the SSRF-safe L{Fetcher}; an HTML page gives its OpenGraph picture,
title and description, and the picture (or the image the URL names) is
turned into a server-made JPEG thumbnail served at
``/thumbnails/<key>.jpg``. Answers are cached for ``[media] cache_ttl``;
each client address may resolve ``rate`` URLs a second.

Every failure is an L{HttpError} (see docs/http-api.md, "Media resolution").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, TimeoutError, ensureDeferred
from twisted.internet.ssl import optionsForClientTLS
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from hubsd.config import Config
from hubsd.media.addresses import AddressPolicy, parse_networks
from hubsd.media.body import abandon, content_type, read_body
from hubsd.media.cache import TtlCache
from hubsd.media.fetch import (
    Connector,
    Fetcher,
    FetchLimits,
    Resolver,
    TlsOptions,
)
from hubsd.media.image import IMAGE_TYPES, Thumbnail, make_thumbnail
from hubsd.media.page import parse_page
from hubsd.web.addresslimit import AddressLimiter
from hubsd.web.http import HttpError

log = Logger()

T = TypeVar("T")

QUALITIES = ("low", "high", "low_360", "high_360")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True)
class MediaSettings:
    """The ``[media]`` section, typed."""

    allow_networks: tuple[str, ...] = ()
    connect_timeout: float = 5.0
    timeout: float = 15.0
    max_redirects: int = 5
    max_url_length: int = 2048
    max_page_size: int = 512 * 1024
    max_image_size: int = 16 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    thumbnail_size: int = 512
    image_threads: int = 2
    max_fetches: int = 16
    cache_ttl: float = 300.0
    cache_entries: int = 1024
    thumbnail_ttl: float = 3600.0
    thumbnail_cache_size: int = 64 * 1024 * 1024
    rate: float = 1.0
    rate_burst: float = 10.0

    @classmethod
    def fromConfig(cls, config: Config) -> MediaSettings:
        return cls(**dict(config.section("media")))


@dataclass(frozen=True)
class Query:
    url: str
    quality: str | None
    version: int


def parse_query(body: Any, max_url_length: int) -> Query:
    """The resolve request's fields, or a 400 that says which one is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("media"), dict):
        raise HttpError(400, "bad_request", 'the body must be {"media": {"url": ...}}')
    media = body["media"]
    url = media.get("url")
    if not isinstance(url, str) or not url.strip():
        raise HttpError(400, "bad_request", "media.url must be a non-empty string")
    url = url.strip()
    if len(url) > max_url_length:
        raise HttpError(400, "bad_url", f"media.url is longer than {max_url_length} characters")
    quality = media.get("quality")
    if quality is not None and quality not in QUALITIES:
        raise HttpError(400, "bad_request", "media.quality must be one of " + ", ".join(QUALITIES))
    version = body.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**31:
        raise HttpError(400, "bad_request", "version must be a whole number from 0")
    return Query(url, quality, version)


class MediaResolver:
    """
    Resolves pasted URLs (``service.media``). C{resolver} and C{connector}
    replace DNS and TCP (tests that must not send traffic), C{tls} the TLS
    options for a host name (tests that trust their own certificate);
    C{clock} times the deadline, the caches and the rate limit.
    """

    def __init__(
        self,
        settings: MediaSettings,
        reactor: Any,
        public_origin: str,
        clock: Any = None,
        resolver: Resolver | None = None,
        connector: Connector | None = None,
        tls: TlsOptions | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock if clock is not None else reactor
        self._reactor = reactor
        self._origin = public_origin.rstrip("/")
        policy = AddressPolicy(parse_networks(settings.allow_networks))
        limits = FetchLimits(settings.connect_timeout, settings.max_redirects)
        self.fetcher = Fetcher(
            reactor, policy, limits, resolver, connector, tls or optionsForClientTLS
        )
        seconds = self._clock.seconds
        self.results: TtlCache[Query, dict[str, Any]] = TtlCache(
            settings.cache_entries, settings.cache_ttl, seconds
        )
        self.thumbnails: TtlCache[str, bytes] = TtlCache(
            1_000_000,
            settings.thumbnail_ttl,
            seconds,
            weight=len,
            max_weight=settings.thumbnail_cache_size,
        )
        self.limiter = AddressLimiter(
            "media resolution", settings.rate, settings.rate_burst, seconds
        )
        self._pool = ThreadPool(minthreads=0, maxthreads=settings.image_threads, name="hubsd-media")
        self._active = 0
        self._jobs = 0
        self._inflight: dict[Query, list[Deferred[dict[str, Any]]]] = {}

    @classmethod
    def fromConfig(cls, config: Config, reactor: Any) -> MediaResolver:
        origin = config.section("hubsd")["public_origin"]
        return cls(MediaSettings.fromConfig(config), reactor, origin)

    def start(self) -> None:
        self._pool.start()

    def stop(self) -> None:
        self._pool.stop()

    async def resolve(self, body: Any, address: str | None = None) -> dict[str, Any]:
        """
        The answer to a resolve request C{body} (parsed JSON) from client
        C{address} (rate-limited when given), or an L{HttpError}.
        """
        if address is not None:
            self.limiter.check(address)
        query = parse_query(body, self.settings.max_url_length)
        cached = self.results.get(query)
        if cached is not None and self._thumbnail_held(cached):
            return _copy(cached)
        # Every Hubs client that loads a spawned object resolves its URL, all
        # at once: the first fetches, the others wait for its answer.
        waiting = self._inflight.get(query)
        if waiting is not None:
            answer: Deferred[dict[str, Any]] = Deferred()
            waiting.append(answer)
            return _copy(await answer)
        # Worker jobs count too: a resolution that timed out leaves its
        # decoding running, and those must not pile up behind new ones.
        if max(self._active, self._jobs) >= self.settings.max_fetches:
            raise HttpError(
                503,
                "busy",
                "too many URLs are being resolved; try again soon",
                headers={"Retry-After": "1"},
            )
        self._active += 1
        waiters: list[Deferred[dict[str, Any]]] = []
        self._inflight[query] = waiters
        try:
            result = await self._resolve_in_time(query)
        except BaseException:
            failure = Failure()
            for waiter in waiters:
                waiter.errback(failure)
            raise
        finally:
            self._active -= 1
            del self._inflight[query]
        self.results.put(query, result)
        for waiter in waiters:
            waiter.callback(result)
        return _copy(result)

    async def _resolve_in_time(self, query: Query) -> dict[str, Any]:
        d = ensureDeferred(self._resolve(query))
        d.addTimeout(self.settings.timeout, self._clock)
        try:
            return await d
        except TimeoutError:
            raise HttpError(
                504, "upstream_timeout", f"resolving took longer than {self.settings.timeout:g} s"
            ) from None

    async def _resolve(self, query: Query) -> dict[str, Any]:
        final_url, response = await self.fetcher.open(query.url)
        kind, charset = content_type(response)
        meta: dict[str, Any] = {}
        if kind:
            meta["expected_content_type"] = kind
        if kind in _HTML_TYPES:
            page, _ = await read_body(response, self.settings.max_page_size, truncate=True)
            # In the worker threads too: a large page is milliseconds of
            # libxml2 that the reactor (and every room) need not wait for.
            info = await self._in_worker(parse_page, page, charset, final_url)
            if info.title:
                meta["title"] = info.title
            if info.description:
                meta["description"] = info.description
            picture = info.image or info.icon
            if picture:
                meta["thumbnail"] = await self._thumbnail_of_picture(picture)
        elif kind in IMAGE_TYPES:
            data, _ = await read_body(response, self.settings.max_image_size, truncate=False)
            thumbnail = await self._thumbnail(data)
            meta.update(
                thumbnail=self._store(thumbnail), width=thumbnail.width, height=thumbnail.height
            )
        else:
            abandon(response)
        return {"origin": query.url, "meta": meta}

    async def _thumbnail_of_picture(self, url: str) -> str:
        """Our thumbnail of a page's picture; the picture's own URL when we cannot make one."""
        try:
            _, response = await self.fetcher.open(url)
            kind, _ = content_type(response)
            if kind not in IMAGE_TYPES:
                abandon(response)
                return url
            data, _ = await read_body(response, self.settings.max_image_size, truncate=False)
            return self._store(await self._thumbnail(data))
        except HttpError as e:
            # Reticulum gives the picture's URL as it is; so do we, after a
            # failed fetch (the client loads it itself, from its own network).
            log.debug("no thumbnail of {url}: {code}", url=url, code=e.code)
            return url

    async def _thumbnail(self, data: bytes) -> Thumbnail:
        s = self.settings
        return await self._in_worker(make_thumbnail, data, s.max_image_pixels, s.thumbnail_size)

    async def _in_worker(self, work: Callable[..., T], *args: Any) -> T:
        """C{work(*args)} in the worker threads, counted until it really ends."""
        done = self._reactor.callFromThread

        def job() -> T:
            try:
                return work(*args)
            finally:
                done(self._job_ended)

        self._jobs += 1
        return await deferToThreadPool(self._reactor, self._pool, job)

    def _job_ended(self) -> None:
        self._jobs -= 1

    def _thumbnail_held(self, result: dict[str, Any]) -> bool:
        """Whether the thumbnail a cached answer names is still served (it may
        have been evicted for room before the answer expired)."""
        url = result["meta"].get("thumbnail")
        prefix = f"{self._origin}/thumbnails/"
        if not isinstance(url, str) or not url.startswith(prefix):
            return True
        return self.thumbnails.get(url[len(prefix) :].removesuffix(".jpg")) is not None

    def _store(self, thumbnail: Thumbnail) -> str:
        key = hashlib.sha256(thumbnail.jpeg).hexdigest()[:32]
        self.thumbnails.put(key, thumbnail.jpeg)
        return f"{self._origin}/thumbnails/{key}.jpg"


def _copy(result: dict[str, Any]) -> dict[str, Any]:
    return {"origin": result["origin"], "meta": dict(result["meta"])}
