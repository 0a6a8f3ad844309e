"""
What only the SQL stores promise: durability across restarts, versioned
migrations that apply whole or not at all, and clear errors at start.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor

from hubsd.storage.errors import MigrationFailed, SchemaTooNew, StorageUnavailable
from hubsd.storage.memory import MemoryRoomStore
from hubsd.storage.migrate import DEFAULT_MIGRATIONS, load_migrations, pending_migrations
from hubsd.storage.postgres import PostgresRoomStore
from hubsd.storage.records import hash_token
from hubsd.storage.sqlite import SQLiteRoomStore
from hubsd.storage.sqlite_rows import split_statements

from .conftest import Backend
from .helpers import failure_of, provides_room_store

KNOWN_VERSION = max(m.version for m in load_migrations(DEFAULT_MIGRATIONS, "sqlite"))


def table_exists(backend: Backend, table: str) -> bool:
    assert backend.sql is not None
    if backend.name == "sqlite":
        return bool(backend.sql(f"SELECT 1 FROM sqlite_master WHERE name = '{table}'"))
    return backend.sql(f"SELECT to_regclass('{table}') IS NOT NULL")[0][0] is True


@pytest_twisted.ensureDeferred
async def test_data_survives_a_restart(sql_backend: Backend) -> None:
    first = sql_backend.make()
    await first.start()
    room = await first.create_room(
        "Durable",
        description="Still here.",
        scene_url="https://x.example/a.glb",
        public=True,
        creator_token_hash=hash_token("t"),
    )
    account = await first.create_account("ann@example.org")
    await first.set_role(room.hub_id, account.account_id, "owner")
    pinned = await first.pin_object(room.hub_id, "naf-1", {"a": [1, 2.5, None]}, file_id="f1")
    meta = await first.add_file("f1", "image/png", 3, account.account_id)
    await first.stop()

    second = sql_backend.make()
    await second.start()
    assert await second.get_room_by_sid(room.hub_sid) == room
    assert await second.get_account_by_email("ann@example.org") == account
    assert [r.role for r in await second.roles_for_room(room.hub_id)] == ["owner"]
    assert await second.list_pinned(room.hub_id) == [pinned]
    assert await second.count_pinned(room.hub_id) == 1
    assert await second.list_public_rooms() == [room]
    assert await second.get_file("f1") == meta


@pytest_twisted.ensureDeferred
async def test_migrations_are_recorded_and_applied_once(sql_backend: Backend) -> None:
    assert sql_backend.sql is not None
    await sql_backend.make().start()
    await sql_backend.make().start()
    versions = sql_backend.sql("SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(v,) for v in range(1, KNOWN_VERSION + 1)]


@pytest_twisted.ensureDeferred
async def test_a_database_from_a_newer_hubsd_is_refused(sql_backend: Backend) -> None:
    assert sql_backend.sql is not None
    first = sql_backend.make()
    await first.start()
    await first.stop()
    newer = KNOWN_VERSION + 7
    applied_at = "0" if sql_backend.name == "sqlite" else "now()"
    sql_backend.sql(f"INSERT INTO schema_migrations VALUES ({newer}, {applied_at})")
    assert sql_backend.sql("SELECT max(version) FROM schema_migrations") == [(newer,)]
    error = await failure_of(sql_backend.make().start(), SchemaTooNew)
    assert (error.database_version, error.code_version) == (newer, KNOWN_VERSION)
    assert str(newer) in str(error) and str(KNOWN_VERSION) in str(error)


@pytest_twisted.ensureDeferred
async def test_a_migration_that_fails_half_way_leaves_nothing(
    sql_backend: Backend, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(DEFAULT_MIGRATIONS, migrations)
    broken = f"{KNOWN_VERSION + 1:04d}_broken"
    (migrations / f"{broken}.sql").write_text(
        "CREATE TABLE half_done (x integer);\n"
        "INSERT INTO half_done VALUES (1);\n"
        "INSERT INTO no_such_table VALUES (1);\n"
    )
    error = await failure_of(sql_backend.make(migrations=migrations).start(), MigrationFailed)
    assert broken in str(error) and "no_such_table" in str(error)
    assert not table_exists(sql_backend, "half_done")
    assert sql_backend.sql is not None
    known = [(v,) for v in range(1, KNOWN_VERSION + 1)]
    assert sql_backend.sql("SELECT version FROM schema_migrations ORDER BY version") == known

    # The shipped migrations still open the database.
    store = sql_backend.make()
    await store.start()
    assert await store.list_rooms() == []


def test_migrations_are_chosen_by_dialect_and_must_be_unique(tmp_path: Path) -> None:
    (tmp_path / "0001_base.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_only.sqlite.sql").write_text("CREATE TABLE b (x int);")
    (tmp_path / "0002_only.postgres.sql").write_text("CREATE TABLE b (x bigint);")
    (tmp_path / "README").write_text("not a migration")
    assert [m.version for m in load_migrations(tmp_path, "sqlite")] == [1, 2]
    assert "bigint" in load_migrations(tmp_path, "postgres")[1].sql
    (tmp_path / "0002_again.sql").write_text("")
    with pytest.raises(MigrationFailed, match="two migrations with version 2"):
        load_migrations(tmp_path, "sqlite")


def test_pending_migrations_skip_applied_and_refuse_newer() -> None:
    migrations = load_migrations(DEFAULT_MIGRATIONS, "postgres")
    assert pending_migrations(migrations, []) == migrations
    assert pending_migrations(migrations, [1]) == [m for m in migrations if m.version != 1]
    with pytest.raises(SchemaTooNew):
        pending_migrations(migrations, [KNOWN_VERSION + 1])


def test_sqlite_scripts_split_into_statements() -> None:
    script = "-- a comment\nCREATE TABLE t (x text DEFAULT 'a;b');\n\nINSERT INTO t VALUES ('c');\n"
    assert [s.strip() for s in split_statements(script)] == [
        "-- a comment\nCREATE TABLE t (x text DEFAULT 'a;b');",
        "INSERT INTO t VALUES ('c');",
    ]


@pytest_twisted.ensureDeferred
async def test_sqlite_path_under_a_file_is_unavailable_and_named(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    path = blocker / "rooms.sqlite3"
    error = await failure_of(SQLiteRoomStore(str(path), reactor).start(), StorageUnavailable)
    assert str(path) in str(error)


@pytest_twisted.ensureDeferred
async def test_sqlite_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not a database, it is a long enough text file" * 100)
    error = await failure_of(SQLiteRoomStore(str(path), reactor).start(), StorageUnavailable)
    assert str(path) in str(error)


@pytest_twisted.ensureDeferred
async def test_sqlite_unwritable_directory_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:
        # Root ignores permission bits (and the venv is not reachable by an
        # unprivileged user here): answer the access check as they would.
        real_access = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode)
        )
    path = locked / "rooms.sqlite3"
    try:
        error = await failure_of(SQLiteRoomStore(str(path), reactor).start(), StorageUnavailable)
    finally:
        locked.chmod(0o755)
    assert str(error) == (f"cannot open SQLite database {path}: directory {locked} is not writable")


@pytest_twisted.ensureDeferred
async def test_sqlite_relative_path_is_inside_the_state_dir(tmp_path: Path) -> None:
    context = SimpleNamespace(reactor=reactor, state_dir=str(tmp_path))
    store = SQLiteRoomStore.fromConfig({"path": "db/rooms.sqlite3"}, context)
    assert store.path == str(tmp_path / "db" / "rooms.sqlite3")
    absolute = SQLiteRoomStore.fromConfig({"path": str(tmp_path / "x.db")}, context)
    assert absolute.path == str(tmp_path / "x.db")
    (tmp_path / "db").mkdir()
    await store.start()
    try:
        assert (tmp_path / "db" / "rooms.sqlite3").exists()
        assert (tmp_path / "db" / "rooms.sqlite3-wal").exists()
    finally:
        await store.stop()


@pytest_twisted.ensureDeferred
async def test_memory_store_builds_from_config() -> None:
    store = MemoryRoomStore.fromConfig({}, SimpleNamespace(reactor=reactor, state_dir="/x"))
    assert provides_room_store(store)
    await store.start()
    room = await store.create_room("Built", public=True)
    assert await store.get_room_by_sid(room.hub_sid) == room
    assert await store.list_public_rooms() == [room]
    await store.stop()


def test_postgres_store_builds_from_config() -> None:
    context = SimpleNamespace(reactor=reactor, state_dir="/nonexistent")
    options = {"dsn": "host=db dbname=hubs", "pool_size": 3, "connect_timeout": 2.5,
               "retry_interval": 0.5}  # fmt: skip
    store = PostgresRoomStore.fromConfig(options, context)
    assert store.where == "host db database hubs"


@pytest_twisted.ensureDeferred
async def test_unreachable_postgres_is_reported_quickly_without_the_password() -> None:
    dsn = "host=127.0.0.1 port=1 user=hubsd password=sekrit dbname=rooms"
    started = time.monotonic()
    store = PostgresRoomStore(dsn, reactor, pool_size=2, connect_timeout=3)
    error = await failure_of(store.start(), StorageUnavailable)
    assert time.monotonic() - started < 5
    message = str(error)
    assert message.startswith("cannot connect to PostgreSQL at host 127.0.0.1:1 database rooms: ")
    assert "sekrit" not in message
    assert "\n" not in message


@pytest_twisted.ensureDeferred
async def test_postgres_url_dsn_is_described_without_the_password() -> None:
    store = PostgresRoomStore("postgresql://hubsd:sekrit@127.0.0.1:1/rooms", reactor)
    error = await failure_of(store.start(), StorageUnavailable)
    assert "host 127.0.0.1:1 database rooms" in str(error)
    assert "sekrit" not in str(error)


@pytest_twisted.ensureDeferred
async def test_unstarted_store_is_unavailable(sql_backend: Backend) -> None:
    store: Any = sql_backend.make()
    await failure_of(store.list_rooms(), StorageUnavailable)


@pytest_twisted.ensureDeferred
async def test_silent_postgres_gives_up_after_connect_timeout() -> None:
    # A socket that accepts connections and never answers: libpq would wait forever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        store = PostgresRoomStore(
            f"host=127.0.0.1 port={port} dbname=rooms", reactor, pool_size=2, connect_timeout=0.5
        )
        started = time.monotonic()
        error = await failure_of(store.start(), StorageUnavailable)
        assert 0.4 < time.monotonic() - started < 3
    assert str(error) == (
        f"cannot connect to PostgreSQL at host 127.0.0.1:{port} database rooms: "
        "no answer within 0.5s"
    )
