"""The rules of a live room, without any transport: one test per rule."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from twisted.internet.task import Clock

from hubsd.rooms.errors import (
    InvalidPayload,
    JoinDenied,
    NoSuchMember,
    NotJoined,
    NotPermitted,
    RoomClosed,
    RoomFull,
)
from hubsd.rooms.permissions import ALL_MEMBER_BITS, DEFAULT_MEMBER_PERMISSIONS
from hubsd.rooms.room import LiveRoom, Notice
from hubsd.rooms.settings import RoomSettings

PROFILE = {"displayName": "Ann", "avatarId": "a"}


@dataclass(frozen=True)
class Record:
    hub_id: int = 1
    hub_sid: str = "abcdefg"
    name: str = "Room"
    slug: str = "room"
    description: str = ""
    scene_id: str | None = None
    scene_url: str | None = None
    entry_mode: str = "allow"
    member_permissions: int = DEFAULT_MEMBER_PERMISSIONS
    room_size: int = 24
    public: bool = False
    creator_token_hash: str | None = None


@dataclass(frozen=True)
class Pin:
    object_id: str
    gltf: dict[str, Any] = field(default_factory=dict)
    file_id: str | None = None


def make_room(clock: Clock | None = None, **record: Any) -> LiveRoom:
    clock = clock or Clock()
    return LiveRoom(Record(**record), RoomSettings(kick_duration=60), clock.seconds)


def seat(room: LiveRoom, sid: str, conn: int, owner: bool = False, enter: bool = True) -> None:
    room.join(sid, None, ["owner"] if owner else [], conn)
    if enter:
        room.enter(sid, dict(PROFILE, displayName=sid), {}, "room")


def kinds(notices: list[Notice]) -> list[str]:
    return [n.kind for n in notices]


def test_room_size_counts_every_seat_and_is_enforced() -> None:
    room = make_room(room_size=2)
    seat(room, "a", 1)
    seat(room, "b", 2, enter=False)  # joined, not entered: still a seat
    with pytest.raises(RoomFull, match="room full"):
        room.join("c", None, [], 3)


def test_owners_may_enter_a_full_room() -> None:
    room = make_room(room_size=1)
    seat(room, "a", 1)
    seat(room, "boss", 2, owner=True)
    assert set(room.members) == {"a", "boss"}


def test_held_seats_count_toward_room_size() -> None:
    room = make_room(room_size=1)
    seat(room, "a", 1)
    held, _ = room.connection_lost("a", 1)
    assert held
    with pytest.raises(RoomFull):
        room.join("b", None, [], 2)


def test_closed_room_refuses_everyone() -> None:
    room = make_room(entry_mode="deny")
    with pytest.raises(RoomClosed):
        room.join("a", None, [], 1)


def test_invite_room_needs_the_invite_except_for_owners() -> None:
    room = make_room(entry_mode="invite")
    with pytest.raises(JoinDenied, match="invitation"):
        room.join("a", None, [], 1)
    room.join("b", None, [], 2, invited=True)
    room.join("c", None, ["owner"], 3)


def test_kicked_member_cannot_rejoin_until_the_ban_ends() -> None:
    clock = Clock()
    room = make_room(clock)
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    notices = room.kick("boss", "a", "spam")
    assert kinds(notices)[:2] == ["kicked", "presence"]
    assert notices[0].connections == (2,)
    assert "left" in kinds(notices)
    with pytest.raises(JoinDenied):
        room.join("a", None, [], 3)
    clock.advance(61)
    room.join("a", None, [], 3)


def test_kick_needs_kick_users_and_never_reaches_an_owner() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    seat(room, "b", 3)
    with pytest.raises(NotPermitted) as e:
        room.kick("a", "b")
    assert e.value.permission == "kick_users"
    room.set_moderator("a", True)
    with pytest.raises(NotPermitted):
        room.kick("a", "boss")
    room.kick("a", "b")
    assert "b" not in room.members


def test_kick_of_an_unknown_member_is_no_such_member() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    with pytest.raises(NoSuchMember):
        room.kick("boss", "ghost")
    with pytest.raises(NoSuchMember):
        room.kick("boss", 42)


def test_operations_of_non_members_are_not_joined() -> None:
    room = make_room()
    with pytest.raises(NotJoined):
        room.kick("stranger", "x")
    with pytest.raises(NotJoined):
        room.update_presence("stranger", {"typing": True})


def test_block_is_mutual_for_delivery_and_told_to_the_target() -> None:
    room = make_room()
    seat(room, "a", 1)
    seat(room, "b", 2)
    seat(room, "c", 3)
    notices = room.block("a", "b")
    assert notices[0].kind == "blocked" and notices[0].connections == (2,)
    assert room.blocked_with("a") == ["b"]
    assert room.blocked_with("b") == ["a"]
    assert room.blocked_with("c") == []
    assert room.block_relations == 1
    room.block("a", "b", blocked=False)
    assert room.blocked_with("b") == [] and room.block_relations == 0


def test_a_member_cannot_block_itself() -> None:
    room = make_room()
    seat(room, "a", 1)
    with pytest.raises(InvalidPayload):
        room.block("a", "a")


def test_leaving_clears_block_relations() -> None:
    room = make_room()
    seat(room, "a", 1)
    seat(room, "b", 2)
    room.block("a", "b")
    room.leave("a")
    assert room.block_relations == 0 and room.blocked_with("b") == []


def test_mute_asks_the_target_and_marks_its_presence() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    notices = room.mute("boss", "a")
    assert notices[0].kind == "muted" and notices[0].to == ("a",)
    assert room.presence.get("a")["muted"] is True  # type: ignore[index]
    with pytest.raises(NotPermitted):
        room.mute("a", "boss")
    room.unmute("a")
    assert room.presence.get("a")["muted"] is False  # type: ignore[index]


def test_promotion_needs_update_roles_and_refreshes_presence() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    seat(room, "b", 3)
    with pytest.raises(NotPermitted):
        room.check_role_change("a", "b")
    room.check_role_change("boss", "a")
    notices = room.set_moderator("a", True)
    assert "roles" in kinds(notices) and "presence" in kinds(notices)
    assert room.members["a"].permissions["kick_users"] is True
    assert room.presence.get("a")["roles"]["moderator"] is True  # type: ignore[index]


def test_settings_change_refreshes_permissions_of_every_member() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    assert room.members["a"].permissions["pin_objects"] is False
    notices = room.settings_changed(
        replace(room.record, member_permissions=ALL_MEMBER_BITS), ["member_permissions"], "boss"
    )
    assert notices[0].kind == "refresh"
    assert room.members["a"].permissions["pin_objects"] is True


def test_changing_entry_mode_to_invite_evicts_who_came_without_one() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    room.join("b", None, [], 3, invited=True)
    notices = room.settings_changed(
        replace(room.record, entry_mode="invite"), ["entry_mode"], "boss"
    )
    assert set(room.members) == {"boss", "b"}
    assert any(n.kind == "kicked" and n.to == ("a",) for n in notices)


def test_closing_the_room_tells_everyone_and_empties_it() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    with pytest.raises(NotPermitted):
        room.check_close("a")
    notices = room.close()
    assert notices[0].kind == "closed"
    assert room.members == {}
    with pytest.raises(RoomClosed):
        room.join("a", None, [], 3)


def test_update_checks_fields_and_permission() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    with pytest.raises(NotPermitted):
        room.check_update("a", {"name": "x"})
    with pytest.raises(InvalidPayload, match="unknown"):
        room.check_update("boss", {"hub_id": 3})
    with pytest.raises(InvalidPayload, match="room_size"):
        room.check_update("boss", {"room_size": 0})
    with pytest.raises(InvalidPayload):
        room.check_update("boss", {})
    room.check_update("boss", {"name": "New"})


def test_listing_a_room_publicly_is_the_owners_not_a_moderators() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    room.join("mod", 7, ["moderator"], 2)
    room.check_update("mod", {"name": "by the moderator"})
    with pytest.raises(NotPermitted, match="update_hub_promotion"):
        room.check_update("mod", {"public": True})
    with pytest.raises(NotPermitted, match="update_hub_promotion"):
        room.check_update("mod", {"name": "x", "public": False})
    room.check_update("boss", {"public": True})


def test_reconnect_within_grace_resumes_without_presence_changes() -> None:
    clock = Clock()
    room = make_room(clock)
    seat(room, "a", 1)
    held, notices = room.connection_lost("a", 1)
    assert held and notices == []
    result = room.join("a", None, [], 2)
    assert result.resumed and room.members["a"].connection == 2
    clock.advance(100)
    assert room.expire_hold("a") == []  # came back: nothing expires
    assert "a" in room.presence


def test_after_the_grace_the_member_leaves() -> None:
    clock = Clock()
    room = make_room(clock)
    seat(room, "a", 1)
    room.connection_lost("a", 1)
    clock.advance(room.settings.reconnect_grace + 0.1)
    notices = room.expire_hold("a")
    assert kinds(notices) == ["presence"]
    assert "a" not in room.members


def test_an_old_connection_dropping_does_not_touch_a_resumed_seat() -> None:
    room = make_room()
    seat(room, "a", 1)
    room.join("a", None, [], 2)  # a second connection takes the seat over
    assert room.connection_lost("a", 1) == (False, [])
    assert room.members["a"].connection == 2


def test_without_grace_a_dropped_connection_leaves_at_once() -> None:
    clock = Clock()
    room = LiveRoom(Record(), RoomSettings(reconnect_grace=0), clock.seconds)
    seat(room, "a", 1)
    held, notices = room.connection_lost("a", 1)
    assert not held and "presence" in kinds(notices)


def test_pinning_needs_pin_objects_and_valid_ids() -> None:
    room = make_room()
    seat(room, "boss", 1, owner=True)
    seat(room, "a", 2)
    with pytest.raises(NotPermitted) as e:
        room.check_pin("a", "x", {})
    assert e.value.permission == "pin_objects"
    for bad_id in ("", 5, "x" * 129):
        with pytest.raises(InvalidPayload):
            room.check_pin("boss", bad_id, {})
    with pytest.raises(InvalidPayload):
        room.check_pin("boss", "x", "not an object")
    room.pinned_added(Pin("x", {"name": "x"}), "boss")
    assert room.snapshot()["pinned"][0]["object_id"] == "x"
    assert room.check_unpin("boss", "x") == "x"
    with pytest.raises(InvalidPayload):
        room.check_unpin("boss", "nope")


def test_pinned_objects_are_capped_per_room() -> None:
    room = LiveRoom(Record(), RoomSettings(max_pinned=1), Clock().seconds)
    seat(room, "boss", 1, owner=True)
    room.pinned_added(Pin("x"), "boss")
    room.check_pin("boss", "x", {})  # replacing one is fine
    with pytest.raises(InvalidPayload, match="pinned"):
        room.check_pin("boss", "y", {})


def test_presence_changes_need_entering_first() -> None:
    room = make_room()
    seat(room, "a", 1, enter=False)
    with pytest.raises(NotJoined):
        room.update_presence("a", {"typing": True})
    snapshot, notices = room.enter("a", PROFILE, {}, "lobby")
    assert "a" in snapshot["presence"] and kinds(notices) == ["presence"]
    # Entering again (after a resume) gives the snapshot and tells nobody.
    _, again = room.enter("a", PROFILE, {}, "lobby")
    assert again == []


def test_flooder_is_removed_and_banned() -> None:
    room = make_room()
    seat(room, "a", 1)
    room.flooders.add("a")
    notices = room.remove_flooder("a")
    assert notices[0].kind == "kicked" and notices[0].payload["reason"] == "sending too fast"
    with pytest.raises(JoinDenied):
        room.join("a", None, [], 2)


def test_a_clean_goodbye_leaves_at_once_despite_the_grace() -> None:
    room = make_room()
    seat(room, "a", 1)
    held, notices = room.connection_lost("a", 1, clean=True)
    assert not held and "presence" in kinds(notices) and "a" not in room.members
