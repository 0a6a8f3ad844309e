"""
Hub channel events and server pushes end to end (a daemon in this process,
Phoenix clients over real websockets), and the fan-out's promises: one
encoding per publication for every Phoenix member, no re-encoding of a
payload that arrived as JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from hubsd.phoenix.events import PhoenixEvents
from hubsd.phoenix.session import PhoenixSession
from hubsd.service import HubsdService
from hubsd.wamp.codec import JsonCodec
from tests.phoenix.pyclient import connect, create_room
from tests.rooms.test_wamp_rooms import PERMISSIVE
from tests.rooms.wampclient import connect as wamp_connect
from tests.rooms.wampclient import until


def port(service: HubsdService) -> int:
    return int(service.test_port)  # type: ignore[attr-defined]


def avatar(nid: str, owner: str, template: str = "#remote-avatar") -> dict[str, Any]:
    return {
        "dataType": "u",
        "data": {
            "networkId": nid,
            "owner": owner,
            "creator": owner,
            "lastOwnerTime": 1000,
            "template": template,
            "persistent": False,
            "parent": None,
            "components": {"0": {"x": 1}},
            "isFirstSync": True,
        },
    }


@pytest_twisted.ensureDeferred
async def test_moderation_settings_and_pins(daemon: HubsdService) -> None:
    created = await create_room(daemon, member_permissions=PERMISSIVE)
    sid, topic = created["hub_sid"], f"hub:{created['hub_sid']}"
    owner, ann = await connect(port(daemon)), await connect(port(daemon))
    o = await owner.join_hub(sid, "Owner", creator_assignment_token=created["creator_token"])
    a = await ann.join_hub(sid, "Ann")
    assert o["hubs"][0]["member_permissions"]["pin_objects"] is True

    # mute: only the target is told, in Hubs' shape, plus who muted it.
    owner.push(topic, "mute", {"session_id": a["session_id"]})
    muted = (await ann.wait(lambda f: f[3] == "mute"))[4]
    assert muted == {"session_id": a["session_id"], "by": o["session_id"]}
    assert owner.pushes("mute") == []
    # add_owner: the target hears permissions_updated and its meta changes.
    owner.push(topic, "add_owner", {"session_id": a["session_id"]})
    await ann.wait(lambda f: f[3] == "permissions_updated")
    # pin: ok {} and a pin push to everyone; unpin.
    gltf = {"name": "thing"}
    reply = await ann.request(topic, "pin", {"id": "obj-1", "gltf_node": gltf})
    assert reply == {"status": "ok", "response": {}}
    pin = (await owner.wait(lambda f: f[3] == "pin"))[4]
    assert pin == {"object_id": "obj-1", "gltf_node": gltf, "pinned_by": a["session_id"]}
    ann.push(topic, "unpin", {"id": "obj-1"})
    await owner.wait(lambda f: f[3] == "unpin")
    # update_hub: a hub_refresh with the stale fields, for everyone.
    owner.push(topic, "update_hub", {"name": "Renamed", "room_size": 10})
    refresh = (await ann.wait(lambda f: f[3] == "hub_refresh"))[4]
    assert refresh["hubs"][0]["name"] == "Renamed" and refresh["hubs"][0]["room_size"] == 10
    assert set(refresh["stale_fields"]) == {"name", "room_size"}
    assert refresh["session_id"] == o["session_id"]
    # a refused request answers why.
    bad = await owner.request(topic, "update_hub", {"room_size": "huge"})
    assert bad["status"] == "error" and bad["response"]["reason"] == "invalid_payload"
    # fetch_invite: owners get the invite code.
    invite = await owner.request(topic, "fetch_invite", {})
    assert invite["status"] == "ok" and invite["response"]["hub_invite_id"]
    # close_hub: everyone gets hub_refresh with entry_mode deny, then phx_close.
    owner.push(topic, "close_hub", {})
    deny = await ann.wait(
        lambda f: f[3] == "hub_refresh" and f[4]["stale_fields"] == ["entry_mode"]
    )
    assert deny[4]["hubs"][0]["entry_mode"] == "deny"
    close = await ann.wait(lambda f: f[3] == "phx_close")
    assert close[0] == ann.join_refs[topic]
    # The socket stays open (only a kick closes with 1000): the ret channel still works.
    assert ann.close is None
    again = await ann.request(topic, "phx_join", {"profile": {"displayName": "A"}, "context": {}})
    assert again["response"]["reason"] == "closed"


@pytest_twisted.ensureDeferred
async def test_a_kicked_member_is_told_by_whom_before_its_socket_closes(
    daemon: HubsdService,
) -> None:
    created = await create_room(daemon)
    sid, topic = created["hub_sid"], f"hub:{created['hub_sid']}"
    owner, bob = await connect(port(daemon)), await connect(port(daemon))
    o = await owner.join_hub(sid, "Owner", creator_assignment_token=created["creator_token"])
    b = await bob.join_hub(sid, "Bob")
    owner.push(topic, "kick", {"session_id": b["session_id"]})
    kicked = await bob.wait(lambda f: f[3] == "kicked")
    assert kicked[2] == topic and kicked[0] == bob.join_refs[topic]
    assert kicked[4] == {"session_id": b["session_id"], "by": o["session_id"], "reason": ""}
    # Then the close Hubs reads as "removed", after the push.
    for _ in range(250):
        if bob.close is not None:
            break
        await deferLater(reactor, 0.02, lambda: None)
    assert bob.close == (1000, "kicked")
    assert owner.pushes("kicked") == []


@pytest_twisted.ensureDeferred
async def test_one_encoding_per_publication_for_all_phoenix_members(
    daemon: HubsdService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sid = (await create_room(daemon))["hub_sid"]
    clients = [await connect(port(daemon)) for _ in range(4)]
    joined = [await c.join_hub(sid, f"P{i}") for i, c in enumerate(clients)]
    wamp = await wamp_connect(port(daemon))
    await wamp.join(sid, "Walt")
    calls: list[str] = []
    decodes: list[bytes] = []
    encode = PhoenixEvents.event
    decode = JsonCodec.decode_values

    def counting(self: Any, topic: str, *a: Any) -> bytes:
        calls.append(topic)
        return encode(self, topic, *a)

    def counting_decode(self: Any, raw: bytes, count: int) -> Any:
        decodes.append(raw)
        return decode(self, raw, count)

    monkeypatch.setattr(PhoenixEvents, "event", counting)
    monkeypatch.setattr(JsonCodec, "decode_values", counting_decode)
    # Phoenix -> everyone: decoded once (the frame), never by the relay
    # (a lazy decode of the payload would go through decode_values),
    # and the WAMP JSON member gets the client's own text.
    me = joined[0]["session_id"]
    clients[0].push(f"hub:{sid}", "naf", {"dataType": "r", "data": {"networkId": "none"}})
    clients[0].push(f"hub:{sid}", "naf", avatar("p0-avatar", me))
    for c in clients[1:]:
        await c.wait(lambda f: f[3] == "naf" and f[4]["data"].get("networkId") == "p0-avatar")
    got = await until(wamp.inbox["naf"], lambda kw: kw["from_session_id"] == me)
    assert got[0][1]["data"]["networkId"] == "p0-avatar"
    assert decodes == []
    assert calls.count(f"hubsd.room.{sid}.naf") == 1
    # WAMP JSON -> Phoenix: decoded once, with the PUBLISH message itself
    # (the room rules read those values), never again; encoded once for the
    # four Phoenix receivers.
    calls.clear()
    await wamp.publish(sid, "naf", dataType="u", data=avatar("w-avatar", wamp.session_id)["data"])
    for c in clients:
        await c.wait(lambda f: f[3] == "naf" and f[4]["data"].get("networkId") == "w-avatar")
    assert decodes == []
    assert calls.count(f"hubsd.room.{sid}.naf") == 1
    wamp.leave()


@pytest_twisted.ensureDeferred
async def test_closed_sockets_leave_nothing_behind(daemon: HubsdService) -> None:
    sid = (await create_room(daemon))["hub_sid"]
    clients = [await connect(port(daemon)) for _ in range(3)]
    for i, c in enumerate(clients):
        await c.join_hub(sid, f"P{i}")
    realm = daemon.router.realms["hubsd"]
    phoenix = [s for s in realm.sessions.values() if isinstance(s, PhoenixSession)]
    assert len(phoenix) == 3
    gateway = phoenix[0].gateway
    assert set(gateway.sessions.values()) == set(phoenix)
    for c in clients:
        assert c.proto is not None
        c.proto.transport.loseConnection()
    for _ in range(500):
        if not gateway.sessions and not any(s in realm.sessions.values() for s in phoenix):
            break
        await deferLater(reactor, 0.02, lambda: None)
    assert gateway.sessions == {}
    assert not any(s.session_id in realm.sessions for s in phoenix)
    assert all(not s.subscriptions for s in phoenix)
