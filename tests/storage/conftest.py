"""
Fixtures for the room store suite: one C{backend} fixture per implementation
(memory, sqlite, postgres) so every test runs against all three.

PostgreSQL is real and hermetic: each test gets a freshly created database
(the C{pg_dsn} fixture of tests/conftest.py, see tests/postgres.py).
"""

from __future__ import annotations

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
