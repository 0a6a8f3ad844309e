"""The permission model: every rule of hubsd/rooms/permissions.py, by table."""

from __future__ import annotations

import pytest

from hubsd.rooms.errors import NotPermitted
from hubsd.rooms.permissions import (
    ALL_MEMBER_BITS,
    DEFAULT_MEMBER_PERMISSIONS,
    HUB_PERMISSIONS,
    MEMBER_BITS,
    Roles,
    bits_to_map,
    map_to_bits,
    may_spawn,
    may_use_topic,
    permissions_for,
    require,
    spawn_permission,
)

OWNER_ONLY = ("update_hub_promotion", "close_hub", "embed_hub")
PEOPLE = ("update_hub", "kick_users", "mute_users", "amplify_audio")


def test_member_bits_are_hubs_bits() -> None:
    assert MEMBER_BITS == {
        "spawn_and_move_media": 1,
        "spawn_camera": 2,
        "spawn_drawing": 4,
        "pin_objects": 8,
        "spawn_emoji": 16,
        "fly": 32,
        "voice_chat": 64,
        "text_chat": 128,
    }
    assert ALL_MEMBER_BITS == 255
    assert DEFAULT_MEMBER_PERMISSIONS == 192


def test_there_are_seventeen_hub_permissions_in_hubs_order() -> None:
    assert HUB_PERMISSIONS == (
        "join_hub",
        "update_hub",
        "update_hub_promotion",
        "update_roles",
        "close_hub",
        "embed_hub",
        "kick_users",
        "mute_users",
        "amplify_audio",
        "spawn_camera",
        "spawn_drawing",
        "spawn_and_move_media",
        "pin_objects",
        "spawn_emoji",
        "fly",
        "voice_chat",
        "text_chat",
    )


def test_bits_and_maps_round_trip() -> None:
    for bits in (0, 1, 64 | 128, 255, 8 | 2):
        assert map_to_bits(bits_to_map(bits)) == bits
    assert bits_to_map(192) == {name: name in ("voice_chat", "text_chat") for name in MEMBER_BITS}


def test_missing_names_are_off_when_a_map_is_given() -> None:
    assert map_to_bits({"fly": True}) == 32
    assert map_to_bits({}) == 0
    assert map_to_bits({"fly": False, "text_chat": True}) == 128


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"nope": True}, "unknown member permission 'nope'"),
        ({"fly": 1}, "member permission fly must be true or false"),
        ({"fly": "yes"}, "member permission fly must be true or false"),
        ({"fly": None}, "member permission fly must be true or false"),
    ],
)
def test_unknown_names_and_non_booleans_are_refused(bad: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as e:
        map_to_bits(bad)
    assert str(e.value) == message


def test_roles_as_a_map_name_each_role() -> None:
    assert Roles(owner=True, moderator=True).as_dict() == {
        "owner": True,
        "creator": False,
        "moderator": True,
        "signed_in": False,
    }
    assert Roles(creator=True, signed_in=True).as_dict() == {
        "owner": False,
        "creator": True,
        "moderator": False,
        "signed_in": True,
    }


def test_plain_member_has_exactly_the_room_bits() -> None:
    perms = permissions_for(Roles(), 64 | 128, "allow")
    assert list(perms) == list(HUB_PERMISSIONS)
    assert perms["join_hub"] is True
    for name in MEMBER_BITS:
        assert perms[name] is (name in ("voice_chat", "text_chat")), name
    for name in OWNER_ONLY + PEOPLE + ("update_roles",):
        assert perms[name] is False, name


@pytest.mark.parametrize("roles", [Roles(owner=True), Roles(creator=True)])
def test_owners_and_creators_may_do_everything(roles: Roles) -> None:
    perms = permissions_for(roles, 0, "allow")
    assert all(perms.values()), [k for k, v in perms.items() if not v]


def test_moderators_moderate_people_and_settings_but_not_roles_or_closing() -> None:
    perms = permissions_for(Roles(moderator=True), 0, "allow")
    for name in PEOPLE:
        assert perms[name] is True, name
    for name in MEMBER_BITS:
        assert perms[name] is True, name
    for name in OWNER_ONLY + ("update_roles",):
        assert perms[name] is False, name


def test_signed_in_alone_grants_nothing_more() -> None:
    assert permissions_for(Roles(signed_in=True), 192, "allow") == permissions_for(
        Roles(), 192, "allow"
    )


def test_nobody_but_owners_may_join_a_closed_room() -> None:
    assert permissions_for(Roles(), 255, "deny")["join_hub"] is False
    assert permissions_for(Roles(moderator=True), 255, "deny")["join_hub"] is False
    assert permissions_for(Roles(owner=True), 255, "deny")["join_hub"] is True
    assert permissions_for(Roles(), 255, "invite")["join_hub"] is True


def test_require_names_the_missing_permission() -> None:
    require({"fly": True}, "fly")
    for perms in ({}, {"fly": False}):
        with pytest.raises(NotPermitted) as e:
            require(perms, "fly")
        assert e.value.permission == "fly"
        assert "fly" in str(e.value)


@pytest.mark.parametrize(
    ("template", "needs"),
    [
        ("#remote-avatar", None),
        ("#interactable-media", "spawn_and_move_media"),
        ("#interactable-camera", "spawn_camera"),
        ("#interactable-drawing", "spawn_drawing"),
        ("#pen", False),
        ("#interactable-pen", "spawn_drawing"),
        ("#interactable-emoji", "spawn_emoji"),
        ("#anything-else", False),
        ("", False),
        ("#avatar-media-x", False),
        ("-avatar", None),
    ],
)
def test_spawn_permission_by_template_suffix(template: str, needs: object) -> None:
    assert spawn_permission(template) == needs


def test_may_spawn_applies_the_suffix_rule() -> None:
    plain = permissions_for(Roles(), 192, "allow")
    assert may_spawn(plain, "#remote-avatar") is True
    assert may_spawn(plain, "#interactable-media") is False
    assert may_spawn(plain, "#static") is False
    assert may_spawn(plain, None) is False
    assert may_spawn(plain, 7) is False
    media = permissions_for(Roles(), 1, "allow")
    assert may_spawn(media, "#interactable-media") is True
    assert may_spawn(media, "#interactable-camera") is False


@pytest.mark.parametrize(
    ("action", "kind", "entered", "allowed"),
    [
        ("subscribe", "naf", False, True),
        ("subscribe", "presence", False, True),
        ("subscribe", "kicked", True, True),
        ("subscribe", "secret", True, False),
        ("publish", "naf", True, True),
        ("publish", "chat", True, True),
        ("publish", "naf", False, False),
        ("publish", "chat", False, False),
        ("publish", "presence", True, False),
        ("publish", "kicked", True, False),
        ("publish", "other", True, False),
        ("call", "naf", True, False),
        ("register", "naf", True, False),
    ],
)
def test_room_topic_gate(action: str, kind: str, entered: bool, allowed: bool) -> None:
    assert may_use_topic(action, kind, entered) is allowed
