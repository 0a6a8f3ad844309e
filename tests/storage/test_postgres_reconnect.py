"""
PostgreSQL going away while hubsd runs: calls fail with StorageUnavailable,
the loss is logged, and the store comes back by itself when the server does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.logger import LogEvent, formatEvent, globalLogPublisher

from hubsd.storage.errors import NotFound, StorageUnavailable
from hubsd.storage.postgres import PostgresRoomStore
from hubsd.storage.postgres_connection import within
from tests.postgres import PgServer, create_database

from .helpers import failure_of


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """The text of every log event emitted during the test."""
    messages: list[str] = []

    def observe(event: LogEvent) -> None:
        messages.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield messages
    globalLogPublisher.removeObserver(observe)


async def until_available(store: Any, hub_id: int, seconds: float) -> tuple[Any, int]:
    """Retry get_room until it works; the room and the failures seen meanwhile."""
    deadline = time.monotonic() + seconds
    failures = 0
    while True:
        try:
            return await store.get_room(hub_id), failures
        except StorageUnavailable:
            failures += 1
            if time.monotonic() > deadline:
                raise
        await deferLater(reactor, 0.1, lambda: None)


def backends(server: PgServer, dbname: str, besides: int) -> list[tuple[int, str | None]]:
    """(pid, wait_event_type) of each server process on C{dbname} but C{besides}."""
    conn = server.admin()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT pid, wait_event_type FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> %s ORDER BY pid",
                (dbname, besides),
            )
            return list(cursor.fetchall())
    finally:
        conn.close()


async def both_connections_work(store: Any, room: Any, server: PgServer, dbname: str) -> None:
    """
    Prove that each of the store's two pooled connections runs a query: hold
    one busy (its query waits for a table lock held here), then the other
    must answer while the first still waits, and the first must answer once
    the lock is released. Calls one after the other would all go to one
    connection (the pool hands out the one just put back).
    """
    locker = psycopg2.connect(server.dsn(dbname), connect_timeout=3)
    try:
        with locker.cursor() as cursor:
            cursor.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        held = store.get_account(42)
        deadline = time.monotonic() + 10
        pool = backends(server, dbname, locker.get_backend_pid())
        while [wait for _, wait in pool].count("Lock") != 1:
            assert not held.called, f"the held call did not wait for the lock: {held.result!r}"
            assert time.monotonic() < deadline, f"the held call never waited: {pool}"
            await deferLater(reactor, 0.05, lambda: None)
            pool = backends(server, dbname, locker.get_backend_pid())
        assert len(pool) == 2, f"the store should have two connections: {pool}"
        # The other connection answers while the first one waits.
        assert await within(store.get_room(room.hub_id), 5, reactor) == room
        assert not held.called
    finally:
        locker.rollback()
        locker.close()
    # The held connection answers too, once it may read accounts.
    await failure_of(within(held, 5, reactor), NotFound)


@pytest_twisted.ensureDeferred
async def test_killed_connections_come_back(pg_server: PgServer, logged: list[str]) -> None:
    dsn, drop = create_database(pg_server)
    store = PostgresRoomStore(dsn, reactor, pool_size=2, retry_interval=0.2)
    try:
        await store.start()
        room = await store.create_room("Survivor")
        dbname = dsn.rsplit("=", 1)[1]
        admin = pg_server.admin()
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (dbname,),
            )
        admin.close()
        again, _ = await until_available(store, room.hub_id, 10)
        assert again == room
        await both_connections_work(store, room, pg_server, dbname)
    finally:
        await store.stop()
        drop()
    assert any("lost connection to PostgreSQL" in m for m in logged)


@pytest_twisted.ensureDeferred
async def test_store_outlives_a_server_restart(
    private_pg_server: PgServer, logged: list[str]
) -> None:
    dsn, drop = create_database(private_pg_server)
    store = PostgresRoomStore(dsn, reactor, pool_size=2, retry_interval=0.2, connect_timeout=2)
    try:
        await store.start()
        room = await store.create_room("Phoenix")
        await deferToThread(private_pg_server.pg_ctl, "stop")
        for _ in range(3):
            error = None
            try:
                await store.get_room(room.hub_id)
            except StorageUnavailable as e:
                error = e
            assert error is not None, "a call succeeded while the server was down"
            assert "127.0.0.1" in str(error)
        await deferToThread(private_pg_server.pg_ctl, "start")
        again, _ = await until_available(store, room.hub_id, 15)
        assert again == room
        assert (await store.create_room("After")).name == "After"
    finally:
        await store.stop()
        drop()
    assert any("reconnected to PostgreSQL" in m for m in logged)
