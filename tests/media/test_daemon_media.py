"""
The resolver inside a running daemon (in this process): ``service.media`` is
built from ``[media]``, and the thumbnails it makes are served over real
HTTP at ``/thumbnails/<key>.jpg``.

The resolve request itself reaches the daemon at ``POST /api/v1/media``,
which the file store's resource owns; L{resolve} below is the one place that
makes the request, so that it becomes a real POST once that resource is in.
"""

from __future__ import annotations

import io
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
    ini.write_text(text + "[media]\nallow_networks = 127.0.0.1/32\nthumbnail_size = 128\n")
    service = await start_daemon(ini)
    service.test_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield service
    await service.stopService()


async def resolve(service: HubsdService, url: str) -> dict[str, Any]:
    return await service.media.resolve(media_body(url), address="127.0.0.1")


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
