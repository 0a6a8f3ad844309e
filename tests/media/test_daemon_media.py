"""
The resolver inside a running daemon (in this process): ``service.media`` is
built from ``[media]``, and the thumbnails it makes are served over real
HTTP at ``/thumbnails/<key>.jpg``.

The resolve requests are real JSON ``POST /api/v1/media`` requests (treq)
to the daemon, whose per-address limit answers 429 over HTTP.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import treq
from PIL import Image

from hubsd.config import ConfigError, load_config
from hubsd.service import HubsdService
from tests.media.conftest import media_body
from tests.rooms.wampclient import free_port, start_daemon, write_config


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    port = free_port()
    ini = write_config(tmp_path / "state", port)
    text = ini.read_text().replace(
        "[hubsd]\n", f"[hubsd]\npublic_origin = http://127.0.0.1:{port}\n"
    )
    ini.write_text(
        text + "[media]\nallow_networks = 127.0.0.1/32\nthumbnail_size = 128\n"
        # A small burst and a slow refill, so that the limit test reaches it.
        "rate = 0.01\nrate_burst = 3\n"
    )
    service = await start_daemon(ini)
    service.test_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield service
    await service.stopService()


async def post_media(service: HubsdService, body: Any) -> tuple[int, Any, Any]:
    """POST C{body} as JSON to the daemon's /api/v1/media: (status, JSON body, headers)."""
    response = await treq.post(
        service.test_url + "/api/v1/media",  # type: ignore[attr-defined]
        json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    return response.code, json.loads(await response.content()), response.headers


async def resolve(service: HubsdService, url: str) -> dict[str, Any]:
    """Resolve C{url} through the daemon over HTTP; its 200 answer."""
    status, answer, headers = await post_media(service, media_body(url))
    assert status == 200, answer
    assert headers.getRawHeaders("content-type")[0].startswith("application/json")
    return dict(answer)


@pytest_twisted.ensureDeferred
async def test_a_page_and_an_image_are_resolved_over_http_until_the_limit(daemon, origin) -> None:
    page = await resolve(daemon, origin.url("/page.html"))
    assert page["origin"] == origin.url("/page.html")
    meta = page["meta"]
    assert meta["expected_content_type"] == "text/html"
    assert meta["title"] == "A page with a picture"
    assert meta["description"] == "Described & shared."
    assert meta["thumbnail"].startswith(daemon.test_url + "/thumbnails/")
    image = await resolve(daemon, origin.url("/image.png"))
    assert image["meta"]["expected_content_type"] == "image/png"
    assert (image["meta"]["width"], image["meta"]["height"]) == (800, 600)
    # The page, its picture (for the page's thumbnail), and the image itself.
    assert origin.requests == ["/page.html", "/image.png", "/image.png"]
    # Bad input is a JSON 400, and counts against the limit too.
    status, body, _ = await post_media(daemon, {"media": {"url": "ftp://x/"}})
    assert status == 400 and body["error"]["code"], body
    # The burst of 3 is spent: the next request from this address is a 429.
    status, body, headers = await post_media(daemon, media_body(origin.url("/image.png")))
    assert status == 429, body
    assert body["error"]["code"] == "rate_limited"
    assert int(headers.getRawHeaders("retry-after")[0]) >= 1


@pytest_twisted.ensureDeferred
async def test_a_pasted_image_gets_a_thumbnail_the_daemon_serves(daemon, origin) -> None:
    answer = await resolve(daemon, origin.url("/image.png"))
    thumbnail = answer["meta"]["thumbnail"]
    assert thumbnail.startswith(daemon.test_url + "/thumbnails/")
    response = await treq.get(thumbnail)
    assert response.code == 200
    assert response.headers.getRawHeaders("content-type") == ["image/jpeg"]
    assert response.headers.getRawHeaders("cache-control")[0].startswith("public, max-age=")
    image = Image.open(io.BytesIO(await response.content()))
    assert (image.format, image.size) == ("JPEG", (128, 96))
    etag = response.headers.getRawHeaders("etag")[0]
    again = await treq.get(thumbnail, headers={"If-None-Match": etag})
    assert again.code == 304
    assert await again.content() == b""


@pytest_twisted.ensureDeferred
async def test_unknown_or_malformed_thumbnails_are_a_json_404(daemon) -> None:
    for path in ("/thumbnails/" + "0" * 32 + ".jpg", "/thumbnails/../etc", "/thumbnails/x.png"):
        response = await treq.get(daemon.test_url + path)
        assert response.code == 404, path
        body = await response.json()
        assert body["error"]["code"] == "not_found"
    # Other methods: a JSON 405 naming the ones it takes.
    response = await treq.post(daemon.test_url + "/thumbnails/" + "0" * 32 + ".jpg", b"")
    assert response.code == 405
    assert response.headers.getRawHeaders("allow") == ["GET, HEAD"]
    assert (await response.json())["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("lines", "key", "words"),
    [
        ("allow_networks = 127.0.0.1/32, 10.0.0.0/33", "allow_networks", "'10.0.0.0/33' is not"),
        ("connect_timeout = 20s\ntimeout = 10s", "connect_timeout", "not be more than timeout"),
        ("cache_ttl = 2h\nthumbnail_ttl = 1h", "thumbnail_ttl", "not be less than cache_ttl"),
        ("max_image_pixels = 0", "max_image_pixels", "at least 1"),
    ],
)
def test_bad_media_settings_are_config_errors_naming_the_key(
    tmp_path: Path, lines: str, key: str, words: str
) -> None:
    ini = tmp_path / "hubsd.ini"
    ini.write_text(f"[media]\n{lines}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(ini))
    [problem] = e.value.problems
    assert (problem.section, problem.key) == ("media", key)
    assert words in str(problem)
