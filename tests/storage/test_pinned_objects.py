"""
Pinned objects, as every IRoomStore keeps them (memory, SQLite, PostgreSQL):
pinned again in place, listed in order, counted, linked to a file, and
refused when the room core hands over what can never be a pinned object.
"""

from __future__ import annotations

from typing import Any

import pytest_twisted

from hubsd.storage.errors import InvalidValue, NotFound

from .helpers import GLTF, failure_of


@pytest_twisted.ensureDeferred
async def test_pinning_again_replaces_the_gltf_and_keeps_the_pinner(store: Any) -> None:
    room = await store.create_room("Pins")
    ann = await store.create_account("ann@example.org")
    bob = await store.create_account("bob@example.org")
    first = await store.pin_object(room.hub_id, "naf-1", GLTF, ann.account_id)
    assert (first.object_id, first.gltf, first.created_by) == ("naf-1", GLTF, ann.account_id)

    moved = {"nodes": [{"name": "duck", "translation": [1, 2, 3]}]}
    second = await store.pin_object(room.hub_id, "naf-1", moved, bob.account_id)
    assert (second.gltf, second.created_by) == (moved, ann.account_id)
    assert second.updated_at >= first.updated_at
    assert await store.list_pinned(room.hub_id) == [second]


@pytest_twisted.ensureDeferred
async def test_pinned_objects_are_listed_in_order_and_unpinned(store: Any) -> None:
    room = await store.create_room("Pins")
    other = await store.create_room("Elsewhere")
    for object_id in ["b", "c", "a"]:
        await store.pin_object(room.hub_id, object_id, {"id": object_id})
    await store.pin_object(other.hub_id, "a", GLTF)
    assert [p.object_id for p in await store.list_pinned(room.hub_id)] == ["a", "b", "c"]
    assert all(p.created_by is None for p in await store.list_pinned(room.hub_id))

    await store.unpin_object(room.hub_id, "b")
    await failure_of(store.unpin_object(room.hub_id, "b"), NotFound)
    assert [p.object_id for p in await store.list_pinned(room.hub_id)] == ["a", "c"]
    assert [p.gltf for p in await store.list_pinned(other.hub_id)] == [GLTF]


@pytest_twisted.ensureDeferred
async def test_pinning_needs_a_known_room_and_pinner(store: Any) -> None:
    room = await store.create_room("Pins")
    await failure_of(store.pin_object(999, "x", GLTF), NotFound)
    await failure_of(store.pin_object(room.hub_id, "x", GLTF, created_by=999), NotFound)
    assert await store.list_pinned(room.hub_id) == []


@pytest_twisted.ensureDeferred
async def test_changing_a_returned_gltf_does_not_change_the_store(store: Any) -> None:
    room = await store.create_room("Pins")
    document = {"nodes": [{"name": "duck"}]}
    pinned = await store.pin_object(room.hub_id, "x", document)
    document["nodes"].append({"name": "intruder"})
    pinned.gltf["nodes"].append({"name": "intruder"})
    [listed] = await store.list_pinned(room.hub_id)
    assert listed.gltf == {"nodes": [{"name": "duck"}]}


@pytest_twisted.ensureDeferred
async def test_pin_links_a_file_and_pinning_again_replaces_the_link(store: Any) -> None:
    room = await store.create_room("Pins")
    plain = await store.pin_object(room.hub_id, "naf-plain", GLTF)
    assert plain.file_id is None
    first = await store.pin_object(room.hub_id, "naf-1", GLTF, file_id="file-a")
    assert first.file_id == "file-a"
    again = await store.pin_object(room.hub_id, "naf-1", GLTF, file_id="file-b")
    assert again.file_id == "file-b"
    assert [p.file_id for p in await store.list_pinned(room.hub_id)] == ["file-b", None]


@pytest_twisted.ensureDeferred
async def test_pinned_objects_are_counted_per_room(store: Any) -> None:
    room = await store.create_room("Pins")
    other = await store.create_room("Elsewhere")
    assert await store.count_pinned(room.hub_id) == 0
    assert await store.count_pinned(123456) == 0
    for object_id in ["a", "b", "c"]:
        await store.pin_object(room.hub_id, object_id, GLTF)
    await store.pin_object(room.hub_id, "a", {"moved": True})  # again: still one object
    await store.pin_object(other.hub_id, "a", GLTF)
    assert await store.count_pinned(room.hub_id) == 3
    await store.unpin_object(room.hub_id, "b")
    assert await store.count_pinned(room.hub_id) == 2
    assert await store.count_pinned(other.hub_id) == 1


@pytest_twisted.ensureDeferred
async def test_a_gltf_comes_back_as_json_would_give_it(store: Any) -> None:
    room = await store.create_room("Pins")
    document = {"translation": (1, 2.5, 3), "n": None, "text": "\\u0000 é\n", "deep": nested(200)}
    pinned = await store.pin_object(room.hub_id, "x", document)
    assert pinned.gltf == dict(document, translation=[1, 2.5, 3])
    assert [p.gltf for p in await store.list_pinned(room.hub_id)] == [pinned.gltf]


@pytest_twisted.ensureDeferred
async def test_an_object_id_of_128_characters_is_a_networkid(store: Any) -> None:
    room = await store.create_room("Pins")
    pinned = await store.pin_object(room.hub_id, "n" * 128, GLTF, file_id="f" * 128)
    assert (pinned.object_id, pinned.file_id) == ("n" * 128, "f" * 128)


def nested(depth: int) -> dict[str, Any]:
    """A JSON object nested C{depth} levels deep."""
    document: dict[str, Any] = {}
    for _ in range(depth):
        document = {"children": document}
    return document


BAD_PINS = [
    # (object_id, gltf, file_id, what the message says)
    ("", GLTF, None, "pinned object id must be a networkId of 1 to 128 characters"),
    ("n" * 129, GLTF, None, "pinned object id must be a networkId of 1 to 128 characters"),
    (None, GLTF, None, "pinned object id must be a networkId of 1 to 128 characters"),
    (42, GLTF, None, "pinned object id must be a networkId of 1 to 128 characters"),
    ("naf-1", [GLTF], None, "gltf must be a JSON object, not list"),
    ("naf-1", "{}", None, "gltf must be a JSON object, not str"),
    ("naf-1", {"scale": float("nan")}, None, "gltf must be a JSON object: "),
    ("naf-1", {"scale": float("inf")}, None, "gltf must be a JSON object: "),
    ("naf-1", {"node": object()}, None, "gltf must be a JSON object: "),
    ("naf\x00", GLTF, None, "pinned object id must not contain NUL characters"),
    ("naf\ud800", GLTF, None, "pinned object id must be valid Unicode (no lone surrogates)"),
    ("naf-1", {"name": "duck\x00"}, None, "gltf must not contain NUL characters"),
    ("naf-1", {"duck\udfff": 1}, None, "gltf must be valid Unicode (no lone surrogates)"),
    ("naf-1", {"n": ["a", "\ud800"]}, None, "gltf must be valid Unicode (no lone surrogates)"),
    ("naf-1", nested(5000), None, "gltf must be a JSON object: maximum recursion depth"),
    ("naf-1", GLTF, "f\x00", "file_id must not contain NUL characters"),
    ("naf-1", GLTF, "", "file_id must be None or 1 to 128 characters"),
    ("naf-1", GLTF, "f" * 129, "file_id must be None or 1 to 128 characters"),
    ("naf-1", GLTF, 7, "file_id must be None or 1 to 128 characters"),
]


@pytest_twisted.ensureDeferred
async def test_what_cannot_be_a_pinned_object_is_refused(store: Any) -> None:
    # One table, one database: a PostgreSQL database per row costs a second.
    room = await store.create_room("Pins")
    for object_id, gltf, file_id, message in BAD_PINS:
        pinning = store.pin_object(room.hub_id, object_id, gltf, None, file_id)
        error = await failure_of(pinning, InvalidValue)
        assert str(error).startswith(message), (object_id, gltf, file_id)
    assert await store.count_pinned(room.hub_id) == 0
