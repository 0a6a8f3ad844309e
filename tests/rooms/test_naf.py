"""The NAF relay rules: envelope checks, spawn permissions, stamping, drops, corrections."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hubsd.rooms import naf
from hubsd.rooms.entities import EntityTable
from hubsd.rooms.errors import InvalidPayload
from hubsd.rooms.permissions import Roles, permissions_for

MEMBER = permissions_for(Roles(), 192, "allow")  # voice and text chat only
OWNER = permissions_for(Roles(owner=True), 192, "allow")
MOVER = permissions_for(Roles(), 192 | 1, "allow")  # + spawn_and_move_media


def sync(network_id: str = "e1", owner: str = "alice", time: float = 10, **extra: Any) -> dict:
    out: dict[str, Any] = {
        "networkId": network_id,
        "owner": owner,
        "creator": owner,
        "lastOwnerTime": time,
        "template": "#remote-avatar",
        "persistent": False,
        "parent": None,
        "components": {"0": {"x": 1.5}, "1": None},
        "isFirstSync": False,
    }
    out.update(extra)
    return out


def spawn(network_id: str = "e1", owner: str = "alice", **extra: Any) -> dict:
    return {"dataType": "u", "data": sync(network_id, owner, isFirstSync=True, **extra)}


def um(*syncs: dict) -> dict:
    return {"dataType": "um", "data": {"d": list(syncs)}}


def room(*spawns: tuple[str, dict]) -> EntityTable:
    table = EntityTable()
    for sender, envelope in spawns:
        assert naf.inspect(envelope, sender, MEMBER, table).relay
    return table


# -- bad input: every malformed field is an InvalidPayload naming it ----------

NAN = float("nan")
BAD_ENVELOPES: list[tuple[Any, str]] = [
    (None, "envelope"),
    ([], "envelope"),
    ({"data": {}}, "dataType"),
    ({"dataType": 7, "data": {}}, "dataType"),
    ({"dataType": "", "data": {}}, "dataType"),
    ({"dataType": "x" * 257, "data": {}}, "dataType"),
    ({"dataType": "nn", "data": {}, "clientId": 5}, "clientId"),
    ({"dataType": "u"}, "data must be an object"),
    ({"dataType": "u", "data": []}, "data must be an object"),
    ({"dataType": "u", "data": {}}, "data.networkId"),
    ({"dataType": "u", "data": {"networkId": 5}}, "data.networkId"),
    ({"dataType": "u", "data": {"networkId": ""}}, "data.networkId"),
    ({"dataType": "u", "data": {"networkId": "n" * 129}}, "data.networkId"),
    ({"dataType": "u", "data": sync(owner=5)}, "data.owner"),
    ({"dataType": "u", "data": sync(owner="o" * 129)}, "data.owner"),
    ({"dataType": "u", "data": sync(creator=[])}, "data.creator"),
    ({"dataType": "u", "data": sync(time="10")}, "data.lastOwnerTime"),
    ({"dataType": "u", "data": sync(time=NAN)}, "data.lastOwnerTime"),
    ({"dataType": "u", "data": sync(time=float("inf"))}, "data.lastOwnerTime"),
    ({"dataType": "u", "data": sync(time=float("-inf"))}, "data.lastOwnerTime"),
    ({"dataType": "u", "data": sync(time=True)}, "data.lastOwnerTime"),
    ({"dataType": "u", "data": sync(time=None)}, "data.lastOwnerTime"),
    ({"dataType": "u", "data": sync(time=10**400)}, "data.lastOwnerTime"),
    ({"dataType": "u", "data": sync(components=[])}, "data.components"),
    ({"dataType": "u", "data": sync(components=None)}, "data.components"),
    ({"dataType": "u", "data": sync(components="abc")}, "data.components"),
    ({"dataType": "u", "data": sync(components={1: "x"})}, "data.components"),
    ({"dataType": "u", "data": sync(components=dict.fromkeys(map(str, range(1025))))}, "data.c"),
    ({"dataType": "u", "data": sync(template=5)}, "data.template"),
    ({"dataType": "u", "data": sync(template="t" * 257)}, "data.template"),
    ({"dataType": "u", "data": sync(isFirstSync="yes")}, "data.isFirstSync"),
    ({"dataType": "u", "data": sync(isFirstSync=1)}, "data.isFirstSync"),
    ({"dataType": "u", "data": sync(persistent="no")}, "data.persistent"),
    ({"dataType": "u", "data": sync(parent=5)}, "data.parent"),
    ({"dataType": "u", "data": sync(parent="")}, "data.parent"),
    ({"dataType": "um"}, "data must be an object"),
    ({"dataType": "um", "data": []}, "data must be an object"),
    ({"dataType": "um", "data": {}}, "data.d must be a list"),
    ({"dataType": "um", "data": {"d": {}}}, "data.d must be a list"),
    ({"dataType": "um", "data": {"d": "abc"}}, "data.d must be a list"),
    ({"dataType": "um", "data": {"d": []}}, "data.d must not be empty"),
    ({"dataType": "um", "data": {"d": [sync()] * 257}}, "data.d must have at most 256"),
    ({"dataType": "um", "data": {"d": [sync(), 5]}}, "data.d[1] must be an object"),
    (um(sync(), sync(), sync(time=NAN)), "data.d[2].lastOwnerTime"),
    (um(sync(), {"owner": "alice"}), "data.d[1].networkId"),
    ({"dataType": "r"}, "data must be an object"),
    ({"dataType": "r", "data": {}}, "data.networkId"),
    ({"dataType": "r", "data": {"networkId": 3}}, "data.networkId"),
]
for _field in ("owner", "lastOwnerTime", "components", "template"):
    _first = spawn()
    del _first["data"][_field]
    BAD_ENVELOPES.append((_first, f"data.{_field} is required in a first sync"))


@pytest.mark.parametrize("envelope, field", BAD_ENVELOPES)
def test_malformed_field_is_invalid_payload_naming_it(envelope: Any, field: str) -> None:
    table = room(("alice", spawn()))
    before = table.snapshot()
    with pytest.raises(InvalidPayload) as caught:
        naf.inspect(envelope, "alice", OWNER, table)
    assert field in str(caught.value)
    assert caught.value.uri == "hubsd.error.invalid_payload"
    assert table.snapshot() == before  # nothing applied


def test_malformed_um_element_applies_none_of_the_others() -> None:
    table = room(("alice", spawn()))
    with pytest.raises(InvalidPayload):
        naf.inspect(um(sync(components={"0": "moved"}), {"x": 1}), "alice", MEMBER, table)
    assert table.snapshot()[0]["components"]["0"] == {"x": 1.5}


def test_only_network_id_is_required_in_an_update() -> None:
    table = room(("alice", spawn()))
    verdict = naf.inspect({"dataType": "u", "data": {"networkId": "e1"}}, "alice", MEMBER, table)
    assert verdict.relay and verdict.changed
    assert verdict.data == {
        "networkId": "e1",
        "owner": "alice",
        "lastOwnerTime": 10,
        "components": {},
    }


# -- spawns (first syncs of non-persistent entities) --------------------------


@pytest.mark.parametrize(
    "template, permission",
    [
        ("#remote-avatar", None),
        ("#interactable-media", "spawn_and_move_media"),
        ("#interactable-camera", "spawn_camera"),
        ("#interactable-drawing", "spawn_drawing"),
        ("#interactable-pen", "spawn_drawing"),
        ("#interactable-emoji", "spawn_emoji"),
    ],
)
def test_spawn_is_permitted_by_template_suffix_and_permission(
    template: str, permission: str | None
) -> None:
    granted = dict(MEMBER)
    if permission is not None:
        assert naf.inspect(spawn(template=template), "alice", MEMBER, EntityTable()).relay is False
        granted[permission] = True
    verdict = naf.inspect(spawn(template=template), "alice", granted, EntityTable())
    assert verdict.relay


@pytest.mark.parametrize("template", ["#static-thing", "#interactable-media-frame-x", ""])
def test_spawn_of_any_other_template_is_denied_even_to_owners(template: str) -> None:
    table = EntityTable()
    verdict = naf.inspect(spawn(template=template), "alice", OWNER, table)
    assert (verdict.relay, verdict.reason, verdict.dropped) == (False, "denied", ("denied",))
    assert table.dropped_denied == 1 and len(table) == 0


def test_spawn_without_persistent_key_is_checked_as_non_persistent() -> None:
    envelope = spawn(template="#interactable-media")
    del envelope["data"]["persistent"]
    assert naf.inspect(envelope, "alice", MEMBER, EntityTable()).reason == "denied"


def test_persistent_first_sync_needs_no_spawn_permission() -> None:
    envelope = spawn(template="#scene-door", persistent=True)
    assert naf.inspect(envelope, "alice", MEMBER, EntityTable()).relay


def test_permitted_spawn_is_stamped_with_the_senders_id() -> None:
    envelope = spawn(owner="mallory")
    verdict = naf.inspect(envelope, "alice", MEMBER, EntityTable())
    assert verdict.relay and verdict.changed
    assert verdict.data["owner"] == verdict.data["creator"] == "alice"


# -- um -----------------------------------------------------------------------


def test_um_with_a_first_sync_is_dropped_whole_and_counted() -> None:
    table = room(("alice", spawn()))
    envelope = um(sync(components={"0": "moved"}), sync("e2", isFirstSync=True))
    verdict = naf.inspect(envelope, "alice", OWNER, table)
    assert (verdict.relay, verdict.reason) == (False, "first_sync_in_um")
    assert table.dropped_first_sync_in_um == 1
    assert table.snapshot()[0]["components"]["0"] == {"x": 1.5}
    assert len(table) == 1


def test_um_of_accepted_updates_is_relayed_untouched() -> None:
    table = room(("alice", spawn("e1")), ("alice", spawn("e2")))
    envelope = um(sync("e1"), sync("e2"))
    sent = copy.deepcopy(envelope["data"])
    verdict = naf.inspect(envelope, "alice", MEMBER, table)
    assert verdict.relay and not verdict.changed and verdict.dropped == ()
    assert verdict.data is envelope["data"] and verdict.data == sent


def test_um_drops_only_the_refused_elements() -> None:
    table = room(("alice", spawn("e1")), ("bob", spawn("e2", "bob")))
    envelope = um(sync("e1"), sync("e2", owner="alice"), sync("ghost"), sync("e1"))
    verdict = naf.inspect(envelope, "alice", MEMBER, table)
    assert verdict.relay and verdict.changed
    assert [s["networkId"] for s in verdict.data["d"]] == ["e1", "e1"]
    assert verdict.dropped == ("not_owner", "unknown")
    assert table.dropped_not_owner == 1 and table.dropped_unknown == 1


def test_um_with_every_element_refused_is_dropped() -> None:
    table = room(("bob", spawn("e2", "bob")))
    verdict = naf.inspect(um(sync("e2", owner="alice"), sync("x")), "alice", MEMBER, table)
    assert (verdict.relay, verdict.dropped) == (False, ("not_owner", "unknown"))


# -- u updates and ownership ---------------------------------------------------


def test_update_for_unknown_entity_is_dropped_and_counted() -> None:
    table = EntityTable()
    verdict = naf.inspect({"dataType": "u", "data": sync()}, "alice", MEMBER, table)
    assert (verdict.relay, verdict.reason) == (False, "unknown")
    assert table.dropped_unknown == 1


def test_non_owner_update_is_dropped_and_counted() -> None:
    table = room(("alice", spawn()))
    verdict = naf.inspect({"dataType": "u", "data": sync()}, "bob", MEMBER, table)
    assert (verdict.relay, verdict.reason, verdict.corrections) == (False, "not_owner", ())
    assert table.dropped_not_owner == 1


def test_refused_take_is_answered_with_the_state_that_beats_it() -> None:
    table = EntityTable()
    naf.inspect(spawn(time=10, template="#interactable-media"), "alice", OWNER, table)
    naf.inspect({"dataType": "u", "data": sync(owner="carol", time=20)}, "carol", MOVER, table)
    take = {"dataType": "u", "data": sync(owner="bob", time=15)}
    verdict = naf.inspect(take, "bob", MOVER, table)
    assert not verdict.relay
    (correction,) = verdict.corrections
    assert (correction["owner"], correction["lastOwnerTime"]) == ("carol", 20)
    assert correction["isFirstSync"] is False and correction["components"] == {
        "0": {"x": 1.5},
        "1": None,
    }
    # networked-aframe's receive rule accepts it over bob's own claim
    claim = (take["data"]["lastOwnerTime"], take["data"]["owner"])
    assert (correction["lastOwnerTime"], correction["owner"]) >= claim
    assert naf.correction_envelope(correction) == {
        "dataType": "u",
        "data": correction,
        "from_session_id": "carol",
    }


def test_refused_elements_of_a_um_are_corrected_too() -> None:
    table = room(("alice", spawn("e1", time=10)), ("bob", spawn("e2", "bob")))
    verdict = naf.inspect(
        um(sync("e1", owner="bob", time=5), sync("e2", "bob")), "bob", MEMBER, table
    )
    assert [s["networkId"] for s in verdict.data["d"]] == ["e2"]
    assert [c["networkId"] for c in verdict.corrections] == ["e1"]


def test_unknown_persistent_update_creates_the_entity_for_late_joiners() -> None:
    table = EntityTable()
    door = {"networkId": "door", "owner": "alice", "persistent": True, "components": {"0": 1}}
    verdict = naf.inspect({"dataType": "u", "data": door}, "alice", MEMBER, table)
    assert verdict.relay and [s["networkId"] for s in table.snapshot()] == ["door"]


def test_accepted_update_is_relayed_untouched() -> None:
    table = room(("alice", spawn()))
    envelope = {"dataType": "u", "data": sync(components={"0": {"x": 2}})}
    sent = copy.deepcopy(envelope["data"])
    verdict = naf.inspect(envelope, "alice", MEMBER, table)
    assert verdict.relay and not verdict.changed
    assert verdict.data is envelope["data"] and verdict.data == sent


# -- r --------------------------------------------------------------------------


def test_remove_from_owner_is_relayed() -> None:
    table = room(("alice", spawn()))
    verdict = naf.inspect({"dataType": "r", "data": {"networkId": "e1"}}, "alice", MEMBER, table)
    assert verdict.relay and not verdict.changed and len(table) == 0


def test_remove_from_another_member_is_dropped_unless_moderator() -> None:
    table = room(("alice", spawn()))
    remove = {"dataType": "r", "data": {"networkId": "e1"}}
    assert naf.inspect(remove, "bob", MEMBER, table).reason == "not_owner"
    assert naf.inspect(remove, "mod", OWNER, table, is_moderator=True).relay
    assert naf.inspect(remove, "mod", OWNER, table, is_moderator=True).reason == "unknown"


# -- opaque types and the relayed envelope ------------------------------------


@pytest.mark.parametrize(
    "envelope",
    [
        {"dataType": "nn", "data": {"creates": [], "updates": [], "deletes": ["x"]}},
        {"dataType": "drawing-e1", "data": {"type": "stroke", "buffer": [1, 2, 3]}},
        {"dataType": "custom", "data": "anything"},
    ],
)
def test_opaque_types_are_relayed_as_is(envelope: dict) -> None:
    verdict = naf.inspect(envelope, "alice", MEMBER, EntityTable())
    assert verdict.relay and not verdict.changed and verdict.data is envelope["data"]


def test_sender_id_is_always_server_set() -> None:
    envelope = {"dataType": "nn", "data": {}, "from_session_id": "the-owner", "clientId": "bob"}
    verdict = naf.inspect(envelope, "mallory", MEMBER, EntityTable())
    assert verdict.client_id == "bob"
    assert naf.outgoing(verdict, "mallory") == {
        "dataType": "nn",
        "data": {},
        "from_session_id": "mallory",
    }


# -- taking (moving) needs the spawn permission of the template ---------------


def test_taking_media_without_spawn_and_move_media_is_denied() -> None:
    table = EntityTable()
    naf.inspect(spawn(time=10, template="#hubsd-image-media"), "alice", OWNER, table)
    take = {"dataType": "u", "data": sync(owner="bob", time=20)}
    verdict = naf.inspect(take, "bob", MEMBER, table)
    assert (verdict.relay, verdict.reason, verdict.corrections) == (False, "denied", ())
    entity = table.get("e1")
    assert entity is not None and (entity.owner, entity.last_owner_time) == ("alice", 10)
    assert table.dropped_denied == 1
    # the same take with the permission goes through
    verdict = naf.inspect(take, "bob", MOVER, table)
    assert verdict.relay and entity.owner == "bob"


def test_updates_in_a_um_that_take_media_without_the_permission_are_removed() -> None:
    table = room(("bob", spawn("e2", "bob")))
    naf.inspect(spawn("e1", time=10, template="#hubsd-image-media"), "alice", OWNER, table)
    verdict = naf.inspect(
        um(sync("e1", owner="bob", time=30), sync("e2", "bob")), "bob", MEMBER, table
    )
    assert [s["networkId"] for s in verdict.data["d"]] == ["e2"]
    assert verdict.dropped == ("denied",)
    assert table.dropped_denied == 1


def test_taking_over_a_pinned_media_object_nobody_holds_needs_the_permission() -> None:
    # A pinned object each page restores from the snapshot's pins is unknown
    # to the table until someone takes it: that persistent sync creates it.
    held = sync("pin1", owner="bob", time=30, template="#hubsd-image-media", persistent=True)
    table = EntityTable()
    verdict = naf.inspect({"dataType": "u", "data": dict(held)}, "bob", MEMBER, table)
    assert (verdict.relay, verdict.reason) == (False, "denied") and "pin1" not in table
    verdict = naf.inspect({"dataType": "u", "data": dict(held)}, "bob", MOVER, table)
    assert verdict.relay and "pin1" in table


def test_scene_objects_and_owned_entities_need_no_move_permission() -> None:
    table = EntityTable()
    door = sync("door", owner="alice", time=5, template="#scene-door", persistent=True)
    naf.inspect({"dataType": "u", "data": door}, "alice", MEMBER, table)
    take = sync("door", owner="bob", time=9, template="#scene-door", persistent=True)
    assert naf.inspect({"dataType": "u", "data": take}, "bob", MEMBER, table).relay
    # the owner's own updates are no take
    naf.inspect(spawn("box", "carol", template="#hubsd-box-media"), "carol", MOVER, table)
    carol = permissions_for(Roles(), 192, "allow")  # the permission taken away since
    assert naf.inspect({"dataType": "u", "data": sync("box", "carol")}, "carol", carol, table).relay
