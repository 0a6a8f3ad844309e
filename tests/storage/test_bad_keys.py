"""
Keys and values no record can have, asked of every IRoomStore (memory,
SQLite, PostgreSQL): each answers with the same storage error, never a
driver's exception (OverflowError, ProgrammingError, DataError, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest_twisted

from hubsd.storage.errors import InvalidValue, NotFound

from .helpers import GLTF, failure_of

TOO_BIG = 2**63
Call = Callable[[Any, int, int], Any]

# (what is asked, the kind NotFound names): given a store, a real room and account.
NOT_FOUND: list[tuple[str, Call, str]] = [
    ("largest id", lambda s, h, a: s.get_room(TOO_BIG - 1), "room"),
    ("id past 64 bits", lambda s, h, a: s.get_room(TOO_BIG), "room"),
    ("id below 64 bits", lambda s, h, a: s.get_room(-TOO_BIG - 1), "room"),
    ("id as text", lambda s, h, a: s.get_room(str(h)), "room"),
    ("id as bool", lambda s, h, a: s.get_room(True), "room"),
    ("id as None", lambda s, h, a: s.get_room(None), "room"),
    ("id as dict", lambda s, h, a: s.get_room({"hub_id": h}), "room"),
    ("sid as int", lambda s, h, a: s.get_room_by_sid(5), "room"),
    ("sid with NUL", lambda s, h, a: s.get_room_by_sid("abc\x00def"), "room"),
    ("sid with a surrogate", lambda s, h, a: s.get_room_by_sid("abc\ud800"), "room"),
    ("update past 64 bits", lambda s, h, a: s.update_room(TOO_BIG, name="x"), "room"),
    ("delete id as text", lambda s, h, a: s.delete_room("x"), "room"),
    ("account past 64 bits", lambda s, h, a: s.get_account(2**64), "account"),
    ("e-mail as int", lambda s, h, a: s.get_account_by_email(5), "account"),
    ("role in no room", lambda s, h, a: s.set_role(TOO_BIG, a, "owner"), "room"),
    ("role of no account", lambda s, h, a: s.set_role(h, [a], "owner"), "account"),
    ("role as int", lambda s, h, a: s.remove_role(h, a, 5), "role"),
    ("roles of id as text", lambda s, h, a: s.roles_for_room("x"), "room"),
    ("roles of no account", lambda s, h, a: s.roles_for_account(TOO_BIG), "account"),
    ("pin in no room", lambda s, h, a: s.pin_object(TOO_BIG, "o", GLTF), "room"),
    ("pin by no account", lambda s, h, a: s.pin_object(h, "o", GLTF, TOO_BIG), "account"),
    ("unpin id as int", lambda s, h, a: s.unpin_object(h, 5), "pinned object"),
    ("pins of id as text", lambda s, h, a: s.list_pinned("x"), "room"),
    ("count of id as float", lambda s, h, a: s.count_pinned(1.5), "room"),
    ("file of no account", lambda s, h, a: s.add_file("f", "a/b", 1, TOO_BIG), "account"),
    ("file id as int", lambda s, h, a: s.get_file(5), "file"),
    ("promote file id as None", lambda s, h, a: s.promote_file(None), "file"),
    ("delete file id with NUL", lambda s, h, a: s.delete_file("f\x00"), "file"),
]

AWARE = "a timezone-aware datetime"
NAIVE = datetime(2030, 1, 1)
INVALID: list[tuple[str, Call, str]] = [
    ("e-mail as int", lambda s, h, a: s.create_account(5), "email must be a string"),
    ("e-mail with a surrogate", lambda s, h, a: s.create_account("\udc00@x"), "email must be"),
    ("file past 64 bits", lambda s, h, a: s.add_file("f", "a/b", TOO_BIG), "size must be"),
    (
        "naive expiry",
        lambda s, h, a: s.add_file("f", "a/b", 1, None, NAIVE),
        f"expires_at must be {AWARE}",
    ),
    (
        "expiry as text",
        lambda s, h, a: s.add_file("f", "a/b", 1, None, "2030"),
        f"expires_at must be {AWARE}",
    ),
    ("naive now", lambda s, h, a: s.list_expired_files(NAIVE), f"now must be {AWARE}"),
    ("now as None", lambda s, h, a: s.list_expired_files(None), f"now must be {AWARE}"),
]


@pytest_twisted.ensureDeferred
async def test_keys_no_record_can_have_are_not_found(store: Any) -> None:
    room = await store.create_room("Real")
    account = await store.create_account("real@example.org")
    for what, call, kind in NOT_FOUND:
        error = await failure_of(call(store, room.hub_id, account.account_id), NotFound)
        assert error.kind == kind, what
    # Nothing was written on the way, and the real records are untouched.
    assert await store.list_rooms() == [room]
    assert await store.get_account(account.account_id) == account
    assert await store.list_pinned(room.hub_id) == []


@pytest_twisted.ensureDeferred
async def test_values_no_record_can_have_are_invalid(store: Any) -> None:
    room = await store.create_room("Real")
    account = await store.create_account("real@example.org")
    for what, call, message in INVALID:
        error = await failure_of(call(store, room.hub_id, account.account_id), InvalidValue)
        assert str(error).startswith(message), what
    assert await store.list_expired_files(datetime.now().astimezone()) == []
