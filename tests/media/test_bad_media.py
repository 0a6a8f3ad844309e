"""Bad requests and bad media: each a clear 4xx/5xx, never a crash or a hang."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from tests.media.conftest import media_body, refused, stalled, until
from tests.wamp.harness import timeout

BAD_BODIES: list[tuple[Any, str]] = [
    (None, "the body must be"),
    ([], "the body must be"),
    ({"url": "http://example.com/"}, "the body must be"),
    ({"media": "http://example.com/"}, "the body must be"),
    ({"media": {}}, "media.url must be a non-empty string"),
    ({"media": {"url": 7}}, "media.url must be a non-empty string"),
    ({"media": {"url": "   "}}, "media.url must be a non-empty string"),
    ({"media": {"url": "http://example.com/", "quality": "ultra"}}, "media.quality must be"),
    ({"media": {"url": "http://example.com/"}, "version": "2"}, "version must be"),
    ({"media": {"url": "http://example.com/"}, "version": True}, "version must be"),
    ({"media": {"url": "http://example.com/"}, "version": -1}, "version must be"),
]


@pytest.mark.parametrize(("body", "words"), BAD_BODIES)
@pytest_twisted.ensureDeferred
async def test_a_malformed_request_is_a_400_saying_what_is_wrong(
    make_resolver, body: Any, words: str
) -> None:
    error = await refused(make_resolver(), body)
    assert error.status == 400
    assert words in error.message


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "unsupported_scheme"),
        ("ftp://example.com/a.png", "unsupported_scheme"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("data:image/png;base64,AAAA", "unsupported_scheme"),
        ("gopher://127.0.0.1:70/_", "unsupported_scheme"),
        ("//example.com/a.png", "unsupported_scheme"),
        ("example.com/a.png", "unsupported_scheme"),
        ("http:///a.png", "bad_url"),
        ("http://user:secret@example.com/", "bad_url"),
        ("http://example.com:99999/", "bad_url"),
        ("http://exa mple.com/", "bad_url"),
        ("http://256.1.1.1/", "bad_url"),
        ("http://1.2.3.4.5/", "bad_url"),
        ("http://a..b/", "bad_url"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_urls_that_are_not_http_are_refused_before_any_lookup(
    make_resolver, url: str, code: str
) -> None:
    lookups: list[str] = []

    async def resolver(name: str, port: int) -> list[Any]:
        lookups.append(name)
        return []

    error = await refused(make_resolver(resolver=resolver), media_body(url))
    assert (error.status, error.code) == (400, code)
    assert lookups == []


@pytest_twisted.ensureDeferred
async def test_an_overlong_url_is_refused(make_resolver) -> None:
    error = await refused(
        make_resolver(max_url_length=64), media_body("http://a.example/" + "x" * 64)
    )
    assert (error.status, error.code) == (400, "bad_url")


@pytest.mark.parametrize("path", ["/big.png", "/big.png?chunked=1"])
@pytest_twisted.ensureDeferred
async def test_an_image_over_max_image_size_is_a_422(origin, make_resolver, path: str) -> None:
    media = make_resolver(max_image_size=1024 * 1024)
    error = await refused(media, media_body(origin.url(path)))
    assert (error.status, error.code) == (422, "too_large")
    assert "1048576 bytes" in error.message


@pytest_twisted.ensureDeferred
async def test_a_decompression_bomb_is_refused_before_it_is_decoded(origin, make_resolver) -> None:
    media = make_resolver()
    error = await refused(media, media_body(origin.url("/bomb.png")))
    assert (error.status, error.code) == (422, "image_too_large")
    # Pillow's own check fires already while reading the header.
    assert "10000000000 pixels" in error.message


@pytest_twisted.ensureDeferred
async def test_an_image_over_max_image_pixels_is_refused(origin, make_resolver) -> None:
    media = make_resolver(max_image_pixels=1_000_000)
    error = await refused(media, media_body(origin.url("/huge.png")))
    assert (error.status, error.code) == (422, "image_too_large")
    assert "3000x3000" in error.message


@pytest.mark.parametrize(
    ("path", "words"),
    [("/fake.png", "not an image"), ("/truncated.png", "broken")],
)
@pytest_twisted.ensureDeferred
async def test_a_body_that_is_no_image_under_an_image_type_is_a_422(
    origin, make_resolver, path: str, words: str
) -> None:
    error = await refused(make_resolver(), media_body(origin.url(path)))
    assert (error.status, error.code) == (422, "bad_image")
    assert words in error.message


@pytest_twisted.ensureDeferred
async def test_a_compressed_body_is_refused_unread(origin, make_resolver) -> None:
    error = await refused(make_resolver(), media_body(origin.url("/gzip.html")))
    assert (error.status, error.code) == (502, "upstream_encoding")


@pytest_twisted.ensureDeferred
async def test_an_upstream_error_status_is_passed_on_in_words(origin, make_resolver) -> None:
    error = await refused(make_resolver(), media_body(origin.url("/missing")))
    assert (error.status, error.code) == (422, "upstream_status")
    assert "404" in error.message


@pytest_twisted.ensureDeferred
async def test_a_closed_port_is_a_502(make_resolver) -> None:
    from tests.conftest import free_port

    error = await refused(make_resolver(), media_body(f"http://127.0.0.1:{free_port()}/"))
    assert (error.status, error.code) == (502, "connect_failed")


@pytest_twisted.ensureDeferred
async def test_a_server_that_never_answers_is_a_504_after_timeout(origin, make_resolver) -> None:
    clock = Clock()
    media = make_resolver(clock=clock, timeout=15.0)
    pending = await stalled(media, origin, "/hang")
    clock.advance(15)
    error = await timeout(pending, 10)
    assert (error.status, error.code) == (504, "upstream_timeout")


@pytest_twisted.ensureDeferred
async def test_a_body_that_stalls_is_a_504_and_its_connection_is_closed(
    origin, make_resolver
) -> None:
    clock = Clock()
    media = make_resolver(clock=clock)
    pending = await stalled(media, origin, "/slow.png")
    clock.advance(media.settings.timeout)
    error = await timeout(pending, 10)
    assert (error.status, error.code) == (504, "upstream_timeout")
    await until(lambda: origin.dropped == ["/slow.png"])


@pytest_twisted.ensureDeferred
async def test_resolutions_beyond_max_fetches_are_a_503(origin, make_resolver) -> None:
    clock = Clock()
    media = make_resolver(clock=clock, max_fetches=1)
    pending = await stalled(media, origin, "/hang")
    error = await refused(media, media_body(origin.url("/image.png")))
    assert (error.status, error.code, error.headers) == (503, "busy", {"Retry-After": "1"})
    clock.advance(media.settings.timeout)
    await timeout(pending, 10)
    await media.resolve(media_body(origin.url("/image.png")))  # the slot is free again


@pytest_twisted.ensureDeferred
async def test_each_address_is_rate_limited(origin, make_resolver) -> None:
    clock = Clock()
    media = make_resolver(clock=clock, rate=1.0, rate_burst=2.0)
    body = media_body(origin.url("/image.png"))
    await media.resolve(body, address="192.0.2.7")
    await media.resolve(body, address="192.0.2.7")
    error = await refused(media, body, address="192.0.2.7")
    assert (error.status, error.code, error.headers) == (429, "rate_limited", {"Retry-After": "1"})
    await media.resolve(body, address="192.0.2.8")
    clock.advance(1)
    await media.resolve(body, address="192.0.2.7")


@pytest_twisted.ensureDeferred
async def test_a_decoding_left_behind_by_a_timeout_still_counts_against_max_fetches(
    origin, make_resolver, monkeypatch
) -> None:
    import threading

    import hubsd.media.resolver as resolver_module

    started, release = threading.Event(), threading.Event()
    real = resolver_module.make_thumbnail

    def slow(*args: Any) -> Any:
        started.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(resolver_module, "make_thumbnail", slow)
    clock = Clock()
    media = make_resolver(clock=clock, max_fetches=1)
    from twisted.internet.defer import ensureDeferred

    pending = ensureDeferred(refused(media, media_body(origin.url("/image.png"))))
    await until(started.is_set)
    clock.advance(media.settings.timeout)
    assert (await timeout(pending, 10)).code == "upstream_timeout"
    error = await refused(media, media_body(origin.url("/image.png?again")))
    assert (error.status, error.code) == (503, "busy")
    release.set()
    await until(lambda: media._jobs == 0)
    assert (await media.resolve(media_body(origin.url("/image.png?again"))))["meta"]["width"] == 800
