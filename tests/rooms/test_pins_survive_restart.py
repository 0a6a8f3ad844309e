"""Pinned objects are stored: they are there for everyone after a daemon restart."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted

from tests.rooms.wampclient import connect, free_port, start_daemon, write_config

GLTF = {
    "name": "photo-1",
    "translation": [1, 2, 3],
    "extensions": {"HUBS_components": {"media": {"src": "https://example.org/cat.png"}}},
}


@pytest_twisted.ensureDeferred
async def test_pinned_object_survives_a_restart(tmp_path: Path, storage: str) -> None:
    port = free_port()
    ini = write_config(tmp_path / "state", port, storage=storage)
    service = await start_daemon(ini)
    try:
        owner = await connect(port)
        created = await owner.call("create", name="Gallery")
        sid = created["hub_sid"]
        await owner.join(sid, "Owner", creator_token=created["creator_token"])
        await owner.call("pin", hub_sid=sid, object_id="photo-1", gltf=GLTF, file_id="f-123")
        await owner.call("pin", hub_sid=sid, object_id="photo-2", gltf=GLTF)
        await owner.call("unpin", hub_sid=sid, object_id="photo-2")
        pins = await owner.inbox["pins"].wait(3)
        assert pins[0][1]["pinned"]["object_id"] == "photo-1"
        assert pins[2][1]["unpinned"]["object_id"] == "photo-2"
        owner.leave()
    finally:
        await service.stopService()

    service = await start_daemon(ini)
    try:
        visitor = await connect(port)
        await visitor.join(sid, "Visitor")
        pinned = visitor.snapshot["pinned"]
        assert [p["object_id"] for p in pinned] == ["photo-1"]
        assert pinned[0]["gltf"] == GLTF
        assert pinned[0]["file_id"] == "f-123"
        visitor.leave()
    finally:
        await service.stopService()


@pytest_twisted.ensureDeferred
async def test_pinning_needs_pin_objects(tmp_path: Path) -> None:
    port = free_port()
    service = await start_daemon(write_config(tmp_path / "state", port))
    try:
        owner, ann = await connect(port), await connect(port)
        created = await owner.call("create", name="Gallery")
        sid = created["hub_sid"]
        await owner.join(sid, "Owner", creator_token=created["creator_token"])
        await ann.join(sid, "Ann")
        from autobahn.wamp.exception import ApplicationError

        with pytest.raises(ApplicationError) as e:
            await ann.call("pin", hub_sid=sid, object_id="x", gltf=GLTF)
        assert e.value.error == "hubsd.error.not_permitted"
        assert "pin_objects" in e.value.args[0]
        assert service.rooms is not None
    finally:
        await service.stopService()
