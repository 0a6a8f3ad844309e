"""The room's entity table: NAF's ownership rule, merged state, snapshots, leaves, limits."""

from __future__ import annotations

from typing import Any

import pytest

from hubsd.rooms.entities import EntityTable


def first_sync(
    network_id: str = "e1",
    owner: str = "alice",
    time: float = 10,
    components: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    sync: dict[str, Any] = {
        "networkId": network_id,
        "owner": owner,
        "creator": owner,
        "lastOwnerTime": time,
        "template": "#interactable-media",
        "persistent": False,
        "parent": None,
        "components": {"0": {"x": 1}, "1": None} if components is None else components,
        "isFirstSync": True,
    }
    sync.update(extra)
    return sync


def update(
    network_id: str = "e1",
    owner: str = "alice",
    time: float = 10,
    components: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    sync: dict[str, Any] = {
        "networkId": network_id,
        "owner": owner,
        "lastOwnerTime": time,
        "components": {} if components is None else components,
    }
    sync.update(extra)
    return sync


def table_with(*syncs: tuple[str, dict[str, Any]], max_entities: int = 5000) -> EntityTable:
    table = EntityTable(max_entities)
    for sender, sync in syncs:
        assert table.apply(sender, sync).accepted
    return table


def test_first_sync_creates_entity_owned_and_created_by_sender() -> None:
    table = EntityTable()
    sync = first_sync(owner="mallory")
    decision = table.apply("alice", sync)
    assert decision.accepted and decision.changed
    assert sync["owner"] == sync["creator"] == "alice"
    entity = table.get("e1")
    assert entity is not None
    assert (entity.owner, entity.creator, entity.created_by) == ("alice", "alice", "alice")
    assert entity.last_owner_time == 10
    assert entity.template == "#interactable-media" and entity.persistent is False


def test_first_sync_already_stamped_is_unchanged() -> None:
    decision = EntityTable().apply("alice", first_sync(owner="alice"))
    assert decision.accepted and not decision.changed


def test_first_sync_replay_cannot_recreate_another_members_entity_under_own_name() -> None:
    table = table_with(("alice", first_sync()))
    replay = first_sync(owner="bob", time=20)
    assert table.apply("bob", replay).accepted  # a later take, as NAF allows
    assert replay["creator"] == "alice"
    entity = table.get("e1")
    assert entity is not None and entity.owner == "bob" and entity.creator == "alice"


def test_update_from_owner_is_accepted_unchanged() -> None:
    table = table_with(("alice", first_sync()))
    decision = table.apply("alice", update(components={"0": {"x": 2}}))
    assert decision.accepted and not decision.changed


def test_update_from_non_owner_is_dropped_and_counted() -> None:
    table = table_with(("alice", first_sync()))
    assert table.apply("bob", update(owner="alice")).reason == "not_owner"
    assert table.dropped_not_owner == 1
    entity = table.get("e1")
    assert entity is not None and entity.components == {"0": {"x": 1}, "1": None}


def test_member_can_take_ownership_only_for_itself() -> None:
    table = table_with(("alice", first_sync()))
    assert table.apply("bob", update(owner="carol", time=99)).reason == "not_owner"
    entity = table.get("e1")
    assert entity is not None and entity.owner == "alice"


@pytest.mark.parametrize(
    "known_time, known_owner, time, owner, accepted",
    [
        (10, "bob", 11, "alice", True),  # later lastOwnerTime wins
        (10, "alice", 9, "bob", False),  # earlier loses
        (10, "alice", 10, "bob", True),  # tie: the greater owner id wins
        (10, "bob", 10, "alice", False),  # tie: the smaller id loses
        (10, "alice", 10, "alice", True),  # the owner's own updates
        (10, "alice", 9.5, "alice", False),  # even the owner's stale time loses
        (-1, "alice", 0, "bob", True),
        (10.25, "alice", 10.5, "bob", True),
    ],
)
def test_ownership_rule_later_time_wins_ties_to_greater_owner(
    known_time: float, known_owner: str, time: float, owner: str, accepted: bool
) -> None:
    table = table_with((known_owner, first_sync(owner=known_owner, time=known_time)))
    decision = table.apply(owner, update(owner=owner, time=time))
    assert decision.accepted is accepted
    entity = table.get("e1")
    assert entity is not None
    expected = (time, owner) if accepted else (known_time, known_owner)
    assert (entity.last_owner_time, entity.owner) == expected
    assert table.dropped_not_owner == (0 if accepted else 1)


@pytest.mark.parametrize(
    "template, taken",
    [("#remote-avatar", False), ("#remote-waypoint-avatar", True), ("#interactable-pen", True)],
)
def test_avatar_takes_syncs_only_from_the_member_that_created_it(
    template: str, taken: bool
) -> None:
    table = table_with(("alice", first_sync(template=template)))
    assert table.apply("bob", update(owner="bob", time=99)).accepted is taken
    assert table.apply("alice", update(owner="alice", time=100)).accepted


def test_same_owner_update_keeps_last_owner_time_as_naf_clients_do() -> None:
    table = table_with(("alice", first_sync(time=10)))
    sync = update(time=50)
    decision = table.apply("alice", sync)
    assert decision.accepted and decision.changed
    # relayed with the recorded time: a member that took the entity meanwhile
    # must not read it as a newer take
    assert sync["lastOwnerTime"] == 10
    entity = table.get("e1")
    assert entity is not None and entity.last_owner_time == 10
    # so a take at 20 still wins here, as it does at every client
    assert table.apply("bob", update(owner="bob", time=20)).accepted


def test_merged_state_later_non_null_values_replace_and_keys_accumulate() -> None:
    table = table_with(("alice", first_sync(components={"0": {"x": 1}, "1": None, "2": "a"})))
    assert table.apply("alice", update(components={"0": {"x": 2}, "2": None, "3": None})).accepted
    assert table.apply("alice", update(components={"1": [1, 2]})).accepted
    entity = table.get("e1")
    assert entity is not None
    assert entity.components == {"0": {"x": 2}, "1": [1, 2], "2": "a", "3": None}


def test_merged_state_keeps_at_most_max_components_keys() -> None:
    table = EntityTable(max_components=3)
    table.apply("alice", first_sync(components={"0": 1, "1": 2}))
    assert table.apply("alice", update(components={"2": 3, "3": 4, "0": 9})).accepted
    entity = table.get("e1")
    assert entity is not None and entity.components == {"0": 9, "1": 2, "2": 3}


def test_update_for_unknown_entity_is_dropped_and_counted() -> None:
    table = EntityTable()
    assert table.apply("alice", update()).reason == "unknown"
    assert table.dropped_unknown == 1 and len(table) == 0


def test_unknown_persistent_update_creates_entity_owned_by_sender() -> None:
    table = EntityTable()
    sync = {"networkId": "scene-door", "persistent": True, "components": {"0": 1}}
    decision = table.apply("alice", sync)
    assert decision.accepted and decision.changed
    assert sync["owner"] == "alice" and sync["lastOwnerTime"] == -1
    entity = table.get("scene-door")
    assert entity is not None and entity.persistent and entity.owner == "alice"


def test_persistent_first_sync_for_another_owner_is_dropped() -> None:
    table = EntityTable()
    sync = first_sync(owner="bob", persistent=True, template="#door")
    assert table.apply("alice", sync).reason == "not_owner"
    assert len(table) == 0


def test_persistent_first_sync_is_not_stamped() -> None:
    table = EntityTable()
    sync = first_sync(owner="alice", persistent=True, template="#door", creator="scene")
    decision = table.apply("alice", sync)
    assert decision.accepted and not decision.changed
    entity = table.get("e1")
    assert entity is not None and entity.creator == "scene" and entity.created_by == "alice"


@pytest.mark.parametrize(
    "missing, filled",
    [("owner", "alice"), ("lastOwnerTime", 10), ("components", {})],
)
def test_missing_fields_of_an_owner_update_are_filled_in(missing: str, filled: Any) -> None:
    table = table_with(("alice", first_sync()))
    sync = update()
    del sync[missing]
    decision = table.apply("alice", sync)
    assert decision.accepted and decision.changed
    assert sync[missing] == filled


def test_update_without_owner_from_non_owner_is_dropped() -> None:
    table = table_with(("alice", first_sync()))
    assert table.apply("bob", {"networkId": "e1", "components": {}}).reason == "not_owner"


def test_persistent_flag_follows_accepted_updates_as_at_naf_clients() -> None:
    table = table_with(("alice", first_sync()))
    assert table.apply("alice", update(persistent=True)).accepted
    entity = table.get("e1")
    assert entity is not None and entity.persistent is True
    assert table.apply("bob", update(owner="bob", time=5, persistent=False)).reason
    assert entity.persistent is True


@pytest.mark.parametrize(
    "sender, is_moderator, removed",
    [
        ("bob", False, True),  # the current owner
        ("alice", False, True),  # the creator
        ("mod", True, True),  # a moderator
        ("carol", False, False),
    ],
)
def test_remove_only_from_owner_creator_or_moderator(
    sender: str, is_moderator: bool, removed: bool
) -> None:
    table = table_with(("alice", first_sync()), ("bob", update(owner="bob", time=11)))
    assert table.remove(sender, "e1", is_moderator) is removed
    assert ("e1" in table) is not removed
    assert table.dropped_not_owner == (0 if removed else 1)


def test_remove_of_unknown_entity_is_counted() -> None:
    table = EntityTable()
    assert table.remove("alice", "nope") is False
    assert table.dropped_unknown == 1


def test_remove_takes_the_descendants_with_it() -> None:
    table = table_with(
        ("alice", first_sync("root")),
        ("alice", first_sync("child", parent="root")),
        ("alice", first_sync("grandchild", parent="child")),
        ("alice", first_sync("other")),
    )
    assert table.remove("alice", "root")
    assert [sync["networkId"] for sync in table.snapshot()] == ["other"]


def test_snapshot_is_one_full_first_sync_per_entity_in_creation_order() -> None:
    table = table_with(
        ("alice", first_sync("e1", components={"0": {"x": 1}, "1": None})),
        ("bob", first_sync("e2", owner="bob", time=3)),
    )
    table.apply("alice", update("e1", components={"1": "on"}))
    table.apply("bob", update("e1", owner="bob", time=12))
    snapshot = table.snapshot()
    assert [sync["networkId"] for sync in snapshot] == ["e1", "e2"]
    assert snapshot[0] == {
        "networkId": "e1",
        "owner": "bob",
        "creator": "alice",
        "lastOwnerTime": 12,
        "template": "#interactable-media",
        "persistent": False,
        "parent": None,
        "components": {"0": {"x": 1}, "1": "on"},
        "isFirstSync": True,
    }


def test_snapshot_is_a_copy_of_the_state() -> None:
    table = table_with(("alice", first_sync()))
    table.snapshot()[0]["components"]["0"] = "changed"
    assert table.snapshot()[0]["components"]["0"] == {"x": 1}


def test_leaving_member_non_persistent_entities_are_removed() -> None:
    table = table_with(
        ("alice", first_sync("avatar")),
        ("alice", first_sync("head", parent="avatar")),
        ("bob", first_sync("bobs", owner="bob")),
    )
    removed, handed_over = table.member_left("alice")
    assert removed == ["avatar", "head"] and handed_over == []
    assert [sync["networkId"] for sync in table.snapshot()] == ["bobs"]


def test_entity_created_without_a_creator_is_the_senders() -> None:
    table = table_with(("alice", {"networkId": "p", "persistent": True, "creator": ""}))
    table.apply("alice", update("p", owner="alice", time=0, persistent=False))
    assert table.member_left("alice") == (["p"], [])


def test_leaving_member_persistent_entities_stay_for_a_takeover() -> None:
    table = table_with(("alice", first_sync("door", persistent=True, template="#door")))
    removed, handed_over = table.member_left("alice")
    assert removed == [] and [sync["networkId"] for sync in handed_over] == ["door"]
    entity = table.get("door")
    # NAF clients keep the leaver as owner until a take wins: so does the table
    assert entity is not None and entity.owner == "alice"
    assert table.apply("bob", update("door", owner="bob", time=11)).accepted


def test_entity_created_by_another_member_stays_when_its_owner_leaves() -> None:
    table = table_with(("alice", first_sync()), ("bob", update(owner="bob", time=11)))
    assert table.member_left("bob") == ([], [])
    assert "e1" in table


def test_creating_beyond_max_entities_is_dropped_and_counted() -> None:
    table = table_with(("alice", first_sync("e1")), ("alice", first_sync("e2")), max_entities=2)
    assert table.apply("alice", first_sync("e3")).reason == "full"
    assert table.dropped_full == 1 and "e3" not in table
    assert table.apply("alice", update("e2")).accepted  # updates still flow
    table.remove("alice", "e1")
    assert table.apply("alice", first_sync("e3")).accepted


def test_max_entities_must_be_positive() -> None:
    with pytest.raises(ValueError):
        EntityTable(0)


def test_counters_name_every_drop() -> None:
    table = table_with(("alice", first_sync()), max_entities=1)
    table.apply("bob", update())
    table.apply("bob", update("nope"))
    table.apply("bob", first_sync("e2", owner="bob"))
    assert table.counters() == {
        "dropped_not_owner": 1,
        "dropped_unknown": 1,
        "dropped_full": 1,
        "dropped_denied": 0,
        "dropped_first_sync_in_um": 0,
    }
