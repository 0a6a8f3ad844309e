"""
The npm phoenix client (as the Hubs web client uses it) against a real hubsd:
a daemon in this process, Node scenarios in tests/interop/phx_*.js.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest_twisted

from hubsd.service import HubsdService
from tests.phoenix.nodeclient import run_scenario
from tests.rooms.wampclient import connect, free_port, start_daemon, write_config


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    port = free_port()
    service = await start_daemon(
        write_config(tmp_path / "state", port, rooms="reconnect_grace = 5s")
    )
    service.test_port = port  # type: ignore[attr-defined]
    yield service
    await service.stopService()


async def create_room(service: HubsdService, **fields: Any) -> dict[str, Any]:
    creator = await connect(service.test_port)  # type: ignore[attr-defined]
    try:
        created: dict[str, Any] = await creator.call("create", name="Phoenix room", **fields)
    finally:
        creator.leave()
    return created


def base(service: HubsdService) -> str:
    return f"ws://127.0.0.1:{service.test_port}"  # type: ignore[attr-defined]


@pytest_twisted.ensureDeferred
async def test_two_phoenix_clients_share_a_room(daemon: HubsdService) -> None:
    created = await create_room(daemon)
    sid = created["hub_sid"]
    out = await run_scenario(
        "phx_room.js", {"base": base(daemon), "sid": sid, "creatorToken": created["creator_token"]}
    )
    assert out["ret"]["status"] == "ok"
    assert out["ret"]["response"]["vapid_public_key"] is None
    join = out["joinA"]
    assert join["status"] == "ok"
    reply = join["response"]
    ann = reply["session_id"]
    assert out["ret"]["response"]["session_id"] == ann
    assert set(reply) >= {
        "hubs",
        "session_id",
        "session_token",
        "perms_token",
        "subscriptions",
        "hub_requires_oauth",
    }
    hub = reply["hubs"][0]
    assert hub["hub_id"] == sid and hub["name"] == "Phoenix room"
    assert "scene" in hub and hub["scene"] is None and "topics" not in hub
    claims = jwt.decode(reply["perms_token"], options={"verify_signature": False})
    assert claims["hub_id"] == sid and claims["kick_users"] is True and "exp" in claims
    # presence_state right after the join, with the joiner in it.
    assert list(out["stateA"]) == [ann]
    meta = out["stateA"][ann]["metas"][0]
    assert meta["presence"] == "lobby" and meta["profile"]["displayName"] == "Ann"
    assert meta["roles"]["creator"] is True and meta["phx_ref"]
    bob = out["joinB"]["response"]["session_id"]
    assert set(out["stateB"]) == {ann, bob}
    assert list(out["diffJoinB"]["joins"]) == [bob] and out["diffJoinB"]["leaves"] == {}
    # An update: the new meta joins with a fresh phx_ref naming the old one.
    entered = out["diffEnteredA"]
    new = entered["joins"][ann]["metas"][0]
    old = entered["leaves"][ann]["metas"][0]
    assert new["presence"] == "room" and new["phx_ref"] != old["phx_ref"]
    assert new["phx_ref_prev"] == old["phx_ref"]
    assert sorted(out["presenceListB"], key=lambda p: p["id"]) == sorted(
        [{"id": ann, "presence": "room"}, {"id": bob, "presence": "room"}], key=lambda p: p["id"]
    )
    # NAF both ways, the sender stamped by the server.
    assert out["nafAtB"]["from_session_id"] == ann
    assert out["nafAtB"]["data"]["owner"] == ann
    assert out["nafrAtA"]["from_session_id"] == bob and out["nafrAtA"]["dataType"] == "u"
    # Chat reaches everyone including the sender; no client-chosen "from".
    assert out["chatAtB"] == {"type": "chat", "body": "hello from ann", "session_id": ann}
    assert out["chatAtA"] == out["chatAtB"]
    assert out["chatFromB"] == {"type": "chat", "body": "hello from bob", "session_id": bob}
    # A spawn without permission is dropped, the member's next message is not.
    assert out["mediaAtA"] == 0
    assert out["kickDenied"]["status"] == "error"
    assert out["kickDenied"]["response"]["reason"] == "not_permitted"
    assert out["perms"]["status"] == "ok" and out["perms"]["response"]["perms_token"]
    assert out["unknown"]["status"] == "error"
    assert out["unknown"]["response"]["reason"] == "unknown_event"
    # Kicked: the socket closes with 1000 (Hubs' "you were removed"), the
    # others see the leave, and the client's automatic rejoin is refused.
    assert out["bobClose"]["code"] == 1000
    assert list(out["diffLeaveB"]["leaves"]) == [bob]
    assert out["rejoinB"]["status"] == "error"
    assert out["rejoinB"]["response"]["reason"] == "join_denied"
