"""
Both ISFU backends, verifyObject-checked and run through the same contract
(what every media plane must do with handles it does not know), then what
only a forwarding one does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from zope.interface.verify import verifyObject

from hubsd.interfaces import ISFU
from hubsd.sfu.aiortc_sfu import AiortcSFU
from hubsd.sfu.errors import SfuError
from hubsd.sfu.none import NoSFU
from hubsd.sfu.supervisor import WORKER_ENVIRONMENT
from tests.sfu import peers
from tests.sfu.conftest import own_daemon
from tests.sfu.harness import media_room, refused


@pytest_twisted.async_yield_fixture(params=["none", "aiortc"])
async def backend(request: Any) -> Any:
    if request.param == "none":
        sfu: Any = NoSFU()
    else:
        settings = {"addresses": ["127.0.0.1"], "ice_timeout": 5.0, "consent_interval": 5.0}
        sfu = AiortcSFU(reactor, settings, workers=2)
    await sfu.start()
    yield sfu
    await sfu.stop()


async def error_of(d: Any) -> str:
    try:
        await d
    except SfuError as e:
        return e.name
    raise AssertionError("not refused")


@pytest_twisted.ensureDeferred
async def test_provides_isfu(backend: Any) -> None:
    assert verifyObject(ISFU, backend)
    assert backend.name in ("none", "aiortc")
    assert backend.forwards_media is (backend.name == "aiortc")


@pytest_twisted.ensureDeferred
async def test_unknown_handles(backend: Any) -> None:
    assert await backend.close("nobody") is None
    for d in (
        backend.answer("nobody", "v=0"),
        backend.add_candidate("nobody", None),
        backend.set_muted("nobody", True),
        backend.set_blocked("nobody", True),
    ):
        assert await error_of(d) == "no_such_handle"
    stats = await backend.stats()
    assert stats["handles"] == 0 and stats["peer_connections"] == 0
    assert stats["workers"] == (2 if backend.forwards_media else 0)
    if backend.forwards_media:
        # uvloop is a dependency: each worker runs on it and says so.
        assert stats["event_loops"] == ["uvloop", "uvloop"]


@pytest_twisted.ensureDeferred
async def test_publish_and_subscribe(backend: Any, loop: Any) -> None:
    peer, offer = await loop.run(peers.publisher_offer())
    if not backend.forwards_media:
        assert await error_of(backend.publish("p", "room", offer)) == "media_unavailable"
        assert await error_of(backend.subscribe("s", "p")) == "media_unavailable"
    else:
        answer = await backend.publish("p", "room", offer)
        assert answer["kinds"] == ["audio"] and answer["sdp"].startswith("v=0")
        assert "opus/48000/2" in answer["sdp"]
        offer2 = await backend.subscribe("s", "p")
        # An audio-only publisher's subscription carries audio only.
        assert "opus/48000/2" in offer2["sdp"] and "a=sendonly" in offer2["sdp"]
        assert "m=video" not in offer2["sdp"] and "m=audio" in offer2["sdp"]
        assert await error_of(backend.subscribe("s2", "nobody")) == "no_such_publisher"
        # Rooms are placed on one worker each; a room's handles stay together.
        other = await backend.publish("q", "another room", offer)
        assert other["sdp"]
        workers = backend.supervisor.handles
        assert workers["p"] == workers["s"] != workers["q"]
        await backend.close("p")  # its subscriber goes with it
        await backend.close("q")
        assert await error_of(backend.answer("s", "v=0")) == "no_such_handle"
    await loop.run(peers.close(peer))


@pytest_twisted.ensureDeferred
async def test_the_none_backend_refuses_media_over_wamp(tmp_path: Path, loop: Any) -> None:
    async with own_daemon(tmp_path, backend="none") as daemon:
        sid, (a,) = await media_room(daemon, loop, 1)
        _, offer = await loop.run(peers.publisher_offer())
        e = await refused(a.sfu("publish", hub_sid=sid, sdp=offer))
        assert e.error == "hubsd.sfu.error.media_unavailable"
        assert e.args[0] == "this server forwards no voice or video"


@pytest_twisted.ensureDeferred
async def test_a_worker_inherits_no_secrets_from_the_daemons_environment(
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("HUBSD_TEST_SECRET", "hunter2")
    sfu = AiortcSFU(reactor, {"addresses": ["127.0.0.1"]}, workers=1)
    await sfu.start()
    try:
        pid = sfu.supervisor.workers[0].pid
        with open(f"/proc/{pid}/environ", "rb") as f:
            names = {item.split(b"=", 1)[0].decode() for item in f.read().split(b"\0") if item}
        assert "HUBSD_TEST_SECRET" not in names
        assert names <= set(WORKER_ENVIRONMENT)
    finally:
        await sfu.stop()
