"""
The vault without HTTP: the same work for an unknown id as for a wrong
token, promotion through the room core's pin, and upload backpressure.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

import hubsd.files.vault as vault_module
from hubsd.files.memory import MemoryFileStore
from hubsd.files.vault import FileSettings, FileVault, NotAvailable
from hubsd.interfaces import IBlobWriter
from hubsd.rooms.directory import Identity, RoomDirectory
from hubsd.rooms.errors import InvalidPayload
from hubsd.rooms.keys import KeyRing
from hubsd.rooms.settings import RoomSettings
from hubsd.rooms.tokens import Tokens
from hubsd.storage.memory import MemoryRoomStore
from hubsd.web.upload import HIGH_WATER, MultipartReceiver
from tests.files.httpd import form, png

GLTF = {"name": "photo"}


async def new_vault(blobs: Any = None) -> FileVault:
    store = MemoryRoomStore()
    await store.start()
    return FileVault(
        blobs or MemoryFileStore(), store, os.urandom(64), FileSettings(), reactor, "http://h"
    )


async def uploaded(vault: FileVault, data: bytes) -> dict[str, Any]:
    upload = vault.begin()
    upload.feed(data)
    return await upload.finish(with_promotion_token=True)


@pytest_twisted.ensureDeferred
async def test_unknown_ids_cost_what_wrong_tokens_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    vault = await new_vault()
    data = png(1000)
    reply = await uploaded(vault, data)
    calls: list[str] = []
    real_opener, real_get, real_open = vault_module.Opener, vault.store.get_file, vault.blobs.open

    def opener(*args: Any) -> Any:
        calls.append("key")
        return real_opener(*args)

    monkeypatch.setattr(vault_module, "Opener", opener)
    monkeypatch.setattr(vault.store, "get_file", lambda i: (calls.append("meta"), real_get(i))[1])
    monkeypatch.setattr(vault.blobs, "open", lambda i: (calls.append("blob"), real_open(i))[1])

    for file_id, token in [
        ("00000000-0000-4000-8000-000000000000", reply["meta"]["access_token"]),
        (reply["file_id"], "0" * 32),
    ]:
        calls.clear()
        with pytest.raises(NotAvailable) as refused:
            await vault.open(file_id, token)
        assert calls == ["meta", "blob", "key"]
        assert (refused.value.status, refused.value.code) == (404, "not_found")
    calls.clear()
    opened = await vault.open(reply["file_id"], reply["meta"]["access_token"])
    assert calls == ["meta", "blob", "key"]
    assert await opened.read(0, 1000) == data
    opened.close()


async def seated(directory: RoomDirectory) -> tuple[Identity, str]:
    owner = Identity.anonymous()
    created = await directory.create(owner, {"name": "Gallery"})
    await directory.join(
        owner, object(), created["hub_sid"], creator_token=created["creator_token"]
    )
    return owner, created["hub_sid"]


@pytest_twisted.ensureDeferred
async def test_the_room_core_promotes_on_pin_and_only_with_the_token() -> None:
    vault = await new_vault()
    directory = RoomDirectory(
        vault.store, Tokens(KeyRing.generate()), RoomSettings(), reactor, b"secret"
    )
    owner, sid = await seated(directory)
    reply = await uploaded(vault, png(500))
    file_id, token = reply["file_id"], reply["meta"]["promotion_token"]

    with pytest.raises(InvalidPayload, match="stores no files"):
        await directory.pin(owner, sid, "p1", GLTF, file_id, token)
    directory.files = vault
    with pytest.raises(InvalidPayload, match="needs a file_id"):
        await directory.pin(owner, sid, "p1", GLTF, None, token)
    for wrong in ("x" * 32, 7, ""):
        with pytest.raises(InvalidPayload, match="promotion token does not match"):
            await directory.pin(owner, sid, "p1", GLTF, file_id, wrong)
    with pytest.raises(InvalidPayload, match="no such upload"):
        await directory.pin(owner, sid, "p1", GLTF, "not-a-file", token)
    assert directory.rooms[sid].pinned == {}
    assert not (await vault.store.get_file(file_id)).promoted

    await directory.pin(owner, sid, "p1", GLTF, file_id, token)
    assert (await vault.store.get_file(file_id)).promoted
    assert directory.rooms[sid].pinned["p1"].file_id == file_id
    # A link without a token pins without promoting anything.
    other = await uploaded(vault, png(500))
    await directory.pin(owner, sid, "p2", GLTF, other["file_id"])
    assert not (await vault.store.get_file(other["file_id"])).promoted


@implementer(IBlobWriter)
class SlowWriter:
    """A blob writer whose writes stay pending until released."""

    def __init__(self) -> None:
        self.pending = 0
        self.waiting: list[Deferred[None]] = []

    def write(self, data: bytes) -> Deferred[None]:
        self.pending += len(data)
        return succeed(None)

    def flushed(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self.waiting.append(d)
        return d

    def release(self) -> None:
        self.pending = 0
        waiting, self.waiting = self.waiting, []
        for d in waiting:
            d.callback(None)

    def commit(self) -> Deferred[None]:
        return succeed(None)

    def abort(self) -> Deferred[None]:
        return succeed(None)


class Transport:
    def __init__(self) -> None:
        self.paused = 0
        self.resumed = 0

    def pauseProducing(self) -> None:
        self.paused += 1

    def resumeProducing(self) -> None:
        self.resumed += 1


@pytest_twisted.ensureDeferred
async def test_a_lagging_store_pauses_reading_the_upload() -> None:
    writer = SlowWriter()
    blobs = MemoryFileStore()
    blobs.create = lambda file_id: writer  # type: ignore[method-assign]
    vault = await new_vault(blobs)
    transport = Transport()
    request: Any = type("R", (), {})()
    request.channel = type("C", (), {"transport": transport})()
    body, kind = form(png(3 * HIGH_WATER))
    receiver = MultipartReceiver(vault, request, kind.split("boundary=")[1].encode(), None)
    step = 64 * 1024
    receiver.feed(body[: HIGH_WATER // 2])
    assert transport.paused == 0
    for i in range(HIGH_WATER // 2, len(body), step):
        receiver.feed(body[i : i + step])
    assert (transport.paused, transport.resumed) == (1, 0)  # paused once, still paused
    writer.release()
    assert (transport.paused, transport.resumed) == (1, 1)
    reply = await receiver.result()
    assert reply["meta"]["expected_content_type"] == "image/png"
