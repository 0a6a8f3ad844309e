"""Presence: Hubs' per-member metas, Phoenix-shaped states and diffs, checked input."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubsd.rooms.errors import InvalidPayload, NoSuchMember
from hubsd.rooms.permissions import HUB_PERMISSIONS, Roles, permissions_for
from hubsd.rooms.presence import (
    DEFAULT_MAX_PROFILE_BYTES,
    Diff,
    Entry,
    Presence,
    check_context,
    check_flags,
    check_profile,
    is_empty,
    merge,
)

MEMBER = Roles()
OWNER = Roles(owner=True, creator=True, signed_in=True)


def perms(roles: Roles = MEMBER) -> dict[str, bool]:
    return permissions_for(roles, 192, "allow")


def fields(name: str = "Ada", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "profile": {"displayName": name, "avatarId": "av1"},
        "context": {"mobile": False, "embed": False, "hmd": True},
        "roles": MEMBER,
        "permissions": perms(),
    }
    out.update(extra)
    return out


def sync_diff(view: dict[str, Entry], diff: Diff) -> None:
    """What phx-js Presence.syncDiff does: add the joins, then remove leaves by phx_ref."""
    for sid, entry in diff["joins"].items():
        current = view.setdefault(sid, {"metas": []})
        current["metas"] = current["metas"] + entry["metas"]
    for sid, entry in diff["leaves"].items():
        if sid not in view:
            continue
        gone = {meta["phx_ref"] for meta in entry["metas"]}
        view[sid]["metas"] = [m for m in view[sid]["metas"] if m["phx_ref"] not in gone]
        if not view[sid]["metas"]:
            del view[sid]


# joining, updating, leaving


def test_join_announces_the_member_with_its_meta_only_in_joins() -> None:
    presence = Presence()
    diff = presence.join("s1", fields())
    assert diff["leaves"] == {}
    (meta,) = diff["joins"]["s1"]["metas"]
    assert meta == {
        "presence": "lobby",
        "profile": {"displayName": "Ada", "avatarId": "av1"},
        "context": {"mobile": False, "embed": False, "hmd": True},
        "roles": {"owner": False, "creator": False, "moderator": False, "signed_in": False},
        "permissions": perms(),
        "phx_ref": meta["phx_ref"],
    }
    assert list(meta["permissions"]) == list(HUB_PERMISSIONS)
    assert isinstance(meta["phx_ref"], str) and meta["phx_ref"]


def test_state_holds_every_member_and_the_joiner_itself() -> None:
    presence = Presence()
    presence.join("s1", fields("Ada"))
    presence.join("s2", fields("Bob"))
    state = presence.state()
    assert set(state) == {"s1", "s2"}
    assert state["s2"]["metas"] == [presence.get("s2")]
    assert len(presence) == 2 and "s1" in presence and "s3" not in presence
    assert presence.get("s3") is None


def test_update_is_one_diff_joining_the_new_meta_and_leaving_the_old() -> None:
    presence = Presence()
    presence.join("s1", fields())
    old = presence.get("s1")
    assert old is not None
    diff = presence.update("s1", hand_raised=True)
    assert diff["leaves"] == {"s1": {"metas": [old]}}
    (new,) = diff["joins"]["s1"]["metas"]
    assert new["hand_raised"] is True
    assert new["phx_ref"] != old["phx_ref"]
    assert new["phx_ref_prev"] == old["phx_ref"]
    assert presence.get("s1") is new


def test_member_flags_appear_only_once_set() -> None:
    presence = Presence()
    presence.join("s1", fields())
    meta = presence.get("s1")
    assert meta is not None
    for flag in ("streaming", "recording", "hand_raised", "typing", "muted"):
        assert flag not in meta
    presence.update("s1", streaming=True, recording=False, typing=True)
    meta = presence.get("s1")
    assert meta is not None
    assert (meta["streaming"], meta["recording"], meta["typing"]) == (True, False, True)
    assert "hand_raised" not in meta


def test_every_phx_ref_is_fresh_even_across_rooms() -> None:
    rooms = [Presence(), Presence()]
    refs = []
    for room in rooms:
        refs.append(room.join("s1", fields())["joins"]["s1"]["metas"][0]["phx_ref"])
        for i in range(50):
            diff = room.update("s1", typing=bool(i % 2))
            refs.append(diff["joins"]["s1"]["metas"][0]["phx_ref"])
        room.leave("s1")
        refs.append(room.join("s1", fields())["joins"]["s1"]["metas"][0]["phx_ref"])
    assert len(refs) == len(set(refs)) == 104


def test_an_update_that_changes_nothing_is_an_empty_diff() -> None:
    presence = Presence()
    presence.join("s1", fields())
    presence.update("s1", typing=True)
    before = presence.get("s1")
    diff = presence.update("s1", typing=True)
    assert is_empty(diff)
    assert is_empty(presence.update("s1"))
    assert presence.get("s1") is before


def test_entering_sets_and_clears_context_entering() -> None:
    presence = Presence()
    presence.join("s1", fields())
    presence.update("s1", entering=True)
    meta = presence.get("s1")
    assert meta is not None and meta["context"]["entering"] is True
    presence.update("s1", entering=False)
    meta = presence.get("s1")
    assert meta is not None and "entering" not in meta["context"]
    assert meta["context"] == {"mobile": False, "embed": False, "hmd": True}


def test_entering_the_room_clears_entering_as_events_entered_does() -> None:
    presence = Presence()
    presence.join("s1", fields())
    presence.update("s1", entering=True)
    presence.update("s1", presence="room")
    meta = presence.get("s1")
    assert meta is not None
    assert meta["presence"] == "room"
    assert "entering" not in meta["context"]


def test_profile_update_replaces_the_profile() -> None:
    presence = Presence()
    presence.join("s1", fields("Ada"))
    presence.update("s1", profile={"displayName": "  Grace  ", "pronouns": "she/her"})
    meta = presence.get("s1")
    assert meta is not None
    assert meta["profile"] == {"displayName": "Grace", "pronouns": "she/her"}


def test_a_refused_update_changes_nothing() -> None:
    presence = Presence()
    presence.join("s1", fields())
    before = copy.deepcopy(presence.get("s1"))
    with pytest.raises(InvalidPayload, match="displayName"):
        presence.update("s1", typing=True, profile={"displayName": ""})
    assert presence.get("s1") == before


def test_metas_handed_out_never_change_afterwards() -> None:
    presence = Presence()
    joined = presence.join("s1", fields())["joins"]["s1"]["metas"][0]
    snapshot = copy.deepcopy(joined)
    presence.update("s1", entering=True)
    presence.update("s1", profile={"displayName": "Other"}, hand_raised=True)
    presence.set_roles("s1", OWNER, perms(OWNER))
    presence.set_muted("s1", True)
    assert joined == snapshot


def test_client_cannot_smuggle_session_id_into_update() -> None:
    presence = Presence()
    presence.join("s1", fields())
    presence.join("s2", fields("Bob"))
    with pytest.raises(InvalidPayload, match="session_id"):
        presence.update("s1", session_id="s2")


def test_leave_is_a_diff_with_only_the_last_meta_left() -> None:
    presence = Presence()
    presence.join("s1", fields())
    presence.update("s1", typing=True)
    last = presence.get("s1")
    diff = presence.leave("s1")
    assert diff == {"joins": {}, "leaves": {"s1": {"metas": [last]}}}
    assert "s1" not in presence and presence.state() == {}


def test_leaving_twice_gives_an_empty_diff_the_second_time() -> None:
    presence = Presence()
    presence.join("s1", fields())
    presence.leave("s1")
    assert is_empty(presence.leave("s1"))
    assert is_empty(presence.leave("never-joined"))


def test_updating_an_absent_member_is_no_such_member() -> None:
    presence = Presence()
    with pytest.raises(NoSuchMember):
        presence.update("ghost", typing=True)
    with pytest.raises(NoSuchMember):
        presence.set_roles("ghost", MEMBER, perms())
    with pytest.raises(NoSuchMember):
        presence.set_muted("ghost", True)


def test_joining_twice_is_a_caller_bug() -> None:
    presence = Presence()
    presence.join("s1", fields())
    with pytest.raises(ValueError, match="already present"):
        presence.join("s1", fields())


@pytest.mark.parametrize(
    ("meta_fields", "message"),
    [
        ({"roles": MEMBER}, "roles and permissions"),
        ({"permissions": perms()}, "roles and permissions"),
        ({"roles": MEMBER, "permissions": perms(), "phx_ref": "x"}, "unknown meta fields"),
        ({"roles": MEMBER, "permissions": perms(), "muted": True}, "unknown meta fields"),
        ({"roles": MEMBER, "permissions": {"join_hub": True}}, "missing"),
        ({"roles": {"owner": True, "admin": True}, "permissions": perms()}, "admin"),
    ],
)
def test_join_needs_exactly_the_servers_fields(meta_fields: dict[str, Any], message: str) -> None:
    presence = Presence()
    with pytest.raises(ValueError, match=message):
        presence.join("s1", {"profile": {"displayName": "Ada"}, **meta_fields})
    assert len(presence) == 0


def test_roles_may_be_given_as_a_mapping() -> None:
    presence = Presence()
    presence.join("s1", fields(roles={"moderator": True}))
    meta = presence.get("s1")
    assert meta is not None
    assert meta["roles"] == Roles(moderator=True).as_dict()


def test_join_with_a_malformed_profile_adds_nobody() -> None:
    presence = Presence()
    with pytest.raises(InvalidPayload, match="displayName"):
        presence.join("s1", fields(""))
    with pytest.raises(InvalidPayload, match="profile is missing"):
        presence.join("s1", {"roles": MEMBER, "permissions": perms()})
    with pytest.raises(InvalidPayload, match="context.mobile"):
        presence.join("s1", fields(context={"mobile": "yes"}))
    assert len(presence) == 0 and presence.counts() == (0, 0)


def test_join_may_start_in_the_room_but_not_elsewhere() -> None:
    presence = Presence()
    presence.join("s1", fields(presence="room"))
    assert presence.counts() == (1, 0)
    with pytest.raises(InvalidPayload, match="presence"):
        presence.join("s2", fields(presence="stage"))


# roles and permissions: the server's only


def test_set_roles_publishes_the_servers_roles_and_permissions() -> None:
    presence = Presence()
    presence.join("s1", fields())
    old = presence.get("s1")
    assert old is not None
    diff = presence.set_roles("s1", OWNER, perms(OWNER))
    (new,) = diff["joins"]["s1"]["metas"]
    assert diff["leaves"]["s1"]["metas"] == [old]
    assert new["roles"] == OWNER.as_dict()
    assert new["permissions"]["kick_users"] is True
    assert new["phx_ref_prev"] == old["phx_ref"]


def test_set_roles_with_nothing_changed_is_an_empty_diff() -> None:
    presence = Presence()
    presence.join("s1", fields())
    assert is_empty(presence.set_roles("s1", MEMBER, perms()))


@pytest.mark.parametrize(
    "permissions",
    [
        {name: True for name in HUB_PERMISSIONS[:-1]},
        {**{name: True for name in HUB_PERMISSIONS}, "root": True},
    ],
)
def test_set_roles_needs_all_17_permissions_and_no_others(permissions: dict[str, bool]) -> None:
    presence = Presence()
    presence.join("s1", fields())
    with pytest.raises(ValueError):
        presence.set_roles("s1", MEMBER, permissions)


def test_set_muted_is_a_server_flag() -> None:
    presence = Presence()
    presence.join("s1", fields())
    diff = presence.set_muted("s1", True)
    assert diff["joins"]["s1"]["metas"][0]["muted"] is True
    assert is_empty(presence.set_muted("s1", True))


# counts


def test_counts_are_room_and_lobby_as_hubs_counts_them() -> None:
    presence = Presence()
    for sid in ("a", "b", "c"):
        presence.join(sid, fields())
    assert presence.counts() == (0, 3)
    presence.update("a", presence="room")
    presence.update("b", entering=True)  # entering is still the lobby
    assert presence.counts() == (1, 2)
    presence.update("a", presence="room", typing=True)
    assert presence.counts() == (1, 2)
    presence.update("a", presence="lobby")
    presence.update("c", presence="room")
    presence.leave("c")
    assert presence.counts() == (0, 2)
    presence.leave("a")
    presence.leave("b")
    assert presence.counts() == (0, 0)


# what a client sees: phx-js applying the diffs


def test_a_phoenix_client_applying_the_diffs_sees_the_state() -> None:
    presence = Presence()
    view: dict[str, Entry] = {}
    sync_diff(view, presence.join("a", fields("Ada")))
    sync_diff(view, presence.join("b", fields("Bob")))
    sync_diff(view, presence.update("a", presence="room"))
    sync_diff(view, presence.update("b", hand_raised=True))
    sync_diff(view, merge(presence.set_roles("a", OWNER, perms(OWNER)), presence.leave("b")))
    assert view == presence.state()


def test_merged_diffs_of_one_member_leave_only_its_last_meta() -> None:
    presence = Presence()
    view: dict[str, Entry] = {}
    sync_diff(view, presence.join("a", fields()))
    diff = merge(presence.update("a", typing=True), presence.update("a", typing=False))
    sync_diff(view, diff)
    assert view == presence.state()


operations = st.lists(
    st.tuples(
        st.sampled_from(["join", "update", "roles", "leave", "mute"]),
        st.sampled_from(["a", "b", "c"]),
        st.dictionaries(
            st.sampled_from(["presence", "streaming", "typing", "hand_raised", "entering"]),
            st.booleans(),
        ),
    ),
    max_size=40,
)


@settings(max_examples=200)
@given(operations)
def test_any_sequence_of_changes_keeps_a_phoenix_client_in_step(
    ops: list[tuple[str, str, dict[str, bool]]],
) -> None:
    presence = Presence()
    view: dict[str, Entry] = {}
    refs: set[str] = set()
    for op, sid, flags in ops:
        changes: dict[str, Any] = dict(flags)
        if "presence" in changes:
            changes["presence"] = "room" if changes["presence"] else "lobby"
        if op == "join":
            diff = presence.join(sid, fields(sid)) if sid not in presence else presence.leave(sid)
        elif sid not in presence:
            continue
        elif op == "update":
            diff = presence.update(sid, **changes)
        elif op == "roles":
            roles = OWNER if flags.get("typing") else MEMBER
            diff = presence.set_roles(sid, roles, perms(roles))
        elif op == "mute":
            diff = presence.set_muted(sid, bool(flags.get("streaming")))
        else:
            diff = presence.leave(sid)
        for entry in diff["joins"].values():
            for meta in entry["metas"]:
                assert meta["phx_ref"] not in refs
                refs.add(meta["phx_ref"])
        sync_diff(view, diff)
        assert view == presence.state()
        in_room = sum(e["metas"][0]["presence"] == "room" for e in view.values())
        assert presence.counts() == (in_room, len(view) - in_room)


# check_profile


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (None, "profile must be an object"),
        ("Ada", "profile must be an object"),
        ([{"displayName": "Ada"}], "profile must be an object"),
        ({}, "profile.displayName is missing"),
        ({"avatarId": "a"}, "profile.displayName is missing"),
        ({"displayName": ""}, "profile.displayName must not be empty"),
        ({"displayName": "   "}, "profile.displayName must not be empty"),
        ({"displayName": 42}, "profile.displayName must be a string"),
        ({"displayName": None}, "profile.displayName must be a string"),
        ({"displayName": ["Ada"]}, "profile.displayName must be a string"),
        ({"displayName": "x" * 65}, "profile.displayName is longer than 64"),
        ({"displayName": "Ada\nadmin"}, "profile.displayName must not contain control"),
        ({"displayName": "Ada\x00"}, "profile.displayName must not contain control"),
        ({"displayName": "Ada", "avatarId": 7}, "profile.avatarId must be a string"),
        ({"displayName": "Ada", "avatarId": "a" * 257}, "profile.avatarId is longer than 256"),
        ({"displayName": "Ada", "bio": {"a": 1}}, "profile.bio must be a string, number"),
        ({"displayName": "Ada", "tags": ["x"]}, "profile.tags must be a string, number"),
        ({"displayName": "Ada", 1: "x"}, "profile keys must be strings"),
        ({"displayName": "Ada", "x": float("nan")}, "profile.x must be a finite number"),
        ({"displayName": "Ada", "x": float("inf")}, "profile.x must be a finite number"),
        ({"displayName": "Ada", "x": "\ud800"}, "profile.x cannot be encoded"),
        ({"displayName": "Ada", "x": 10**5000}, "profile.x cannot be encoded"),
        ({"displayName": "Ada", "blob": "x" * 3000}, "profile is larger than 2048 bytes"),
        ({"displayName": "Ada", "x" * 3000: 1}, "profile is larger than 2048 bytes"),
        ({"displayName": "Ada", "blob": "x" * 2040}, "profile is larger than 2048 bytes"),
        (
            {"displayName": "Ada", **{f"k{i}": i for i in range(10_000)}},
            "profile is larger than 2048 bytes",
        ),
    ],
)
def test_malformed_profiles_are_refused_naming_the_field(profile: object, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message.replace("(", r"\(")) as caught:
        check_profile(profile)
    assert caught.value.uri == "hubsd.error.invalid_payload"


@pytest.mark.parametrize(
    ("profile", "checked"),
    [
        ({"displayName": "Ada"}, {"displayName": "Ada"}),
        ({"displayName": "  Ada  "}, {"displayName": "Ada"}),
        ({"displayName": "x" * 64}, {"displayName": "x" * 64}),
        ({"displayName": "Zoë 🦊"}, {"displayName": "Zoë 🦊"}),
        ({"displayName": "Ada", "avatarId": None}, {"displayName": "Ada", "avatarId": None}),
        (
            {"displayName": "Ada", "avatarId": "a" * 256, "pronouns": "she/her", "n": 1.5},
            {"displayName": "Ada", "avatarId": "a" * 256, "pronouns": "she/her", "n": 1.5},
        ),
        (
            {"displayName": "Ada", "bot": True, "x": None},
            {"displayName": "Ada", "bot": True, "x": None},
        ),
    ],
)
def test_wellformed_profiles_are_kept(profile: dict[str, Any], checked: dict[str, Any]) -> None:
    assert check_profile(profile) == checked


@given(st.integers(0, 200))
def test_profile_size_limit_is_the_size_of_its_json(pad: int) -> None:
    profile = {"displayName": "Ada", "about": "é" * pad}
    size = len(json.dumps(profile, ensure_ascii=False, separators=(",", ":")).encode())
    assert check_profile(profile, max_bytes=size) == profile
    with pytest.raises(InvalidPayload, match="larger than"):
        check_profile(profile, max_bytes=size - 1)


def test_max_profile_bytes_is_the_rooms_setting() -> None:
    presence = Presence(max_profile_bytes=100)
    big = {"displayName": "Ada", "about": "x" * 100}
    assert len(json.dumps(big)) < DEFAULT_MAX_PROFILE_BYTES
    with pytest.raises(InvalidPayload, match="larger than 100 bytes"):
        presence.join("s1", fields(profile=big))
    presence.join("s1", fields())
    with pytest.raises(InvalidPayload, match="larger than 100 bytes"):
        presence.update("s1", profile=big)


# check_context


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ([], "context must be an object"),
        ("mobile", "context must be an object"),
        ({"mobile": "yes"}, "context.mobile must be true or false"),
        ({"hmd": 1}, "context.hmd must be true or false"),
        ({"embed": None}, "context.embed must be true or false"),
    ],
)
def test_malformed_contexts_are_refused_naming_the_field(context: object, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        check_context(context)


@pytest.mark.parametrize(
    ("context", "checked"),
    [
        (None, {"mobile": False, "embed": False, "hmd": False}),
        ({}, {"mobile": False, "embed": False, "hmd": False}),
        ({"mobile": True}, {"mobile": True, "embed": False, "hmd": False}),
        (
            {"mobile": True, "embed": True, "hmd": True, "entering": True, "discord": True},
            {"mobile": True, "embed": True, "hmd": True},
        ),
    ],
)
def test_contexts_get_defaults_and_lose_unknown_keys(
    context: object, checked: dict[str, bool]
) -> None:
    assert check_context(context) == checked


# check_flags


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"roles": {"owner": True}}, "roles is set by the server"),
        ({"permissions": {"kick_users": True}}, "permissions is set by the server"),
        ({"phx_ref": "x"}, "phx_ref is set by the server"),
        ({"muted": False}, "muted is set by the server"),
        ({"context": {"hmd": True}}, "context is set by the server"),
        ({"presence": "stage"}, 'presence must be "lobby" or "room"'),
        ({"presence": None}, 'presence must be "lobby" or "room"'),
        ({"presence": ["room"]}, 'presence must be "lobby" or "room"'),
        ({"typing": "yes"}, "typing must be true or false"),
        ({"hand_raised": 1}, "hand_raised must be true or false"),
        ({"streaming": None}, "streaming must be true or false"),
        ({"recording": 0}, "recording must be true or false"),
        ({"entering": "true"}, "entering must be true or false"),
        ({"bogus": True}, "unknown presence field 'bogus'"),
        ({1: True}, "unknown presence field '1'"),
        ({"profile": []}, "profile must be an object"),
        ({"profile": {"displayName": ""}}, "profile.displayName"),
    ],
)
def test_member_changes_are_refused_naming_the_field(changes: dict[Any, Any], message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        check_flags(changes)


def test_a_huge_unknown_field_name_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidPayload) as caught:
        check_flags({"x" * 100_000: True})
    assert len(str(caught.value)) < 100


def test_check_flags_refuses_a_non_object() -> None:
    with pytest.raises(InvalidPayload, match="must be an object"):
        check_flags(["typing"])


def test_member_changes_that_are_allowed_pass_checked() -> None:
    changes = {
        "presence": "room",
        "streaming": True,
        "recording": False,
        "hand_raised": True,
        "typing": False,
        "entering": True,
        "profile": {"displayName": " Ada "},
    }
    assert check_flags(changes) == {**changes, "profile": {"displayName": "Ada"}}


# any input at all: checked, or refused with InvalidPayload, never another exception

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=80)
    | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.integers(), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(
    st.sampled_from(["displayName", "avatarId", "presence", "typing", "profile", "roles", "x"])
    | st.text(max_size=12),
    json_values,
    max_size=6,
)


@settings(max_examples=300)
@given(st.one_of(json_values, json_objects))
def test_checks_answer_any_input_with_a_value_or_invalid_payload(value: object) -> None:
    for check in (check_profile, check_context, check_flags):
        try:
            check(value)
        except InvalidPayload as e:
            assert str(e)
