"""
A stored file changed on disk is never served as plaintext: a changed first
chunk or a cut file is a clean 500 JSON error before any byte is sent, a
changed header is a 404 (it no longer opens with the token), and a changed
later chunk cuts the connection mid-body instead of sending wrong bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted
from twisted.web.client import ResponseFailed

from hubsd.files.sealing import CHUNK_OVERHEAD, CHUNK_SIZE, HEADER_SIZE
from tests.files.httpd import Web, png, running


async def stored(web: Web, size: int) -> tuple[str, Path]:
    reply = (await web.upload(png(size))).json()
    url = f"/files/{reply['file_id']}.png?token={reply['meta']['access_token']}"
    (blob,) = [Path(p) for p in web.blob_paths() if reply["file_id"] in p]
    return url, blob


def flip(blob: Path, offset: int) -> None:
    data = bytearray(blob.read_bytes())
    data[offset] ^= 0x01
    blob.write_bytes(bytes(data))


@pytest_twisted.ensureDeferred
async def test_changed_or_cut_blobs_fail_cleanly(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        url, blob = await stored(web, 1000)
        flip(blob, HEADER_SIZE + 20)
        answer = await web.request("GET", url)
        assert answer.status == 500
        assert answer.json()["error"]["code"] == "file_damaged"
        assert answer.header("etag") is None
        assert answer.header("cache-control") == "no-store"
        ranged = await web.request("GET", url, headers={"Range": "bytes=0-9"})
        assert (ranged.status, ranged.header("content-range")) == (500, None)

        url, blob = await stored(web, 1000)
        flip(blob, 20)  # the header's salt
        assert (await web.request("GET", url)).status == 404

        url, blob = await stored(web, 1000)
        blob.write_bytes(blob.read_bytes()[:-10])
        answer = await web.request("GET", url)
        assert (answer.status, answer.json()["error"]["code"]) == (500, "file_damaged")

        url, blob = await stored(web, 1000)
        blob.write_bytes(b"NOTHUBSD" + blob.read_bytes()[8:])
        assert (await web.request("GET", url)).status == 500


@pytest_twisted.ensureDeferred
async def test_a_changed_later_chunk_cuts_the_transfer(tmp_path: Path) -> None:
    async with running(tmp_path) as web:
        url, blob = await stored(web, 40 * CHUNK_SIZE)
        later = HEADER_SIZE + 30 * (CHUNK_SIZE + CHUNK_OVERHEAD) + 100
        flip(blob, later)
        with pytest.raises(ResponseFailed):
            await web.request("GET", url)
        # Ranges before the damage are still served, and right.
        early = await web.request("GET", url, headers={"Range": "bytes=0-99"})
        assert early.status == 206
        late = await web.request("GET", url, headers={"Range": f"bytes={30 * CHUNK_SIZE}-"})
        assert late.status == 500
