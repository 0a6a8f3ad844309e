"""
Fixtures for the room store suite: one C{backend} fixture per implementation
(memory, sqlite, postgres) so every test runs against all three.

PostgreSQL is real and hermetic: each test gets a freshly created database
with a unique name on the server at 127.0.0.1:5432 (user postgres, trust
auth), dropped afterwards. If no server answers there, a private one is
started from the installed binaries in a temporary directory. If neither
works the PostgreSQL tests fail, loudly, instead of being skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import pytest_twisted
from twisted.internet import reactor

from hubsd.storage.memory import MemoryRoomStore
from hubsd.storage.postgres import PostgresRoomStore
from hubsd.storage.sqlite import SQLiteRoomStore

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    host: str
    port: int
    user: str = "postgres"
    datadir: Path | None = None

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def admin(self) -> Any:
        conn = psycopg2.connect(self.dsn(), connect_timeout=3)
        conn.autocommit = True
        return conn

    def answers(self) -> bool:
        try:
            self.admin().close()
        except psycopg2.OperationalError:
            return False
        return True

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root.
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def pg_ctl(self, action: str) -> None:
        """Start or stop a private server (one we initdb'ed)."""
        assert self.datadir is not None, "only a private server can be started or stopped"
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses={self.host}"
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.datadir / "data"), "-w", "-m", "fast"]
        command += ["-o", options, "-l", str(self.datadir / "log"), action]
        subprocess.run(self._as_owner(*command), check=True, capture_output=True, timeout=60)

    @classmethod
    def private(cls) -> PgServer:
        """initdb a new cluster in a temporary directory and start it on a free port."""
        if not (PG_BIN / "initdb").exists():
            pytest.fail(f"no PostgreSQL at 127.0.0.1:5432 and no initdb in {PG_BIN}")
        datadir = Path(tempfile.mkdtemp(prefix="hubsd-pg-"))
        if os.geteuid() == 0:
            shutil.chown(datadir, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = cls("127.0.0.1", port, datadir=datadir)
        initdb = [str(PG_BIN / "initdb"), "-D", str(datadir / "data"), "-U", "postgres"]
        initdb += ["--auth=trust", "--no-sync"]
        subprocess.run(server._as_owner(*initdb), check=True, capture_output=True, timeout=120)
        server.pg_ctl("start")
        return server

    def destroy(self) -> None:
        if self.datadir is not None:
            try:
                self.pg_ctl("stop")
            finally:
                shutil.rmtree(self.datadir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The local PostgreSQL server, or a private one if none answers."""
    local = PgServer("127.0.0.1", 5432)
    if local.answers():
        yield local
        return
    try:
        server = PgServer.private()
    except (OSError, subprocess.SubprocessError) as e:
        pytest.fail(f"no PostgreSQL at 127.0.0.1:5432 and cannot start one: {e}")
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def private_pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server of our own, which a test may stop and restart."""
    server = PgServer.private()
    yield server
    server.destroy()


def create_database(server: PgServer) -> tuple[str, Callable[[], None]]:
    """A new, uniquely named database on C{server}: its DSN and a dropper."""
    name = f"hubsd_test_{uuid.uuid4().hex[:16]}"
    conn = server.admin()
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()

    def drop() -> None:
        conn = server.admin()
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    return server.dsn(name), drop


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> Iterator[str]:
    """The DSN of a fresh database, dropped after the test."""
    dsn, drop = create_database(pg_server)
    yield dsn
    drop()


@dataclass
class Backend:
    """
    Makes stores of one kind on one database, and stops them all at the end.

    @ivar durable: Whether a new store on the same database sees old data.
    @ivar sql: Runs and commits a statement on the database directly, returning
        its rows (None for memory).
    """

    name: str
    factory: Callable[..., Any]
    durable: bool
    sql: Callable[[str], list[tuple[Any, ...]]] | None = None
    stores: list[Any] = field(default_factory=list)

    def make(self, **options: Any) -> Any:
        store = self.factory(**options)
        self.stores.append(store)
        return store

    def started(self, **options: Any) -> Any:
        store = self.make(**options)
        pytest_twisted.blockon(store.start())
        return store

    def stop_all(self) -> None:
        for store in self.stores:
            pytest_twisted.blockon(store.stop())


def sqlite_query(path: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    import sqlite3

    def query(sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute(sql).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    return query


def pg_query(dsn: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def query(sql: str) -> list[tuple[Any, ...]]:
        conn = psycopg2.connect(dsn, connect_timeout=3)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                rows = cursor.fetchall() if cursor.description else []
            conn.commit()
            return rows
        finally:
            conn.close()

    return query


def make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "memory":
        return Backend(name, MemoryRoomStore, durable=False)
    if name == "sqlite":
        path = tmp_path / "rooms.sqlite3"

        def sqlite(**options: Any) -> SQLiteRoomStore:
            return SQLiteRoomStore(str(options.pop("path", path)), reactor, **options)

        return Backend(name, sqlite, durable=True, sql=sqlite_query(path))
    dsn = request.getfixturevalue("pg_dsn")

    def postgres(**options: Any) -> PostgresRoomStore:
        options.setdefault("connect_timeout", 5.0)
        options.setdefault("retry_interval", 0.2)
        return PostgresRoomStore(options.pop("dsn", dsn), reactor, pool_size=2, **options)

    return Backend(name, postgres, durable=True, sql=pg_query(dsn))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each store implementation in turn, on an empty database."""
    made = make_backend(request.param, request, tmp_path)
    yield made
    made.stop_all()


@pytest.fixture(params=["sqlite", "postgres"])
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each SQL store implementation in turn, on an empty database."""
    made = make_backend(request.param, request, tmp_path)
    yield made
    made.stop_all()


@pytest.fixture
def store(backend: Backend) -> Any:
    """A started store of each implementation."""
    return backend.started()
