"""
Bad uploads and bad paths over real HTTP: each a clear 4xx JSON error, and
nothing written or half written (no blob, no temporary file, no record).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest_twisted

from tests.files.httpd import Web, form, png, running, until

SMALL = "max_upload_size = 64KiB"


async def nothing_left(web: Web) -> None:
    await until(lambda: web.incoming() == [])
    assert web.blob_paths() == []
    far = datetime(2999, 1, 1, tzinfo=UTC)
    assert await web.service.store.list_expired_files(far) == []


def code(answer: object) -> tuple[int, str]:
    return answer.status, answer.json()["error"]["code"]  # type: ignore[attr-defined]


@pytest_twisted.ensureDeferred
async def test_oversized_uploads_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path, files=SMALL) as web:
        too_big = await web.upload(png(64 * 1024 + 1))
        assert code(too_big) == (413, "too_large")
        assert "65536" in too_big.json()["error"]["message"]
        huge = await web.upload(png(400_000))  # declared too large up front
        assert code(huge) == (413, "too_large")
        await nothing_left(web)
        assert (await web.upload(png(64 * 1024))).status == 200
        assert len(web.blob_paths()) == 1


@pytest_twisted.ensureDeferred
async def test_the_type_is_sniffed_not_taken_from_the_client(tmp_path: Path) -> None:
    async with running(tmp_path, files="allowed_types = image/png, image/jpeg") as web:
        page = b"<!doctype html><html><script>alert(1)</script></html>" * 100
        answer = await web.upload(page, content_type="image/png", filename="cat.png")
        assert code(answer) == (415, "unsupported_media_type")
        assert "image/png, image/jpeg" in answer.json()["error"]["message"]
        gif = b"GIF89a" + b"\0" * 5000  # a real type, but not allowed here
        assert code(await web.upload(gif, content_type="image/png")) == (
            415,
            "unsupported_media_type",
        )
        short = await web.upload(b"tiny text", content_type="image/png")
        assert code(short) == (415, "unsupported_media_type")
        await nothing_left(web)
        # A JPEG said to be a PNG is stored as what it is.
        jpeg = b"\xff\xd8\xff\xe0" + b"\1" * 3000
        reply = (await web.upload(jpeg, content_type="image/png", filename="x.png")).json()
        assert reply["meta"]["expected_content_type"] == "image/jpeg"
        assert reply["origin"].endswith(".jpg")


@pytest_twisted.ensureDeferred
async def test_malformed_forms_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        body, kind = form(png(100_000))
        truncated = body[: -len(b"--\r\n") - 40]
        answer = await web.request("POST", "/api/v1/media", {"Content-Type": kind}, truncated)
        assert code(answer) == (400, "bad_multipart")
        assert "truncated" in answer.json()["error"]["message"]

        no_media = form(None, {"promotion_mode": "with_token"})
        answer = await web.request(
            "POST", "/api/v1/media", {"Content-Type": no_media[1]}, no_media[0]
        )
        assert code(answer) == (400, "bad_multipart")

        one, kind = form(png(1000))
        boundary = kind.split("boundary=")[1]
        twice = one.replace(f"--{boundary}--".encode(), b"") + one
        answer = await web.request("POST", "/api/v1/media", {"Content-Type": kind}, twice)
        assert code(answer) == (400, "bad_multipart")

        garbage = b"this is not a multipart body at all" * 100
        answer = await web.request(
            "POST", "/api/v1/media", {"Content-Type": "multipart/form-data; boundary=zz"}, garbage
        )
        assert answer.status == 400

        many = form(png(100), {f"f{i}": "x" for i in range(20)})
        answer = await web.request("POST", "/api/v1/media", {"Content-Type": many[1]}, many[0])
        assert code(answer) == (400, "bad_multipart")

        answer = await web.request("POST", "/api/v1/media", {"Content-Type": "text/plain"}, b"x")
        assert code(answer) == (415, "unsupported_media_type")
        await nothing_left(web)


@pytest_twisted.ensureDeferred
async def test_a_client_that_goes_away_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
    from twisted.internet.protocol import Protocol

    async with running(tmp_path) as web:
        body, kind = form(png(3_000_000))
        client = Protocol()
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", web.port), client)
        assert client.transport is not None
        client.transport.write(
            f"POST /api/v1/media HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        client.transport.write(body[: len(body) // 2])
        await until(lambda: len(web.incoming()) == 1)  # the upload is under way
        client.transport.abortConnection()
        await nothing_left(web)


@pytest_twisted.ensureDeferred
async def test_paths_that_are_not_a_file_id_are_404(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        reply = (await web.upload(png(1000))).json()
        file_id, token = reply["file_id"], reply["meta"]["access_token"]
        assert (await web.request("GET", f"/files/{file_id}?token={token}")).status == 200
        bad = [
            "/files/..%2Fkeys%2Ffiles.key",
            "/files/%2e%2e/hubsd.ini",
            f"/files/{file_id}/../../keys/files.key",
            f"/files/{file_id.upper()}.png",
            f"/files/{file_id}.png/more",
            f"/files/{file_id}%00.png",
            f"/files/{file_id}.p/ng",
            "/files/",
            "/files",
        ]
        for path in bad:
            request = f"GET {path}?token={token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            raw = await web.raw(request.encode())
            status = raw.split(b"\r\n", 1)[0]
            assert status == b"HTTP/1.1 404 Not Found", (path, raw[:200])
            assert b'"code":"not_found"' in raw
        promote = await web.request(
            "POST",
            "/api/v1/media/..%2F..%2Fkeys/promote",
            {"Content-Type": "application/json"},
            b'{"promotion_token": "x"}',
        )
        assert code(promote) == (404, "not_found")


@pytest_twisted.ensureDeferred
async def test_a_store_that_is_down_is_a_503_and_leaves_nothing(tmp_path: Path) -> None:
    from twisted.internet.defer import fail

    from hubsd.storage.errors import StorageUnavailable

    async with running(tmp_path) as web:
        reply = (await web.upload(png(1000))).json()
        store = web.service.store
        real_add, real_get = store.add_file, store.get_file
        store.add_file = lambda *a, **k: fail(StorageUnavailable("database down"))
        store.get_file = lambda *a, **k: fail(StorageUnavailable("database down"))
        try:
            answer = await web.upload(png(50_000))
            assert code(answer) == (503, "unavailable")
            url = f"/files/{reply['file_id']}.png?token={reply['meta']['access_token']}"
            assert code(await web.request("GET", url)) == (503, "unavailable")
        finally:
            store.add_file, store.get_file = real_add, real_get
        await until(lambda: web.incoming() == [])
        assert len(web.blob_paths()) == 1
        assert (await web.request("GET", url)).status == 200


@pytest_twisted.ensureDeferred
async def test_other_methods_get_a_json_405(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        file_id = "00000000-0000-4000-8000-000000000000"
        for method, path, allow in [
            ("GET", "/api/v1/media", "POST"),
            ("PUT", f"/api/v1/media/{file_id}/promote", "POST"),
            ("POST", f"/files/{file_id}.png?token=x", "GET, HEAD"),
            ("DELETE", f"/files/{file_id}.png?token=x", "GET, HEAD"),
        ]:
            answer = await web.request(method, path)
            assert code(answer) == (405, "method_not_allowed"), (method, path)
            assert allow in (answer.header("allow") or ""), answer.header("allow")
