"""
Uploads and downloads over real HTTP against the daemon in this process:
the Hubs reply shape, tokens, ranges, conditional requests, and what is on
disk (nothing readable). Metadata on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import pytest_twisted

from tests.files.httpd import png, running

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest_twisted.ensureDeferred
async def test_an_upload_is_served_with_its_token_only(tmp_path: Path, storage: str) -> None:
    data = png(200_000)
    async with running(tmp_path, storage) as web:
        answer = await web.upload(data)
        assert answer.status == 200, answer.body
        reply = answer.json()
        file_id = reply["file_id"]
        assert UUID.match(file_id)
        assert reply["origin"] == f"{web.base}/files/{file_id}.png"
        meta = reply["meta"]
        assert re.fullmatch(r"[0-9a-f]{32}", meta["access_token"])
        assert re.fullmatch(r"[0-9a-f]{32}", meta["promotion_token"])
        assert meta["expected_content_type"] == "image/png"
        path = f"/files/{file_id}.png"

        got = await web.request("GET", f"{path}?token={meta['access_token']}")
        assert got.status == 200
        assert got.body == data
        assert got.header("content-type") == "image/png"
        assert got.header("content-length") == str(len(data))
        assert got.header("cache-control") == "public, max-age=31536000, immutable"
        assert got.header("accept-ranges") == "bytes"
        assert got.header("x-content-type-options") == "nosniff"
        assert re.fullmatch(r'"[0-9a-f]{32}"', got.header("etag") or "")
        assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", got.header("date") or "")

        by_header = await web.request(
            "GET", path, headers={"Authorization": f"Token {meta['access_token']}"}
        )
        assert by_header.body == data

        head = await web.request("HEAD", f"{path}?token={meta['access_token']}")
        assert (head.status, head.body) == (200, b"")
        assert head.header("etag") == got.header("etag")
        # (Twisted's client reports no length for HEAD: read the raw answer.)
        raw = await web.raw(
            f"HEAD {path}?token={meta['access_token']} HTTP/1.1\r\nHost: x\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        head_lines, _, rest = raw.partition(b"\r\n\r\n")
        assert f"Content-Length: {len(data)}".encode() in head_lines
        assert rest == b""

        missing = await web.request("GET", path)
        assert missing.status == 403
        assert missing.json()["error"]["code"] == "token_required"
        wrong = await web.request("GET", f"{path}?token={'0' * 32}")
        unknown = await web.request(
            "GET", f"/files/00000000-0000-4000-8000-000000000000.png?token={meta['access_token']}"
        )
        # A wrong token and an unknown id are told apart by nothing.
        assert wrong.status == unknown.status == 404
        assert wrong.body == unknown.body
        assert wrong.header("etag") is None

        no_token = await web.upload(png(1000), with_token=False)
        assert no_token.json()["meta"]["promotion_token"] is None


@pytest_twisted.ensureDeferred
async def test_ranges_single_multiple_and_unsatisfiable(tmp_path: Path) -> None:
    data = png(300_000)
    async with running(tmp_path) as web:
        reply = (await web.upload(data)).json()
        url = f"/files/{reply['file_id']}.png?token={reply['meta']['access_token']}"

        async def ranged(spec: str, **extra: str) -> object:
            return await web.request("GET", url, headers={"Range": spec, **extra})

        one = await ranged("bytes=10-19")
        assert (one.status, one.body) == (206, data[10:20])
        assert one.header("content-range") == f"bytes 10-19/{len(data)}"
        assert one.header("content-length") == "10"
        across = await ranged("bytes=65530-131080")  # spans three chunks
        assert across.body == data[65530:131081]
        assert (await ranged("bytes=-100")).body == data[-100:]
        assert (await ranged("bytes=299990-")).body == data[299990:]
        assert (await ranged("bytes=299990-999999")).body == data[299990:]

        several = await ranged("bytes=0-4, 100000-100009, -3")
        assert several.status == 206
        kind = several.header("content-type") or ""
        boundary = kind.split("boundary=")[1]
        assert kind.startswith("multipart/byteranges; ")
        assert several.header("content-length") == str(len(several.body))
        parts = several.body.split(b"--" + boundary.encode())
        assert parts[-1] == b"--\r\n"
        bodies = [p.split(b"\r\n\r\n", 1)[1][:-2] for p in parts[1:-1]]
        assert bodies == [data[0:5], data[100000:100010], data[-3:]]
        assert b"content-range: bytes 100000-100009/300000" in parts[2]
        assert b"content-type: image/png" in parts[1]

        overlapping = await ranged("bytes=0-10, 5-20")
        assert (overlapping.status, overlapping.body) == (206, data[0:21])

        past = await ranged("bytes=400000-")
        assert past.status == 416
        assert past.header("content-range") == "bytes */300000"
        for ignored in ("bytes=5-1", "lines=1-2", "bytes=x-"):
            full = await ranged(ignored)
            assert (full.status, full.body) == (200, data)
        etag = one.header("etag") or ""
        assert (await ranged("bytes=0-0", **{"If-Range": etag})).status == 206
        stale = await ranged("bytes=0-0", **{"If-Range": '"older"'})
        assert (stale.status, len(stale.body)) == (200, len(data))


@pytest_twisted.ensureDeferred
async def test_conditional_requests(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        reply = (await web.upload(png(5000))).json()
        url = f"/files/{reply['file_id']}.png?token={reply['meta']['access_token']}"
        etag = (await web.request("GET", url)).header("etag") or ""
        for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            same = await web.request("GET", url, headers={"If-None-Match": header})
            assert (same.status, same.body) == (304, b"")
            assert same.header("etag") == etag
            assert same.header("cache-control") == "public, max-age=31536000, immutable"
        assert (await web.request("HEAD", url, headers={"If-None-Match": etag})).status == 304
        other = await web.request("GET", url, headers={"If-None-Match": '"other"'})
        assert (other.status, len(other.body)) == (200, 5000)
        # The wrong token gets no 304 that would prove the file exists.
        wrong = f"/files/{reply['file_id']}.png?token={'1' * 32}"
        assert (await web.request("GET", wrong, headers={"If-None-Match": etag})).status == 404


@pytest_twisted.ensureDeferred
async def test_nothing_readable_on_disk_and_equal_uploads_differ(tmp_path: Path) -> None:
    marker = b"PLAINTEXT-MARKER-"
    data = png(150_000, marker)
    async with running(tmp_path) as web:
        first = (await web.upload(data)).json()
        second = (await web.upload(data)).json()
        blobs = web.blob_paths()
        assert len(blobs) == 2
        contents = [Path(p).read_bytes() for p in blobs]
        assert contents[0] != contents[1]
        assert len(contents[0]) == len(contents[1])
        everything = web.stored_bytes()
        assert marker not in everything
        assert data[:16] not in everything
        for reply in (first, second):
            assert reply["meta"]["access_token"].encode() not in everything
            assert reply["meta"]["promotion_token"].encode() not in everything
        for reply in (first, second):
            url = f"/files/{reply['file_id']}.png?token={reply['meta']['access_token']}"
            assert (await web.request("GET", url)).body == data


@pytest_twisted.ensureDeferred
async def test_upload_bodies_are_not_spooled_by_twisted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import twisted.web.http as http

    spooled: list[int | None] = []
    original = http._getContentFile

    def recording(length: int | None) -> object:
        spooled.append(length)
        return original(length)

    monkeypatch.setattr(http, "_getContentFile", recording)
    async with running(tmp_path) as web:
        assert (await web.upload(png(2_000_000))).status == 200
        assert spooled == []  # the body went to the vault, never to request.content
        answer = await web.request(
            "POST", "/api/v1/media", {"Content-Type": "application/json"}, b"{}"
        )
        assert answer.status == 400  # the media resolver's answer to an empty query
        assert spooled == [2]
        web.service.media = None  # type: ignore[assignment]
        answer = await web.request(
            "POST", "/api/v1/media", {"Content-Type": "application/json"}, b"{}"
        )
        assert (answer.status, answer.json()["error"]["code"]) == (501, "not_implemented")


class Resolver:
    """A stand-in for the media helper: the seam the upload endpoint calls for JSON bodies."""

    def __init__(self) -> None:
        self.asked: list[object] = []

    async def resolve(self, body: object, address: str | None = None) -> dict[str, object]:
        from hubsd.web.http import HttpError

        self.asked.append(body)
        if body == {"media": {"url": "http://10.0.0.1/"}}:
            raise HttpError(403, "forbidden_address", "not that address")
        return {"origin": "http://example.org/cat.png", "meta": {}}


@pytest_twisted.ensureDeferred
async def test_json_bodies_go_to_the_media_helper(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        resolver = web.service.media = Resolver()  # type: ignore[attr-defined]
        json_type = {"Content-Type": "application/json"}
        body = b'{"media": {"url": "http://example.org/cat.png", "quality": "high"}}'
        answer = await web.request("POST", "/api/v1/media", json_type, body)
        assert (answer.status, answer.json()["origin"]) == (200, "http://example.org/cat.png")
        assert resolver.asked == [
            {"media": {"url": "http://example.org/cat.png", "quality": "high"}}
        ]
        refused = await web.request(
            "POST", "/api/v1/media", json_type, b'{"media": {"url": "http://10.0.0.1/"}}'
        )
        assert (refused.status, refused.json()["error"]["code"]) == (403, "forbidden_address")
        bad = await web.request("POST", "/api/v1/media", json_type, b"{not json")
        assert (bad.status, bad.json()["error"]["code"]) == (400, "bad_json")
        assert len(resolver.asked) == 2


@pytest_twisted.ensureDeferred
async def test_a_chunked_upload_without_a_length_streams_too(tmp_path: Path) -> None:
    from tests.files.httpd import form

    data = png(300_000)
    body, kind = form(data, {"promotion_mode": "with_token"})
    chunks = b"".join(
        b"%x\r\n" % len(body[i : i + 50_000]) + body[i : i + 50_000] + b"\r\n"
        for i in range(0, len(body), 50_000)
    )
    async with running(tmp_path) as web:
        raw = await web.raw(
            f"POST /api/v1/media HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
            + chunks
            + b"0\r\n\r\n"
        )
        head, _, reply = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), raw[:300]
        import json

        meta = json.loads(reply)
        url = f"/files/{meta['file_id']}.png?token={meta['meta']['access_token']}"
        assert (await web.request("GET", url)).body == data


@pytest_twisted.ensureDeferred
async def test_uploads_from_the_public_origin_get_cors(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        origin = {"Origin": web.base}
        preflight = await web.request("OPTIONS", "/api/v1/media", origin)
        assert preflight.status == 204
        assert preflight.header("access-control-allow-origin") == web.base
        assert "POST" in (preflight.header("access-control-allow-methods") or "")
        answer = await web.upload(png(2000), headers=origin)
        assert answer.status == 200
        assert answer.header("access-control-allow-origin") == web.base
        stranger = await web.upload(png(2000), headers={"Origin": "https://elsewhere.example"})
        assert stranger.header("access-control-allow-origin") is None
