"""hubsd.room.describe: a room's public description, from the store, over WAMP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import JsonSerializer
from autobahn.wamp.types import ComponentConfig
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint

from hubsd.config import load_config
from hubsd.rooms.directory import RoomDirectory
from hubsd.rooms.errors import NoSuchRoom
from hubsd.rooms.permissions import bits_to_map
from hubsd.rooms.settings import RoomSettings
from hubsd.service import HubsdService
from hubsd.storage.memory import MemoryRoomStore
from tests.conftest import free_port
from tests.wamp.harness import Client, timeout


def directory(store: MemoryRoomStore) -> RoomDirectory:
    return RoomDirectory(store, None, RoomSettings(), reactor, b"secret")


@pytest_twisted.ensureDeferred
async def test_directory_describes_a_room_without_internal_fields() -> None:
    store = MemoryRoomStore()
    await store.start()
    room = await store.create_room("Lobby", scene_id="scene1", room_size=30)
    described = await directory(store).describe(room.hub_sid)
    assert described == {
        "hub_sid": room.hub_sid,
        "name": "Lobby",
        "slug": room.slug,
        "description": "",
        "scene_id": "scene1",
        "scene_url": None,
        "entry_mode": "allow",
        "room_size": 30,
        "member_permissions": bits_to_map(room.member_permissions),
        "public": False,
        "member_count": 0,
        "lobby_count": 0,
    }


@pytest.mark.parametrize("sid", ["nope123", "", 42, None, "x" * 33, "../etc", ["a"]])
@pytest_twisted.ensureDeferred
async def test_unknown_or_malformed_sid_is_no_such_room(sid: Any) -> None:
    store = MemoryRoomStore()
    await store.start()
    with pytest.raises(NoSuchRoom):
        await directory(store).describe(sid)


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    """The whole service tree in this process, memory backends, a real port."""
    port = free_port()
    ini = tmp_path / "hubsd.ini"
    ini.write_text(
        f"[hubsd]\nstate_dir = {tmp_path}\n"
        f"[listen]\nweb = tcp:{port}:interface=127.0.0.1\n"
        "[storage]\nbackend = memory\n[files]\nbackend = memory\n"
    )
    service = HubsdService(load_config(str(ini)), reactor)
    service.startService()
    await timeout(service.ready, 10)
    yield service, port
    await service.stopService()


async def connect(port: int) -> Client:
    joined: Deferred[Any] = Deferred()

    def make() -> Client:
        client = Client(ComponentConfig("hubsd"))
        client.joined, client.left, client.realm_name = joined, Deferred(), "hubsd"
        return client

    factory = WampWebSocketClientFactory(
        make, url=f"ws://127.0.0.1:{port}/ws", serializers=[JsonSerializer()]
    )
    await TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
    return await timeout(joined)  # type: ignore[no-any-return]


@pytest_twisted.ensureDeferred
async def test_client_describes_a_stored_room_over_wamp(daemon: Any) -> None:
    service, port = daemon
    room = await service.store.create_room("Meeting room")
    client = await connect(port)
    try:
        described = await timeout(client.call("hubsd.room.describe", room.hub_sid))
        assert described["name"] == "Meeting room"
        assert described["hub_sid"] == room.hub_sid
        with pytest.raises(ApplicationError) as e:
            await timeout(client.call("hubsd.room.describe", "missing"))
        assert e.value.error == "hubsd.error.no_such_room"
        with pytest.raises(ApplicationError) as e:
            await timeout(client.call("hubsd.room.describe", room.hub_sid, "extra"))
        assert e.value.error == "hubsd.error.invalid_payload"
    finally:
        client.leave()


@pytest_twisted.ensureDeferred
async def test_anonymous_client_may_not_register_room_procedures(daemon: Any) -> None:
    _, port = daemon
    client = await connect(port)
    try:
        with pytest.raises(ApplicationError) as e:
            await timeout(client.register(lambda: None, "hubsd.room.describe"))
        assert e.value.error == "wamp.error.not_authorized"
    finally:
        client.leave()
