"""
Every IFileStore (filesystem, memory) through the same tests: blobs stream in
and are read back in parts, are invisible until committed, and leave nothing
when aborted.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import pytest_twisted
from zope.interface.verify import verifyObject

from hubsd.files.errors import BadFileId, FileMissing
from hubsd.files.filesystem import FilesystemFileStore
from hubsd.interfaces import IBlobReader, IBlobWriter, IFileStore

FILE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest_twisted.ensureDeferred
async def test_the_stores_provide_the_interfaces(blobs: Any) -> None:
    assert verifyObject(IFileStore, blobs)
    writer = blobs.create(FILE_ID)
    assert verifyObject(IBlobWriter, writer)
    await writer.abort()


@pytest_twisted.ensureDeferred
async def test_a_blob_streams_in_and_is_read_in_parts(blobs: Any) -> None:
    data = os.urandom(300_000)
    writer = blobs.create(FILE_ID)
    for i in range(0, len(data), 65536):
        writer.write(data[i : i + 65536])
    await writer.flushed()
    assert writer.pending == 0
    assert not await blobs.exists(FILE_ID)
    await writer.commit()
    assert await blobs.exists(FILE_ID)
    reader = await blobs.open(FILE_ID)
    assert verifyObject(IBlobReader, reader)
    assert reader.size == len(data)
    assert await reader.read(0, 10) == data[:10]
    assert await reader.read(123_456, 1000) == data[123_456:124_456]
    assert await reader.read(len(data) - 5, 100) == data[-5:]
    assert await reader.read(len(data), 100) == b""
    await reader.close()


@pytest_twisted.ensureDeferred
async def test_an_aborted_blob_leaves_nothing(blobs: Any, tmp_path: Any) -> None:
    writer = blobs.create(FILE_ID)
    writer.write(b"half a file")
    await writer.abort()
    assert not await blobs.exists(FILE_ID)
    error = None
    try:
        await blobs.open(FILE_ID)
    except FileMissing as e:
        error = e
    assert error is not None
    if isinstance(blobs, FilesystemFileStore):
        left = [f for _, _, files in os.walk(blobs.root) for f in files]
        assert left == []


@pytest_twisted.ensureDeferred
async def test_deleting_is_idempotent(blobs: Any) -> None:
    writer = blobs.create(FILE_ID)
    writer.write(b"x")
    await writer.commit()
    await blobs.delete(FILE_ID)
    await blobs.delete(FILE_ID)
    assert not await blobs.exists(FILE_ID)


@pytest.mark.parametrize(
    "bad", ["../etc/passwd", "0F8FAD5B-D9CB-469F-A165-70867728950E", "", "a/b", FILE_ID + "\0"]
)
def test_ids_that_could_escape_are_refused(blobs: Any, bad: str) -> None:
    with pytest.raises(BadFileId):
        blobs.create(bad)
    with pytest.raises(BadFileId):
        blobs.delete(bad)


@pytest_twisted.ensureDeferred
async def test_a_restart_removes_uploads_a_crash_left(tmp_path: Any) -> None:
    from twisted.internet import reactor

    store = FilesystemFileStore(str(tmp_path / "files"), reactor)
    await store.start()
    writer = store.create(FILE_ID)
    writer.write(b"never committed")
    await writer.flushed()
    incoming = tmp_path / "files" / ".incoming"
    assert len(os.listdir(incoming)) == 1
    again = FilesystemFileStore(str(tmp_path / "files"), reactor)
    await again.start()
    assert os.listdir(incoming) == []


@pytest_twisted.ensureDeferred
async def test_an_unusable_directory_is_named(tmp_path: Any) -> None:
    from twisted.internet import reactor

    from hubsd.files.errors import FileStoreUnavailable

    (tmp_path / "file").write_text("not a directory")
    store = FilesystemFileStore(str(tmp_path / "file"), reactor)
    with pytest.raises(FileStoreUnavailable, match=str(tmp_path / "file")):
        await store.start()


@pytest.mark.parametrize("how", ["no-flag", "would-block", "partial"])
@pytest_twisted.ensureDeferred
async def test_reads_the_page_cache_cannot_answer_go_to_a_thread(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    import threading

    from twisted.internet import reactor

    import hubsd.files.filesystem as filesystem

    store = FilesystemFileStore(str(tmp_path / "files"), reactor)
    await store.start()
    data = os.urandom(200_000)
    writer = store.create(FILE_ID)
    writer.write(data)
    await writer.commit()
    reader = await store.open(FILE_ID)
    threads: list[str] = []
    real_pread = os.pread

    def pread(fd: int, n: int, offset: int) -> bytes:
        threads.append(threading.current_thread().name)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(filesystem.os, "pread", pread)
    if how == "no-flag":
        monkeypatch.setattr(filesystem, "_NOWAIT", None)
    else:
        real_preadv = os.preadv

        def preadv(fd: int, buffers: list[Any], offset: int, flags: int) -> int:
            if how == "would-block":
                raise BlockingIOError()
            view = memoryview(buffers[0])[:1000]
            return real_preadv(fd, [view], offset, flags)

        monkeypatch.setattr(filesystem.os, "preadv", preadv)
    assert bytes(await reader.read(5, 150_000)) == data[5:150_005]
    assert threads and threads[0] != threading.main_thread().name
    await reader.close()
