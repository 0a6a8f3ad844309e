"""
A database made by an older hubsd upgrades in place: the pending numbered
migrations apply at start, and every row written before is still there,
with the defaults of a new room for the settings it did not have.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest_twisted

from hubsd.storage.migrate import DEFAULT_MIGRATIONS, load_migrations
from hubsd.storage.records import Room, hash_email

from .conftest import Backend

KNOWN_VERSION = max(m.version for m in load_migrations(DEFAULT_MIGRATIONS, "sqlite"))
WRITTEN = datetime(2030, 1, 1, tzinfo=UTC)


def migrations_up_to(version: int, directory: Path) -> Path:
    """A copy of the shipped migrations up to C{version}: what an older hubsd had."""
    directory.mkdir()
    for path in DEFAULT_MIGRATIONS.iterdir():
        if path.name[:4].isdigit() and int(path.name[:4]) <= version:
            shutil.copy(path, directory / path.name)
    return directory


def write_version_1_rows(backend: Backend) -> None:
    """Rows as hubsd wrote them at schema version 1, in that schema's columns."""
    assert backend.sql is not None
    if backend.name == "sqlite":
        at, false = str(int(WRITTEN.timestamp()) * 10**6), "0"
    else:
        at, false = "'2030-01-01 00:00:00+00'", "false"
    email_hash = hash_email("old@example.org")
    backend.sql(
        "INSERT INTO rooms (hub_id, hub_sid, name, slug, scene_id, entry_mode, "
        "member_permissions, room_size, created_at, updated_at) VALUES "
        f"(4242, 'oldroom', 'Old Room', 'old-room', 'sc3n3', 'invite', 255, 12, {at}, {at})"
    )
    backend.sql(f"INSERT INTO accounts VALUES (77, '{email_hash}', {at})")
    backend.sql("INSERT INTO room_roles VALUES (4242, 77, 'owner')")
    backend.sql(
        "INSERT INTO pinned_objects (hub_id, object_id, gltf, created_by, updated_at) "
        f"""VALUES (4242, 'naf-old', '{{"nodes": [1, 2]}}', 77, {at})"""
    )
    backend.sql(f"INSERT INTO files VALUES ('f-old', 77, 'image/png', 3, {false}, {at})")


@pytest_twisted.ensureDeferred
async def test_a_version_1_database_upgrades_and_keeps_its_rows(
    sql_backend: Backend, tmp_path: Path
) -> None:
    assert sql_backend.sql is not None
    old = sql_backend.make(migrations=migrations_up_to(1, tmp_path / "v1"))
    await old.start()
    await old.stop()
    assert sql_backend.sql("SELECT version FROM schema_migrations") == [(1,)]
    write_version_1_rows(sql_backend)

    store = sql_backend.make()
    await store.start()
    versions = sql_backend.sql("SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(v,) for v in range(1, KNOWN_VERSION + 1)]

    room = await store.get_room_by_sid("oldroom")
    assert room == Room(
        hub_id=4242, hub_sid="oldroom", name="Old Room", slug="old-room", scene_id="sc3n3",
        entry_mode="invite", member_permissions=255, room_size=12,
        created_at=WRITTEN, updated_at=WRITTEN,
        description="", scene_url=None, public=False, creator_token_hash=None,
    )  # fmt: skip
    account = await store.get_account_by_email("old@example.org")
    assert (account.account_id, account.created_at) == (77, WRITTEN)
    assert [(r.account_id, r.role) for r in await store.roles_for_room(4242)] == [(77, "owner")]
    [pinned] = await store.list_pinned(4242)
    assert (pinned.object_id, pinned.gltf, pinned.created_by) == ("naf-old", {"nodes": [1, 2]}, 77)
    assert (pinned.file_id, pinned.updated_at) == (None, WRITTEN)
    assert (await store.get_file("f-old")).expires_at == WRITTEN

    # The upgraded rows take the new settings like any room.
    shown = await store.update_room(4242, public=True, entry_mode="allow", description="Hi")
    assert await store.list_public_rooms() == [shown]
    again = await store.pin_object(4242, "naf-old", {"nodes": []}, file_id="f-old")
    assert (again.created_by, again.file_id) == (77, "f-old")
