"""
The behaviour every IRoomStore promises, run against memory, SQLite and
PostgreSQL alike (see the C{backend} fixture in conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_twisted

from hubsd.storage.errors import Conflict, InvalidValue, NotFound
from hubsd.storage.records import hash_email

from .helpers import GLTF, failure_of, provides_room_store


def test_store_provides_the_interface(store: Any) -> None:
    assert provides_room_store(store)


@pytest_twisted.ensureDeferred
async def test_created_room_is_found_by_id_and_by_sid(store: Any) -> None:
    room = await store.create_room("Lobby Deluxe", scene_id="sc3n3")
    assert await store.get_room(room.hub_id) == room
    assert await store.get_room_by_sid(room.hub_sid) == room
    assert room.scene_id == "sc3n3"


@pytest_twisted.ensureDeferred
async def test_new_room_gets_ids_slug_and_defaults(store: Any) -> None:
    room = await store.create_room("Café Terrace!")
    assert 0 < room.hub_id < 2**63
    assert len(room.hub_sid) == 7
    assert room.slug == "cafe-terrace"
    assert (room.entry_mode, room.member_permissions, room.room_size) == ("allow", 192, 24)
    assert room.created_at == room.updated_at
    assert room.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - room.created_at) < timedelta(minutes=1)


@pytest_twisted.ensureDeferred
async def test_rooms_get_distinct_ids_and_sids(store: Any) -> None:
    rooms = [await store.create_room(f"room {i}") for i in range(20)]
    assert len({r.hub_id for r in rooms}) == len({r.hub_sid for r in rooms}) == 20
    assert await store.list_rooms() == sorted(rooms, key=lambda r: r.hub_id)


@pytest_twisted.ensureDeferred
async def test_update_room_changes_only_the_given_fields(store: Any) -> None:
    room = await store.create_room("Before")
    updated = await store.update_room(
        room.hub_id, name="After", entry_mode="invite", member_permissions=255, room_size=10
    )
    assert (updated.name, updated.entry_mode, updated.member_permissions) == (
        "After",
        "invite",
        255,
    )
    assert (updated.room_size, updated.slug, updated.hub_sid) == (10, room.slug, room.hub_sid)
    assert updated.updated_at >= room.updated_at
    assert await store.get_room(room.hub_id) == updated


@pytest_twisted.ensureDeferred
async def test_bad_room_fields_are_refused(store: Any) -> None:
    room = await store.create_room("Strict")
    await failure_of(store.update_room(room.hub_id, entry_mode="open"), InvalidValue)
    await failure_of(store.update_room(room.hub_id, hub_sid="stolen"), InvalidValue)
    await failure_of(store.update_room(room.hub_id, room_size=-1), InvalidValue)
    await failure_of(store.create_room(""), InvalidValue)
    await failure_of(store.create_room("x" * 65), InvalidValue)
    assert await store.get_room(room.hub_id) == room


@pytest_twisted.ensureDeferred
async def test_missing_rooms_are_not_found(store: Any) -> None:
    error = await failure_of(store.get_room(12345), NotFound)
    assert (error.kind, error.key) == ("room", 12345)
    await failure_of(store.get_room_by_sid("nope123"), NotFound)
    await failure_of(store.update_room(12345, name="x"), NotFound)
    await failure_of(store.delete_room(12345), NotFound)


@pytest_twisted.ensureDeferred
async def test_deleting_a_room_deletes_its_roles_and_pins(store: Any) -> None:
    room = await store.create_room("Doomed")
    kept = await store.create_room("Kept")
    account = await store.create_account("owner@example.org")
    await store.set_role(room.hub_id, account.account_id, "owner")
    await store.set_role(kept.hub_id, account.account_id, "owner")
    await store.pin_object(room.hub_id, "obj1", GLTF, account.account_id)
    await store.delete_room(room.hub_id)
    await failure_of(store.get_room(room.hub_id), NotFound)
    assert await store.list_pinned(room.hub_id) == []
    assert [r.hub_id for r in await store.roles_for_account(account.account_id)] == [kept.hub_id]
    assert await store.list_rooms() == [kept]


@pytest_twisted.ensureDeferred
async def test_accounts_are_found_by_normalized_email(store: Any) -> None:
    account = await store.create_account("  Ann@Example.ORG ")
    assert account.email_hash == hash_email("ann@example.org")
    assert "ann" not in account.email_hash
    assert await store.get_account_by_email("ann@example.org") == account
    assert await store.get_account(account.account_id) == account


@pytest_twisted.ensureDeferred
async def test_duplicate_email_is_a_conflict(store: Any) -> None:
    await store.create_account("bob@example.org")
    await failure_of(store.create_account("BOB@example.org"), Conflict)


@pytest_twisted.ensureDeferred
async def test_missing_accounts_are_not_found(store: Any) -> None:
    await failure_of(store.get_account(42), NotFound)
    await failure_of(store.get_account_by_email("nobody@example.org"), NotFound)


@pytest_twisted.ensureDeferred
async def test_roles_are_granted_listed_and_revoked(store: Any) -> None:
    room = await store.create_room("Roles")
    other = await store.create_room("Other")
    ann = await store.create_account("ann@example.org")
    bob = await store.create_account("bob@example.org")
    await store.set_role(room.hub_id, ann.account_id, "owner")
    await store.set_role(room.hub_id, ann.account_id, "owner")  # again: not an error
    await store.set_role(room.hub_id, ann.account_id, "creator")
    await store.set_role(room.hub_id, bob.account_id, "moderator")
    await store.set_role(other.hub_id, ann.account_id, "moderator")

    for_room = await store.roles_for_room(room.hub_id)
    assert sorted((r.account_id, r.role) for r in for_room) == sorted(
        [(ann.account_id, "creator"), (ann.account_id, "owner"), (bob.account_id, "moderator")]
    )
    assert [(r.account_id, r.role) for r in for_room] == sorted(
        (r.account_id, r.role) for r in for_room
    )
    for_ann = await store.roles_for_account(ann.account_id)
    assert {(r.hub_id, r.role) for r in for_ann} == {
        (room.hub_id, "owner"),
        (room.hub_id, "creator"),
        (other.hub_id, "moderator"),
    }

    await store.remove_role(room.hub_id, ann.account_id, "owner")
    await failure_of(store.remove_role(room.hub_id, ann.account_id, "owner"), NotFound)
    assert {r.role for r in await store.roles_for_account(ann.account_id)} == {
        "creator",
        "moderator",
    }


@pytest_twisted.ensureDeferred
async def test_roles_need_a_known_role_room_and_account(store: Any) -> None:
    room = await store.create_room("Roles")
    ann = await store.create_account("ann@example.org")
    await failure_of(store.set_role(room.hub_id, ann.account_id, "admin"), InvalidValue)
    await failure_of(store.set_role(999, ann.account_id, "owner"), NotFound)
    await failure_of(store.set_role(room.hub_id, 999, "owner"), NotFound)
    assert await store.roles_for_room(room.hub_id) == []


@pytest_twisted.ensureDeferred
async def test_stop_lets_calls_in_flight_finish(backend: Any) -> None:
    store = backend.make()
    await store.start()
    room = await store.create_room("Flush")
    pending = [store.update_room(room.hub_id, room_size=n) for n in range(1, 6)]
    await store.stop()
    results = [await d for d in pending]
    assert [r.room_size for r in results] == [1, 2, 3, 4, 5]
