"""
Reticulum's known weaknesses, each one a test that hubsd does not repeat it
(over WAMP, with a real daemon and real Autobahn clients).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from twisted.internet import reactor
from twisted.internet.task import deferLater

from hubsd.rooms.errors import InvalidToken
from hubsd.service import HubsdService
from tests.rooms.test_wamp_rooms import PERMISSIVE, avatar, members, room_with
from tests.rooms.wampclient import connect, free_port, start_daemon, until, write_config


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    port = free_port()
    rooms = "rate_messages = 20\nrate_burst = 1s\nrate_kick_after = 1s\n"
    service = await start_daemon(write_config(tmp_path / "state", port, rooms=rooms))
    service.test_port = port  # type: ignore[attr-defined]
    yield service
    await service.stopService()


@pytest_twisted.ensureDeferred
async def test_sender_id_is_always_set_by_the_server(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    await ann.publish(
        sid, "naf", dataType="nn", data={"creates": []}, from_session_id=owner.session_id
    )
    got = await owner.inbox["naf"].wait(1)
    assert got[0][1]["from_session_id"] == ann.session_id
    assert list(got[0][1]).count("from_session_id") == 1
    await ann.publish(sid, "chat", type="chat", body="hi", session_id=owner.session_id)
    chat = await owner.inbox["chat"].wait(1)
    assert chat[0][1]["session_id"] == ann.session_id


@pytest_twisted.ensureDeferred
async def test_text_chat_permission_is_enforced(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2, member_permissions={"voice_chat": True})
    with pytest.raises(ApplicationError) as e:
        await ann.publish(sid, "chat", type="chat", body="hello")
    assert e.value.error == "hubsd.error.not_permitted" and "text_chat" in e.value.args[0]
    for bad in ({"type": "permission", "body": "x"}, {"type": "chat", "body": ""}):
        with pytest.raises(ApplicationError) as e:
            await owner.publish(sid, "chat", **bad)
        assert e.value.error == "hubsd.error.invalid_payload"


@pytest_twisted.ensureDeferred
async def test_kicks_are_scoped_to_the_room_and_durable(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    other = await owner.call("create", name="Other room")
    await owner.call("kick", hub_sid=sid, session_id=ann.session_id)
    await ann.inbox["kicked"].wait(1)
    # Still connected, still welcome elsewhere.
    assert ann.client.is_attached()
    joined = await ann.call("join", hub_sid=other["hub_sid"])
    assert joined["session_id"] == ann.session_id
    # Not back in the room it was kicked from, on any connection of that identity.
    for member in (ann, await connect(daemon.test_port, ticket=ann.session_token)):  # type: ignore[attr-defined]
        with pytest.raises(ApplicationError) as e:
            await member.call("join", hub_sid=sid)
        assert e.value.error == "hubsd.error.join_denied"


@pytest_twisted.ensureDeferred
async def test_closing_or_restricting_a_room_evicts_those_no_longer_allowed(
    daemon: HubsdService,
) -> None:
    sid, owner, (ann, bob) = await room_with(daemon, 3)
    invite = (await owner.call("invite", hub_sid=sid))["invite"]
    (carl,) = await members(daemon, 1)
    await carl.join(sid, "Carl", invite=invite)
    await owner.call("update", hub_sid=sid, entry_mode="invite")
    await ann.inbox["kicked"].wait(1)
    await bob.inbox["kicked"].wait(1)
    await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["leaves"])
    assert carl.inbox["kicked"].events == []
    await owner.call("close", hub_sid=sid)
    await carl.inbox["closed"].wait(1)
    with pytest.raises(ApplicationError) as e:
        await carl.call("enter", hub_sid=sid, profile={"displayName": "Carl"})
    assert e.value.error == "hubsd.error.not_joined"


@pytest_twisted.ensureDeferred
async def test_perms_tokens_are_bound_to_the_room_and_audience(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    other = await owner.call("create", name="Other room")
    tokens = daemon.rooms.tokens
    claims = tokens.verify_perms(owner.joined["perms_token"], sid)
    assert claims["hub_id"] == sid and claims["kick_users"] is True
    assert tokens.verify_perms(ann.joined["perms_token"], sid)["kick_users"] is False
    with pytest.raises(InvalidToken) as e:
        tokens.verify_perms(owner.joined["perms_token"], other["hub_sid"])
    assert e.value.reason == "room"
    # A perms token is no session token: it cannot be a WAMP ticket.
    with pytest.raises(Exception, match="authentication_failed|invalid token"):
        await connect(daemon.test_port, ticket=owner.joined["perms_token"])  # type: ignore[attr-defined]
    refreshed = await ann.call("perms_token", hub_sid=sid)
    assert tokens.verify_perms(refreshed["perms_token"], sid)["session_id"] == ann.session_id


@pytest_twisted.ensureDeferred
async def test_every_handler_validates_its_payload(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2, member_permissions=PERMISSIVE)
    bad_calls: list[tuple[str, dict[str, Any]]] = [
        ("update", {"hub_sid": sid, "member_permissions": {"fly": "yes"}}),
        ("update", {"hub_sid": sid, "entry_mode": "sometimes"}),
        ("update", {"hub_sid": sid, "name": 5}),
        ("enter", {"hub_sid": sid, "profile": {"displayName": ["x"]}}),
        ("pin", {"hub_sid": sid, "object_id": "x", "gltf": [1, 2]}),
        ("kick", {"hub_sid": sid}),
        ("kick", {"hub_sid": sid, "session_id": ann.session_id, "reason": 5}),
        ("block", {"hub_sid": sid, "session_id": None}),
    ]
    for proc, kwargs in bad_calls:
        with pytest.raises(ApplicationError) as e:
            await owner.call(proc, **kwargs)
        assert e.value.error in ("hubsd.error.invalid_payload", "hubsd.error.no_such_member"), (
            proc,
            kwargs,
            e.value.error,
        )
    for data in ({"d": []}, {"d": [{"networkId": 1}]}, {"d": [5]}):
        with pytest.raises(ApplicationError) as e:
            await ann.publish(sid, "naf", dataType="um", data=data)
        assert e.value.error == "hubsd.error.invalid_payload"
    await ann.publish(sid, "naf", dataType="u", data=avatar("ok", ann.session_id))
    await owner.inbox["naf"].wait(1)


@pytest_twisted.ensureDeferred
async def test_a_flooding_member_is_dropped_then_removed(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    sent = 0
    # Five messages per turn of the reactor, a turn every 10 ms: up to 500 a
    # second, and still well over the limit (20/s) when a loaded machine
    # stretches the turns; at most 2,500 messages.
    while not ann.inbox["kicked"].events and sent < 2500:
        for _ in range(5):
            ann.client.publish(f"hubsd.room.{sid}.chat", type="chat", body="spam")
        sent += 5
        await deferLater(reactor, 0.01, lambda: None)
    kicked = await ann.inbox["kicked"].wait(1)
    assert kicked[0][1]["reason"] == "sending too fast"
    got = len(owner.inbox["chat"].events)
    assert 0 < got < sent  # some passed, the rest was dropped
    room = daemon.rooms.directory.rooms[sid]
    # Every message that did not pass was dropped by the rate limit, except
    # those still on the way when the kick was sent (the batches of the
    # last two turns at most), which meet a member who is no longer there.
    assert sent - got - 10 <= room.dropped_rate <= sent - got
