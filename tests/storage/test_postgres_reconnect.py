"""
PostgreSQL going away while hubsd runs: calls fail with StorageUnavailable,
the loss is logged, and the store comes back by itself when the server does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.logger import LogEvent, formatEvent, globalLogPublisher

from hubsd.storage.errors import StorageUnavailable
from hubsd.storage.postgres import PostgresRoomStore

from .conftest import PgServer, create_database


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
        # Both pooled connections work again, not just one.
        assert [await store.get_room(room.hub_id) for _ in range(4)] == [room] * 4
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
