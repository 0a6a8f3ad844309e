"""
L{PostgresRoomStore}: the L{IRoomStore} for production and for several nodes.

Queries run on txpostgres's asynchronous psycopg2 connections, so nothing
blocks the reactor. If the server goes away, the failing call errbacks with
L{StorageUnavailable}, the loss is logged, and the connections come back on
their own (see L{hubsd.storage.postgres_connection}). Migrations are taken
under an advisory lock, so nodes starting together apply each one once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
from twisted.internet.defer import CancelledError, Deferred, DeferredList, FirstError, fail
from twisted.internet.defer import TimeoutError as DeferredTimeout
from twisted.logger import Logger
from twisted.python.failure import Failure
from txpostgres.reconnection import ConnectionDead
from txpostgres.txpostgres import RollbackFailed
from zope.interface import implementer

from hubsd.interfaces import IRoomStore
from hubsd.storage.errors import StorageUnavailable
from hubsd.storage.migrate import (
    DEFAULT_MIGRATIONS,
    Migration,
    failed,
    load_migrations,
    pending_migrations,
)
from hubsd.storage.postgres_connection import ReconnectingPool, describe_dsn, one_line, within
from hubsd.storage.postgres_content import PostgresContentQueries
from hubsd.storage.postgres_logins import PostgresLoginQueries
from hubsd.storage.records import utcnow

T = TypeVar("T")

# An arbitrary constant shared by every hubsd node: the advisory lock key
# that serializes migrations.
_MIGRATION_LOCK = 0x68756273

_CONNECTION_ERRORS = (
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
    ConnectionDead,
    RollbackFailed,
)


@implementer(IRoomStore)
class PostgresRoomStore(PostgresLoginQueries, PostgresContentQueries):
    """
    An L{IRoomStore} in a PostgreSQL database.

    @param dsn: libpq connection string or URL.
    @param pool_size: Connections kept open.
    @param connect_timeout: Seconds to wait for a connection before giving up.
    @param retry_interval: Seconds between reconnection attempts.
    @param migrations: Directory of numbered migrations (see L{hubsd.storage.migrate}).
    @param clock: Returns the current aware UTC datetime (injectable for tests).
    """

    log = Logger()

    def __init__(
        self,
        dsn: str,
        reactor: Any = None,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        retry_interval: float = 5.0,
        migrations: str | Path = DEFAULT_MIGRATIONS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self._dsn = dsn
        self.where = describe_dsn(dsn)
        self._reactor = reactor
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._retry_interval = retry_interval
        self._migrations = migrations
        self._clock = clock
        self._pool: ReconnectingPool | None = None
        self._in_flight: set[Deferred[Any]] = set()

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> PostgresRoomStore:
        """
        Build from C{[storage]} options C{dsn}, C{pool_size}, C{connect_timeout}
        and C{retry_interval} (seconds). Nothing connects until L{start}.

        @raise ValueError: if C{dsn} is missing.
        """
        dsn = options.get("dsn")
        if not dsn:
            raise ValueError("[storage] dsn is required by the postgres backend")
        return cls(
            dsn,
            context.reactor,
            pool_size=int(options.get("pool_size", 4)),
            connect_timeout=float(options.get("connect_timeout", 10.0)),
            retry_interval=float(options.get("retry_interval", 5.0)),
        )

    def start(self) -> Deferred[None]:
        """
        Connect and apply pending migrations.

        @return: Deferred[None]; fails with L{StorageUnavailable} ("cannot
            connect to PostgreSQL at host H database D: reason") within about
            C{connect_timeout} seconds, L{SchemaTooNew} or
            L{hubsd.storage.errors.MigrationFailed}.
        """
        return Deferred.fromCoroutine(self._start())

    async def _start(self) -> None:
        migrations = load_migrations(self._migrations, "postgres")
        pool = ReconnectingPool(
            self._reactor,
            self._dsn,
            self._pool_size,
            self._retry_interval,
            self._connect_timeout,
        )
        try:
            await within(pool.start(), self._connect_timeout, self._reactor)
        except Exception as e:
            pool.close()
            reason: object = e.subFailure.value if isinstance(e, FirstError) else e
            if isinstance(reason, DeferredTimeout | CancelledError):
                reason = f"no answer within {self._connect_timeout:g}s"
            raise StorageUnavailable(
                f"cannot connect to PostgreSQL at {self.where}: "
                f"{one_line(reason) or type(reason).__name__}"
            ) from None
        self._pool = pool
        try:
            await self._migrate(migrations)
        except BaseException:
            self._pool = None
            pool.close()
            raise
        self.log.info("PostgreSQL room store connected to {where}", where=self.where)

    async def _migrate(self, migrations: list[Migration]) -> None:
        async def prepare(cursor: Any) -> list[int]:
            await cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await cursor.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
            )
            await cursor.execute("SELECT version FROM schema_migrations")
            return [row[0] for row in cursor.fetchall()]

        applied = await self._interaction(prepare)
        for migration in pending_migrations(migrations, applied):
            await self._interaction(self._applier(migration))

    def _applier(self, migration: Migration) -> Callable[[Any], Awaitable[None]]:
        async def apply(cursor: Any) -> None:
            await cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await cursor.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,)
            )
            if cursor.fetchone() is not None:
                return  # another node applied it while we waited for the lock
            try:
                await cursor.execute(migration.sql)
            except psycopg2.Error as e:
                raise failed(migration, one_line(e)) from e
            await cursor.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                (migration.version, self._clock()),
            )
            self.log.info("applied schema migration {version}", version=migration.version)

        return apply

    def stop(self) -> Deferred[None]:
        """
        Wait for calls in flight to finish, then close every connection and
        stop reconnecting. Deferred[None].
        """
        pool, self._pool = self._pool, None
        waiting = DeferredList([_settled(d) for d in self._in_flight])

        def close(_: object) -> None:
            if pool is not None:
                pool.close()

        return waiting.addCallback(close)

    # The primitives the queries (postgres_rooms, postgres_content) build on.

    def _call(self, work: Coroutine[Any, Any, T]) -> Deferred[T]:
        """Run a store operation: track it for L{stop}, map connection errors."""
        if self._pool is None:
            work.close()
            return fail(StorageUnavailable(f"PostgreSQL room store {self.where} is not started"))
        d = Deferred.fromCoroutine(work)
        self._in_flight.add(d)
        d.addBoth(self._done, d)
        return d

    def _done(self, result: Any, d: Deferred[Any]) -> Any:
        self._in_flight.discard(d)
        if isinstance(result, Failure) and result.check(*_CONNECTION_ERRORS):
            self.log.warn(
                "PostgreSQL at {where} unavailable: {reason}",
                where=self.where,
                reason=one_line(result.value),
            )
            return Failure(
                StorageUnavailable(
                    f"PostgreSQL at {self.where} is unavailable: {one_line(result.value)}"
                )
            )
        return result

    async def _interaction(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run C{work(cursor)} in one transaction on a pooled connection."""
        if self._pool is None:
            raise StorageUnavailable(f"PostgreSQL room store {self.where} is not started")

        def run(cursor: Any) -> Deferred[T]:
            return Deferred.fromCoroutine(_as_coroutine(work(cursor)))

        result: T = await self._pool.runInteraction(run)
        return result

    async def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement outside an explicit transaction; its rows."""
        if self._pool is None:
            raise StorageUnavailable(f"PostgreSQL room store {self.where} is not started")
        rows: list[tuple[Any, ...]] = await self._pool.runQuery(sql, params)
        return rows


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _settled(d: Deferred[Any]) -> Deferred[None]:
    """Fires with None when C{d} fires, leaving C{d}'s result to its own callers."""
    settled: Deferred[None] = Deferred()

    def passThrough(result: Any) -> Any:
        settled.callback(None)
        return result

    d.addBoth(passThrough)
    return settled
