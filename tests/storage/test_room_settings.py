"""
The room settings the room core keeps beyond Hubs' basics (description,
custom scene URL, public listing, the creator token's hash), and the public
room list, as every IRoomStore keeps them (memory, SQLite, PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_twisted

from hubsd.storage.errors import InvalidValue
from hubsd.storage.records import hash_token

from .conftest import Backend
from .helpers import failure_of

TOKEN_HASH = hash_token("creator-token-0123456789")
SCENE_URL = "https://assets.example.org/scenes/atrium.glb"


def ticking(start: datetime = datetime(2030, 1, 1, tzinfo=UTC)) -> Callable[[], datetime]:
    """A clock one second later at every call, so rooms have distinct created_at."""
    moments = (start + timedelta(seconds=n) for n in range(10**6))
    return lambda: next(moments)


def test_a_token_hash_is_the_sha256_hex_of_the_token() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert len(TOKEN_HASH) == 64 and "creator" not in TOKEN_HASH


@pytest_twisted.ensureDeferred
async def test_a_new_room_is_private_without_description_or_scene_url(store: Any) -> None:
    room = await store.create_room("Plain")
    assert (room.description, room.scene_url, room.public, room.creator_token_hash) == (
        "",
        None,
        False,
        None,
    )
    assert await store.get_room(room.hub_id) == room


@pytest_twisted.ensureDeferred
async def test_created_room_keeps_description_scene_url_public_and_token_hash(store: Any) -> None:
    room = await store.create_room(
        "Atrium",
        scene_id="sc3n3",
        description="Bring a towel.\nÜnïcødé welcome.",
        scene_url=SCENE_URL,
        public=True,
        creator_token_hash=TOKEN_HASH,
    )
    assert (room.description, room.scene_url, room.public) == (
        "Bring a towel.\nÜnïcødé welcome.",
        SCENE_URL,
        True,
    )
    assert (room.scene_id, room.creator_token_hash) == ("sc3n3", TOKEN_HASH)
    assert await store.get_room(room.hub_id) == room
    assert await store.get_room_by_sid(room.hub_sid) == room


@pytest_twisted.ensureDeferred
async def test_new_settings_are_updated_and_cleared(store: Any) -> None:
    room = await store.create_room("Atrium")
    updated = await store.update_room(
        room.hub_id,
        description="d" * 64000,
        scene_url="http://x.example/" + "a" * (2048 - 17),
        public=True,
        creator_token_hash=TOKEN_HASH,
    )
    assert (len(updated.description), len(updated.scene_url or "")) == (64000, 2048)
    assert (updated.public, updated.creator_token_hash) == (True, TOKEN_HASH)
    assert await store.get_room(room.hub_id) == updated

    cleared = await store.update_room(
        room.hub_id, description="", scene_url=None, public=False, creator_token_hash=None
    )
    assert (cleared.description, cleared.scene_url, cleared.public) == ("", None, False)
    assert cleared.creator_token_hash is None
    assert (cleared.name, cleared.hub_sid) == (room.name, room.hub_sid)
    assert await store.get_room(room.hub_id) == cleared


HEX_MESSAGE = "creator_token_hash must be None or 64 lower-case hex digits (a SHA-256)"
URL_SIZE_MESSAGE = "scene_url must be None or a URL of 1 to 2048 characters"
BAD_SETTINGS = [
    ("description", "d" * 64001, "description must be a string of at most 64000 characters"),
    ("description", None, "description must be a string of at most 64000 characters"),
    ("description", 5, "description must be a string of at most 64000 characters"),
    ("scene_url", "", URL_SIZE_MESSAGE),
    ("scene_url", "https://x.example/" + "a" * 2031, URL_SIZE_MESSAGE),
    ("scene_url", 42, URL_SIZE_MESSAGE),
    ("scene_url", "ftp://x.example/a.glb", "scene_url must be an absolute http or https URL"),
    ("scene_url", "scenes/a.glb", "scene_url must be an absolute http or https URL"),
    ("scene_url", "https:///a.glb", "scene_url must be an absolute http or https URL"),
    ("scene_url", "javascript:alert(1)", "scene_url must be an absolute http or https URL"),
    ("scene_url", "https://x.example/a b.glb", "scene_url must not contain spaces or control"),
    ("scene_url", "https://x.example/a\n.glb", "scene_url must not contain spaces or control"),
    ("scene_url", "https://[x.example/a.glb", "scene_url is not a valid URL"),
    ("scene_url", "https://x.example/\x00", "scene_url must not contain spaces or control"),
    ("name", "Lobby\x00", "name must not contain NUL characters"),
    ("slug", "lobby\x00", "slug must not contain NUL characters"),
    ("scene_id", "sc\x00", "scene_id must not contain NUL characters"),
    ("description", "a\x00b", "description must not contain NUL characters"),
    ("description", "\ud83d alone", "description must be valid Unicode (no lone surrogates)"),
    ("name", "\udc00", "name must be valid Unicode (no lone surrogates)"),
    ("public", 1, "public must be True or False: 1"),
    ("public", "yes", "public must be True or False: 'yes'"),
    ("public", None, "public must be True or False: None"),
    ("creator_token_hash", TOKEN_HASH.upper(), HEX_MESSAGE),
    ("creator_token_hash", TOKEN_HASH[:63], HEX_MESSAGE),
    ("creator_token_hash", TOKEN_HASH + "\n", HEX_MESSAGE),
    ("creator_token_hash", "creator-token-0123456789", HEX_MESSAGE),
    ("creator_token_hash", 123, HEX_MESSAGE),
]


@pytest_twisted.ensureDeferred
async def test_bad_settings_are_refused_by_name_and_change_nothing(store: Any) -> None:
    # One table, one database: a PostgreSQL database per row costs a second.
    room = await store.create_room("Strict")
    for field, value, message in BAD_SETTINGS:
        row = f"{field}={value!r:.40}"
        error = await failure_of(store.update_room(room.hub_id, **{field: value}), InvalidValue)
        assert str(error).startswith(message), row
        # The value may be (or hold) the token, or be 64001 characters: never echoed.
        if field in ("creator_token_hash", "description"):
            assert str(error) == message, row
        creating = store.create_room(**{"name": "New", field: value})
        error = await failure_of(creating, InvalidValue)
        assert str(error).startswith(message), row
    assert await store.list_rooms() == [room]


@pytest_twisted.ensureDeferred
async def test_public_rooms_open_to_entry_are_listed_newest_first(backend: Backend) -> None:
    store = backend.make(clock=ticking())
    await store.start()
    first = await store.create_room("First", public=True)
    await store.create_room("Private")
    await store.create_room("Closed", public=True, entry_mode="deny")
    invite = await store.create_room("Invite", public=True, entry_mode="invite")
    last = await store.create_room("Last", public=True)
    assert await store.list_public_rooms() == [last, invite, first]
    assert await store.list_public_rooms(limit=2) == [last, invite]
    assert await store.list_public_rooms(0) == []


@pytest_twisted.ensureDeferred
async def test_closing_or_hiding_a_room_takes_it_off_the_public_list(backend: Backend) -> None:
    store = backend.make(clock=ticking())
    await store.start()
    room = await store.create_room("Atrium")
    assert await store.list_public_rooms() == []
    shown = await store.update_room(room.hub_id, public=True)
    assert await store.list_public_rooms() == [shown]
    await store.update_room(room.hub_id, entry_mode="deny")
    assert await store.list_public_rooms() == []
    reopened = await store.update_room(room.hub_id, entry_mode="allow")
    assert await store.list_public_rooms() == [reopened]
    await store.update_room(room.hub_id, public=False)
    assert await store.list_public_rooms() == []


@pytest_twisted.ensureDeferred
async def test_a_bad_public_list_limit_is_refused(store: Any) -> None:
    for limit in [-1, 1001, True, "5", 2.0, None]:
        error = await failure_of(store.list_public_rooms(limit), InvalidValue)
        assert str(error) == f"limit must be an integer from 0 to 1000: {limit!r}"


@pytest_twisted.ensureDeferred
async def test_the_public_list_stops_at_its_limit(store: Any) -> None:
    for n in range(12):
        await store.create_room(f"room {n}", public=True)
    assert len(await store.list_public_rooms(limit=10)) == 10
    assert len(await store.list_public_rooms(limit=1000)) == 12
