"""
Rooms over WAMP, end to end: a real daemon in this process (SQLite in a
temporary state directory) and members as real Autobahn clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from hubsd.service import HubsdService
from tests.rooms.wampclient import (
    Member,
    connect,
    free_port,
    start_daemon,
    until,
    write_config,
)
from tests.wamp.harness import timeout

PERMISSIVE = {
    "spawn_and_move_media": True,
    "spawn_camera": True,
    "spawn_drawing": True,
    "pin_objects": True,
    "spawn_emoji": True,
    "fly": True,
    "voice_chat": True,
    "text_chat": True,
}


def later(seconds: float) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    reactor.callLater(seconds, d.callback, None)  # type: ignore[attr-defined]
    return d


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    port = free_port()
    service = await start_daemon(
        write_config(tmp_path / "state", port, rooms="reconnect_grace = 2s")
    )
    service.test_port = port  # type: ignore[attr-defined]
    yield service
    await service.stopService()


async def members(service: HubsdService, n: int) -> list[Member]:
    return [await connect(service.test_port) for _ in range(n)]  # type: ignore[attr-defined]


async def room_with(
    service: HubsdService, n: int, **fields: Any
) -> tuple[str, Member, list[Member]]:
    """A room created by an owner who joined it, and n-1 other members in it."""
    owner, *others = await members(service, n)
    created = await owner.call("create", name="Test room", **fields)
    sid = created["hub_sid"]
    await owner.join(sid, "Owner", creator_token=created["creator_token"])
    for i, m in enumerate(others):
        await m.join(sid, f"Member {i}")
    return sid, owner, others


def avatar(network_id: str, owner: str, t: float = 1000.0, **components: Any) -> dict[str, Any]:
    return {
        "networkId": network_id,
        "owner": owner,
        "creator": owner,
        "lastOwnerTime": t,
        "template": "#remote-avatar",
        "persistent": False,
        "parent": None,
        "components": components or {"0": {"x": 0}},
        "isFirstSync": True,
    }


@pytest_twisted.ensureDeferred
async def test_members_see_each_other_in_presence(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    assert set(ann.snapshot["presence"]) == {owner.session_id, ann.session_id}
    events = await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["joins"])
    meta = events[0][1]["joins"][ann.session_id]["metas"][0]
    assert meta["profile"]["displayName"] == "Member 0"
    assert meta["roles"]["owner"] is False
    assert owner.joined["roles"]["owner"] is True
    await ann.call("update_presence", hub_sid=sid, presence="room", hand_raised=True)
    events = await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["leaves"])
    diff = events[0][1]
    new = diff["joins"][ann.session_id]["metas"][0]
    old = diff["leaves"][ann.session_id]["metas"][0]
    assert new["presence"] == "room" and new["hand_raised"] is True
    assert new["phx_ref_prev"] == old["phx_ref"] != new["phx_ref"]


@pytest_twisted.ensureDeferred
async def test_chat_goes_both_ways_with_the_server_set_sender(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    await ann.publish(
        sid, "chat", type="chat", body="hello", session_id="spoofed", **{"from": "Boss"}
    )
    got = await owner.inbox["chat"].wait(1)
    assert got[0][1] == {"type": "chat", "body": "hello", "session_id": ann.session_id}
    await ann.inbox["chat"].wait(1)  # the sender gets its own message too
    await owner.publish(sid, "chat", type="chat", body="hi Ann")
    got = await ann.inbox["chat"].wait(2)
    assert got[1][1]["session_id"] == owner.session_id


@pytest_twisted.ensureDeferred
async def test_text_chat_is_enforced_by_the_server(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    await owner.call("update", hub_sid=sid, member_permissions={**PERMISSIVE, "text_chat": False})
    await ann.inbox["refresh"].wait(1)
    with pytest.raises(ApplicationError) as e:
        await ann.publish(sid, "chat", type="chat", body="hello")
    assert e.value.error == "hubsd.error.not_permitted"
    assert "text_chat" in e.value.args[0]


@pytest_twisted.ensureDeferred
async def test_a_session_that_never_joined_cannot_use_room_topics(daemon: HubsdService) -> None:
    sid, owner, _ = await room_with(daemon, 1)
    (stranger,) = await members(daemon, 1)
    for kind in ("naf", "chat", "presence"):
        with pytest.raises(ApplicationError) as e:
            await timeout(
                stranger.client.subscribe(lambda *a, **k: None, f"hubsd.room.{sid}.{kind}")
            )
        assert e.value.error == "wamp.error.not_authorized"
    with pytest.raises(ApplicationError) as e:
        await stranger.publish(sid, "naf", dataType="u", data=avatar("x", "me"))
    assert e.value.error == "wamp.error.not_authorized"
    with pytest.raises(ApplicationError) as e:
        await stranger.call("kick", hub_sid=sid, session_id=owner.session_id)
    assert e.value.error == "hubsd.error.not_joined"


@pytest_twisted.ensureDeferred
async def test_members_may_not_publish_on_server_topics(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    with pytest.raises(ApplicationError) as e:
        await ann.publish(sid, "presence", joins={}, leaves={})
    assert e.value.error == "wamp.error.not_authorized"


@pytest_twisted.ensureDeferred
async def test_kicked_member_is_removed_and_cannot_rejoin(daemon: HubsdService) -> None:
    sid, owner, (ann, bob) = await room_with(daemon, 3)
    await owner.call("kick", hub_sid=sid, session_id=ann.session_id, reason="spam")
    kicked = await ann.inbox["kicked"].wait(1)
    assert kicked[0][1]["reason"] == "spam"
    await until(bob.inbox["presence"], lambda kw: ann.session_id in kw["leaves"])
    # The kicked member's subscriptions ended: bob's chat does not reach it.
    await bob.publish(sid, "chat", type="chat", body="after the kick")
    await owner.inbox["chat"].wait(1)
    assert ann.inbox["chat"].events == []
    # Rejoining with the same identity (its session token) is refused.
    again = await connect(daemon.test_port, ticket=ann.session_token)  # type: ignore[attr-defined]
    with pytest.raises(ApplicationError) as e:
        await again.call("join", hub_sid=sid)
    assert e.value.error == "hubsd.error.join_denied"


@pytest_twisted.ensureDeferred
async def test_only_moderators_may_kick(daemon: HubsdService) -> None:
    sid, owner, (ann, bob) = await room_with(daemon, 3)
    with pytest.raises(ApplicationError) as e:
        await ann.call("kick", hub_sid=sid, session_id=bob.session_id)
    assert e.value.error == "hubsd.error.not_permitted"
    assert "kick_users" in e.value.args[0]
    await owner.call("promote", hub_sid=sid, session_id=ann.session_id)
    await ann.inbox["roles"].wait(1)
    await ann.call("kick", hub_sid=sid, session_id=bob.session_id)
    await bob.inbox["kicked"].wait(1)
    with pytest.raises(ApplicationError) as e:
        await ann.call("kick", hub_sid=sid, session_id=owner.session_id)
    assert e.value.error == "hubsd.error.not_permitted"


@pytest_twisted.ensureDeferred
async def test_blocked_members_stop_receiving_each_other(daemon: HubsdService) -> None:
    sid, owner, (ann, bob) = await room_with(daemon, 3)
    await ann.call("block", hub_sid=sid, session_id=bob.session_id)
    await bob.inbox["blocked"].wait(1)
    await bob.publish(sid, "chat", type="chat", body="from bob")
    await ann.publish(sid, "chat", type="chat", body="from ann")
    got = await owner.inbox["chat"].wait(2)
    assert {e[1]["body"] for e in got} == {"from bob", "from ann"}
    await bob.inbox["chat"].wait(1)
    await ann.inbox["chat"].wait(1)
    await later(0.1)
    assert [e[1]["body"] for e in ann.inbox["chat"].events] == ["from ann"]
    assert [e[1]["body"] for e in bob.inbox["chat"].events] == ["from bob"]
    await ann.call("unblock", hub_sid=sid, session_id=bob.session_id)
    await bob.publish(sid, "chat", type="chat", body="again")
    await ann.inbox["chat"].wait(2)


@pytest_twisted.ensureDeferred
async def test_spawns_are_allowed_or_denied_by_permission(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    await ann.publish(sid, "naf", dataType="u", data=avatar("ann-avatar", "someone-else"))
    got = await owner.inbox["naf"].wait(1)
    relayed = got[0][1]
    assert relayed["from_session_id"] == ann.session_id
    assert relayed["data"]["owner"] == relayed["data"]["creator"] == ann.session_id
    media = dict(avatar("ann-media", ann.session_id), template="#interactable-media")
    with pytest.raises(ApplicationError) as e:
        await ann.publish(sid, "naf", dataType="u", data=media)
    assert e.value.error in ("hubsd.error.not_permitted", "hubsd.error.dropped")
    await owner.publish(sid, "naf", dataType="u", data=dict(media, networkId="owner-media"))
    got = await ann.inbox["naf"].wait(1)
    assert got[0][1]["data"]["networkId"] == "owner-media"


@pytest_twisted.ensureDeferred
async def test_ownership_moves_to_the_later_taker_and_stale_updates_are_dropped(
    daemon: HubsdService,
) -> None:
    sid, owner, (ann, bob) = await room_with(daemon, 3, member_permissions=PERMISSIVE)
    media = dict(avatar("box", ann.session_id, 1000.0), template="#interactable-media")
    await ann.publish(sid, "naf", dataType="u", data=media)
    await bob.inbox["naf"].wait(1)
    take = {
        "networkId": "box",
        "owner": bob.session_id,
        "lastOwnerTime": 2000.0,
        "components": {"0": {"x": 5}},
        "isFirstSync": False,
    }
    await bob.publish(sid, "naf", dataType="u", data=take)
    got = await ann.inbox["naf"].wait(1)
    assert got[0][1]["data"]["owner"] == bob.session_id
    stale = {
        "networkId": "box",
        "owner": ann.session_id,
        "lastOwnerTime": 1000.0,
        "components": {"0": {"x": 9}},
        "isFirstSync": False,
    }
    with pytest.raises(ApplicationError) as e:
        await ann.publish(sid, "naf", dataType="u", data=stale)
    assert e.value.error == "hubsd.error.dropped"
    # A late joiner gets the entity once, with the new owner and the latest state.
    (carl,) = await members(daemon, 1)
    await carl.join(sid, "Carl")
    boxes = [e for e in carl.snapshot["entities"] if e["networkId"] == "box"]
    assert len(boxes) == 1
    assert boxes[0]["owner"] == bob.session_id
    assert boxes[0]["components"]["0"] == {"x": 5}


@pytest_twisted.ensureDeferred
async def test_room_size_is_enforced_by_the_server(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2, room_size=2)
    (carl,) = await members(daemon, 1)
    with pytest.raises(ApplicationError) as e:
        await carl.call("join", hub_sid=sid)
    assert e.value.error == "hubsd.error.room_full"
    assert "room full" in e.value.args[0]


@pytest_twisted.ensureDeferred
async def test_reconnect_within_the_grace_keeps_the_seat_without_a_trace(
    daemon: HubsdService,
) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    await ann.publish(sid, "naf", dataType="u", data=avatar("ann-avatar", ann.session_id))
    await owner.inbox["naf"].wait(1)
    await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["joins"])
    seen = len(owner.inbox["presence"].events)
    ann.client._transport.dropConnection()  # type: ignore[attr-defined]
    await later(0.3)
    back = await connect(daemon.test_port, ticket=ann.session_token)  # type: ignore[attr-defined]
    await back.join(sid, "Member 0")
    assert back.joined["resumed"] is True
    assert back.session_id == ann.session_id
    assert any(e["networkId"] == "ann-avatar" for e in back.snapshot["entities"])
    await later(0.2)
    assert len(owner.inbox["presence"].events) == seen  # no leave, no join


@pytest_twisted.ensureDeferred
async def test_after_the_grace_a_dropped_member_leaves(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["joins"])
    ann.client._transport.dropConnection()  # type: ignore[attr-defined]
    await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["leaves"], 6)


@pytest_twisted.ensureDeferred
async def test_closing_a_room_tells_and_removes_everyone(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    with pytest.raises(ApplicationError) as e:
        await ann.call("close", hub_sid=sid)
    assert e.value.error == "hubsd.error.not_permitted"
    await owner.call("close", hub_sid=sid)
    await ann.inbox["closed"].wait(1)
    (carl,) = await members(daemon, 1)
    with pytest.raises(ApplicationError) as e:
        await carl.call("join", hub_sid=sid)
    assert e.value.error == "hubsd.error.room_closed"


@pytest_twisted.ensureDeferred
async def test_bad_input_gets_specific_errors(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    cases = [
        (("join",), {"hub_sid": "nosuch1"}, "hubsd.error.no_such_room"),
        (("join",), {"hub_sid": 42}, "hubsd.error.no_such_room"),
        (("join",), {"hub_sid": sid, "bogus": 1}, "hubsd.error.invalid_payload"),
        (("kick",), {"hub_sid": sid, "session_id": "nobody"}, "hubsd.error.no_such_member"),
        (
            ("update_presence",),
            {"hub_sid": sid, "roles": {"owner": True}},
            "hubsd.error.invalid_payload",
        ),
        (("update_presence",), {"hub_sid": sid, "profile": "x"}, "hubsd.error.invalid_payload"),
        (("create",), {"name": ""}, "hubsd.error.invalid_payload"),
        (("create",), {"name": "x", "room_size": 10**6}, "hubsd.error.invalid_payload"),
        (("pin",), {"hub_sid": sid, "object_id": "", "gltf": {}}, "hubsd.error.not_permitted"),
    ]
    for (proc,), kwargs, uri in cases:
        with pytest.raises(ApplicationError) as e:
            await ann.call(proc, **kwargs)
        assert e.value.error == uri, (proc, kwargs, e.value.error)
    for data in (None, 5, {"networkId": 7}, {"d": "x"}):
        with pytest.raises(ApplicationError) as e:
            await ann.publish(sid, "naf", dataType="um" if data == {"d": "x"} else "u", data=data)
        assert e.value.error in ("hubsd.error.invalid_payload", "hubsd.error.dropped")
    with pytest.raises(ApplicationError) as e:
        await ann.publish(sid, "chat", type="chat", body="x" * 5000)
    assert e.value.error == "hubsd.error.invalid_payload"
    # The room still works for everybody.
    await ann.publish(sid, "chat", type="chat", body="still here")
    await owner.inbox["chat"].wait(1)


@pytest_twisted.ensureDeferred
async def test_an_account_token_signs_in_with_the_roles_the_account_holds(
    daemon: HubsdService,
) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    room = await daemon.store.get_room_by_sid(sid)
    account = await daemon.store.create_account("mod@example.org")
    await daemon.store.set_role(room.hub_id, account.account_id, "owner")
    token = daemon.rooms.tokens.issue_account(account.account_id)
    signed_in = await connect(daemon.test_port, ticket=token)  # type: ignore[attr-defined]
    joined = await signed_in.join(sid, "Moderator")
    assert joined["roles"] == {
        "owner": True,
        "creator": False,
        "moderator": False,
        "signed_in": True,
    }
    assert joined["permissions"]["kick_users"] is True
    # A promotion of a signed-in member is stored with its account.
    carl_account = await daemon.store.create_account("carl@example.org")
    carl = await connect(
        daemon.test_port,  # type: ignore[attr-defined]
        ticket=daemon.rooms.tokens.issue_account(carl_account.account_id),
    )
    await carl.join(sid, "Carl")
    await signed_in.call("promote", hub_sid=sid, session_id=carl.session_id)
    roles = await daemon.store.roles_for_room(room.hub_id)
    assert (carl_account.account_id, "moderator") in {(r.account_id, r.role) for r in roles}


@pytest_twisted.ensureDeferred
async def test_a_ticket_that_is_no_hubsd_token_is_refused(daemon: HubsdService) -> None:
    for ticket in ("garbage", "", "a.b.c"):
        with pytest.raises(Exception, match="authentication_failed|invalid token"):
            await connect(daemon.test_port, ticket=ticket)  # type: ignore[attr-defined]


@pytest_twisted.ensureDeferred
async def test_room_figures_count_live_rooms_and_drops(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    stale = {"networkId": "nobody-has-this", "lastOwnerTime": 5.0, "isFirstSync": False}
    with pytest.raises(ApplicationError):
        await ann.publish(sid, "naf", dataType="u", data=stale)
    figures = daemon.rooms.directory.stats()
    assert figures["rooms_live"] == 1 and figures["members"] == 2
    assert figures["dropped_unknown"] == 1
    await owner.call("kick", hub_sid=sid, session_id=ann.session_id)
    await owner.call("leave", hub_sid=sid)
    figures = daemon.rooms.directory.stats()
    assert figures["rooms_live"] == 0 and figures["members"] == 0
    assert figures["kicks"] == 1 and figures["dropped_unknown"] == 1  # kept after unloading


@pytest_twisted.ensureDeferred
async def test_a_member_closing_its_session_cleanly_leaves_presence_at_once(
    daemon: HubsdService,
) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["joins"])
    ann.leave()  # WAMP GOODBYE, then the connection closes
    # Well inside the 2 s grace of this daemon: the leave is not held.
    await until(owner.inbox["presence"], lambda kw: ann.session_id in kw["leaves"], 1.0)


@pytest_twisted.ensureDeferred
async def test_a_second_connection_of_a_member_takes_its_seat_over(daemon: HubsdService) -> None:
    sid, owner, (ann,) = await room_with(daemon, 2)
    second = await connect(daemon.test_port, ticket=ann.session_token)  # type: ignore[attr-defined]
    await second.join(sid, "Member 0")
    assert second.joined["resumed"] is True and second.session_id == ann.session_id
    await owner.publish(sid, "chat", type="chat", body="to the new tab")
    await second.inbox["chat"].wait(1)
    await later(0.1)
    assert ann.inbox["chat"].events == []  # the old connection no longer listens
    with pytest.raises(ApplicationError) as e:
        await ann.publish(sid, "chat", type="chat", body="from the old tab")
    assert e.value.error == "wamp.error.not_authorized"
    # The old connection closing does not take the seat away from the new one.
    ann.leave()
    await later(0.2)
    assert ann.session_id in daemon.rooms.directory.rooms[sid].members
