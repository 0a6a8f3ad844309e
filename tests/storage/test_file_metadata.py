"""
Uploaded files' metadata, as every IRoomStore keeps it (memory, SQLite,
PostgreSQL): added, promoted for good, and listed once expired, at exactly
its expiry time too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest_twisted

from hubsd.storage.errors import Conflict, InvalidValue, NotFound

from .helpers import failure_of

FILE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_FILE_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest_twisted.ensureDeferred
async def test_files_are_added_fetched_and_deleted(store: Any) -> None:
    ann = await store.create_account("ann@example.org")
    expires = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    meta = await store.add_file(FILE_ID, "model/gltf-binary", 1234, ann.account_id, expires)
    assert (meta.promoted, meta.expires_at, meta.owner_account_id) == (
        False,
        expires,
        ann.account_id,
    )
    assert await store.get_file(FILE_ID) == meta
    await store.delete_file(FILE_ID)
    await failure_of(store.get_file(FILE_ID), NotFound)
    await failure_of(store.delete_file(FILE_ID), NotFound)


@pytest_twisted.ensureDeferred
async def test_bad_files_are_refused(store: Any) -> None:
    await store.add_file(FILE_ID, "image/png", 10)
    await failure_of(store.add_file(FILE_ID, "image/png", 10), Conflict)
    await failure_of(store.add_file(OTHER_FILE_ID, "image/png", 10, 999), NotFound)
    await failure_of(store.add_file(OTHER_FILE_ID, "image/png", -1), InvalidValue)
    for file_id, content_type, message in [
        ("", "image/png", "file_id must be 1 to 128 characters"),
        ("f" * 129, "image/png", "file_id must be 1 to 128 characters"),
        (None, "image/png", "file_id must be 1 to 128 characters"),
        ("f\x00", "image/png", "file_id must not contain NUL characters"),
        ("f\ud800", "image/png", "file_id must be valid Unicode (no lone surrogates)"),
        (OTHER_FILE_ID, "", "content_type must be a non-empty string"),
        (OTHER_FILE_ID, "image/\x00png", "content_type must not contain NUL characters"),
    ]:
        error = await failure_of(store.add_file(file_id, content_type, 10), InvalidValue)
        assert str(error).startswith(message), (file_id, content_type)
    await failure_of(store.get_file(OTHER_FILE_ID), NotFound)
    await failure_of(store.promote_file(OTHER_FILE_ID), NotFound)


@pytest_twisted.ensureDeferred
async def test_promoted_files_never_expire(store: Any) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    await store.add_file(FILE_ID, "image/png", 10, None, now - timedelta(hours=1))
    await store.add_file(OTHER_FILE_ID, "image/png", 10, None, now - timedelta(hours=2))
    await store.add_file("later", "image/png", 10, None, now + timedelta(hours=1))
    await store.add_file("forever", "image/png", 10, None, None)

    expired = await store.list_expired_files(now)
    assert [f.file_id for f in expired] == [OTHER_FILE_ID, FILE_ID]

    promoted = await store.promote_file(FILE_ID)
    assert (promoted.promoted, promoted.expires_at) == (True, None)
    assert [f.file_id for f in await store.list_expired_files(now)] == [OTHER_FILE_ID]
    assert [f.file_id for f in await store.list_expired_files(now + timedelta(days=1))] == [
        OTHER_FILE_ID,
        "later",
    ]


@pytest_twisted.ensureDeferred
async def test_a_file_expires_at_exactly_its_expiry_time(store: Any) -> None:
    # Equal timestamps, to the microsecond: "at or before now" is <=, not <.
    now = datetime(2030, 6, 1, 12, 30, 15, 654321, tzinfo=UTC)
    await store.add_file("due-now", "image/png", 10, None, now)
    await store.add_file(
        "due-a-microsecond-later", "image/png", 10, None, now + timedelta.resolution
    )
    assert [f.file_id for f in await store.list_expired_files(now)] == ["due-now"]
    # The same instant written in another time zone is the same instant.
    elsewhere = now.astimezone(timezone(timedelta(hours=-7)))
    assert [f.file_id for f in await store.list_expired_files(elsewhere)] == ["due-now"]
    assert [f.file_id for f in await store.list_expired_files(now - timedelta.resolution)] == []


@pytest_twisted.ensureDeferred
async def test_promotion_token_hashes_are_kept_and_checked(store: Any) -> None:
    digest = "ab" * 32
    meta = await store.add_file(FILE_ID, "image/png", 10, promotion_token_hash=digest)
    assert meta.promotion_token_hash == digest
    assert (await store.get_file(FILE_ID)).promotion_token_hash == digest
    assert (await store.promote_file(FILE_ID)).promotion_token_hash == digest
    assert (await store.add_file(OTHER_FILE_ID, "image/png", 1)).promotion_token_hash is None
    for bad in ("AB" * 32, "ab" * 31, "token", 7):
        error = await failure_of(
            store.add_file("f" + FILE_ID[1:], "image/png", 1, promotion_token_hash=bad),
            InvalidValue,
        )
        assert "promotion_token_hash" in str(error)
    await failure_of(store.get_file("f" + FILE_ID[1:]), NotFound)


@pytest_twisted.ensureDeferred
async def test_account_usage_sums_the_files_an_account_owns(store: Any) -> None:
    ann = await store.create_account("ann@example.org")
    bob = await store.create_account("bob@example.org")
    assert await store.account_file_usage(ann.account_id) == 0
    await store.add_file(FILE_ID, "image/png", 1000, ann.account_id)
    await store.add_file(OTHER_FILE_ID, "image/png", 234, ann.account_id)
    await store.add_file("f" + FILE_ID[1:], "image/png", 99, bob.account_id)
    await store.add_file("e" + FILE_ID[1:], "image/png", 5)
    await store.promote_file(OTHER_FILE_ID)
    assert await store.account_file_usage(ann.account_id) == 1234
    assert await store.account_file_usage(bob.account_id) == 99
    await store.delete_file(FILE_ID)
    assert await store.account_file_usage(ann.account_id) == 234
    assert await store.account_file_usage(999_999) == 0
    await failure_of(store.account_file_usage("ann"), NotFound)
