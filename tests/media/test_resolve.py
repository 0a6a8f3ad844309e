"""
Media resolution of pages and images served over real HTTP by a site on
loopback (allow-listed with ``[media] allow_networks = 127.0.0.1/32``).
"""

from __future__ import annotations

import io
import re

import pytest_twisted
from PIL import Image
from twisted.internet.defer import ensureDeferred, gatherResults
from twisted.internet.task import Clock

from tests.media.conftest import PUBLIC_ORIGIN, media_body, refused, until
from tests.media.origin import png

THUMB = re.compile(re.escape(PUBLIC_ORIGIN) + r"/thumbnails/([0-9a-f]{32})\.jpg$")


def thumbnail_of(media, url: str) -> Image.Image:
    match = THUMB.match(url)
    assert match, url
    data = media.thumbnails.get(match.group(1))
    assert data is not None
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


@pytest_twisted.ensureDeferred
async def test_a_page_gives_its_opengraph_title_description_and_a_thumbnail_of_its_picture(
    origin, make_resolver
) -> None:
    media = make_resolver()
    url = origin.url("/page.html")
    answer = await media.resolve(media_body(url, quality="high"), address="192.0.2.1")
    meta = answer["meta"]
    assert answer["origin"] == url
    assert meta["expected_content_type"] == "text/html"
    assert meta["title"] == "A page with a picture"
    assert meta["description"] == "Described & shared."
    thumb = thumbnail_of(media, meta["thumbnail"])
    assert thumb.size == (512, 384)  # 800x600 scaled to fit 512, aspect kept
    assert origin.requests == ["/page.html", "/image.png"]


@pytest_twisted.ensureDeferred
async def test_an_image_gets_a_server_made_thumbnail_and_its_size(origin, make_resolver) -> None:
    media = make_resolver(thumbnail_size=200)
    answer = await media.resolve(media_body(origin.url("/image.png")))
    meta = answer["meta"]
    assert meta["expected_content_type"] == "image/png"
    assert (meta["width"], meta["height"]) == (800, 600)
    assert thumbnail_of(media, meta["thumbnail"]).size == (200, 150)


@pytest_twisted.ensureDeferred
async def test_a_page_without_a_picture_falls_back_to_its_icon(origin, make_resolver) -> None:
    media = make_resolver()
    meta = (await media.resolve(media_body(origin.url("/icon.html"))))["meta"]
    assert meta["title"] == "Only an icon"
    assert meta["description"] == "no picture here"
    assert thumbnail_of(media, meta["thumbnail"]).size == (64, 64)


@pytest_twisted.ensureDeferred
async def test_a_picture_that_cannot_be_fetched_is_given_as_its_own_url(
    origin, make_resolver
) -> None:
    media = make_resolver()
    missing = origin.url("/nothing.png")
    page = origin.url("/page.html?image=" + missing)
    meta = (await media.resolve(media_body(page)))["meta"]
    assert meta["thumbnail"] == missing


@pytest_twisted.ensureDeferred
async def test_only_the_head_of_a_long_page_is_read(origin, make_resolver) -> None:
    media = make_resolver(max_page_size=64 * 1024)
    meta = (await media.resolve(media_body(origin.url("/long.html"))))["meta"]
    assert meta["title"] == "A page with a picture"


@pytest_twisted.ensureDeferred
async def test_other_media_get_their_content_type_without_their_body(origin, make_resolver) -> None:
    media = make_resolver()
    answer = await media.resolve(media_body(origin.url("/video.mp4")))
    assert answer["meta"] == {"expected_content_type": "video/mp4"}


@pytest_twisted.ensureDeferred
async def test_redirects_are_followed_up_to_the_limit(origin, make_resolver) -> None:
    media = make_resolver(max_redirects=3)
    meta = (await media.resolve(media_body(origin.url("/chain/3"))))["meta"]
    assert meta["expected_content_type"] == "image/png"
    error = await refused(media, media_body(origin.url("/chain/4")))
    assert (error.status, error.code) == (422, "too_many_redirects")
    assert origin.requests.count("/chain/4") == 1


@pytest_twisted.ensureDeferred
async def test_a_redirect_loop_is_a_422(origin, make_resolver) -> None:
    media = make_resolver()
    error = await refused(media, media_body(origin.url("/loop/a")))
    assert (error.status, error.code) == (422, "redirect_loop")
    assert origin.requests == ["/loop/a", "/loop/b"]


@pytest_twisted.ensureDeferred
async def test_a_redirect_to_another_scheme_is_refused(origin, make_resolver) -> None:
    media = make_resolver()
    for target in ("file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:70/"):
        error = await refused(media, media_body(origin.url("/redirect?to=" + target)))
        assert (error.status, error.code) == (422, "unsupported_scheme")


@pytest_twisted.ensureDeferred
async def test_answers_are_cached_for_cache_ttl(origin, make_resolver) -> None:
    clock = Clock()
    media = make_resolver(clock=clock, cache_ttl=300.0)
    body = media_body(origin.url("/image.png"))
    first = await media.resolve(body)
    first["meta"]["mutated"] = True  # the cache hands out copies
    second = await media.resolve(body)
    assert "mutated" not in second["meta"]
    assert origin.requests == ["/image.png"]
    await media.resolve(media_body(origin.url("/image.png"), quality="low"))  # another key
    assert len(origin.requests) == 2
    clock.advance(300)
    await media.resolve(body)
    assert len(origin.requests) == 3


@pytest_twisted.ensureDeferred
async def test_the_cache_is_bounded(origin, make_resolver) -> None:
    media = make_resolver(cache_entries=2)
    for n in range(4):
        await media.resolve(media_body(origin.url(f"/image.png?n={n}")))
    assert len(media.results) == 2


@pytest_twisted.ensureDeferred
async def test_a_cached_answer_whose_thumbnail_was_evicted_is_made_again(
    origin, make_resolver
) -> None:
    media = make_resolver(thumbnail_cache_size=40_000)  # room for one (25 to 28 KB)
    first = await media.resolve(media_body(origin.url("/image.png")))
    await media.resolve(media_body(origin.url("/huge.png")))  # its thumbnail evicts the first
    assert len(media.thumbnails) == 1
    again = await media.resolve(media_body(origin.url("/image.png")))
    assert origin.requests.count("/image.png") == 2
    assert again["meta"]["thumbnail"] == first["meta"]["thumbnail"]  # same bytes, same key
    assert thumbnail_of(media, again["meta"]["thumbnail"]).size == (512, 384)


@pytest_twisted.ensureDeferred
async def test_simultaneous_resolutions_of_one_url_share_one_fetch(origin, make_resolver) -> None:
    # Every client that loads a spawned object asks at once; max_fetches is no limit to them.
    media = make_resolver(max_fetches=1)
    body = media_body(origin.url("/hang"))
    answers = [ensureDeferred(media.resolve(body, address=f"192.0.2.{n}")) for n in range(25)]
    await until(lambda: origin.hanging)
    request = origin.hanging[0]
    request.setHeader(b"content-type", b"image/png")
    request.write(png(40, 20))
    request.finish()
    results = await gatherResults(answers)
    assert origin.requests == ["/hang"]
    assert all(r == results[0] for r in results)
    assert results[0]["meta"]["width"] == 40
    results[0]["meta"]["mutated"] = True  # each caller has its own copy
    assert "mutated" not in results[1]["meta"]


@pytest_twisted.ensureDeferred
async def test_the_waiters_of_a_failed_resolution_get_its_error(origin, make_resolver) -> None:
    media = make_resolver()
    body = media_body(origin.url("/hang"))
    first, second = (ensureDeferred(refused(media, body)) for _ in range(2))
    await until(lambda: origin.hanging)
    origin.hanging[0].setResponseCode(404)
    origin.hanging[0].finish()
    for pending in (first, second):
        error = await pending
        assert (error.status, error.code) == (422, "upstream_status")
    assert origin.requests == ["/hang"]
    assert media._inflight == {}
