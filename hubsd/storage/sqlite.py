"""
L{SQLiteRoomStore}: the embedded default L{IRoomStore}, one file in the state dir.

All SQLite work runs on one dedicated thread (an C{adbapi} pool of exactly one
connection), so the reactor never waits on the disk and SQLite never sees two
writers from this process. The connection is in autocommit mode: a single
statement is atomic by itself, and every write of several statements (and
every migration) runs inside an explicit C{BEGIN IMMEDIATE ... COMMIT},
because Python's implicit transactions do not cover DDL.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from twisted.enterprise import adbapi
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from hubsd.interfaces import IRoomStore
from hubsd.storage.errors import Conflict, StorageError, StorageUnavailable
from hubsd.storage.migrate import DEFAULT_MIGRATIONS, Migration, load_migrations
from hubsd.storage.records import utcnow
from hubsd.storage.sqlite_content import SQLiteContentQueries
from hubsd.storage.sqlite_logins import SQLiteLoginQueries
from hubsd.storage.sqlite_rows import (
    SCHEMA_MIGRATIONS_TABLE,
    apply_migrations,
)


@implementer(IRoomStore)
class SQLiteRoomStore(SQLiteLoginQueries, SQLiteContentQueries):
    """
    An L{IRoomStore} in one SQLite file (WAL mode, foreign keys on).

    @param path: The database file; its directory must exist and be writable.
    @param reactor: The reactor whose thread pool machinery C{adbapi} uses.
    @param migrations: Directory of numbered migrations (see L{hubsd.storage.migrate}).
    @param clock: Returns the current aware UTC datetime (injectable for tests).
    """

    log = Logger()

    def __init__(
        self,
        path: str,
        reactor: Any = None,
        migrations: str | Path = DEFAULT_MIGRATIONS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.path = path
        self._reactor = reactor
        self._migrations = migrations
        self._clock = clock
        self._pool: adbapi.ConnectionPool | None = None

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> SQLiteRoomStore:
        """
        Build from C{[storage]} options: C{path} (default C{hubsd.sqlite3}),
        relative to C{context.state_dir}. Nothing is opened until L{start}.
        """
        path = os.path.join(context.state_dir, options.get("path") or "hubsd.sqlite3")
        return cls(path, context.reactor)

    def start(self) -> Deferred[None]:
        """
        Open the database and apply pending migrations.

        @return: Deferred[None]; fails with L{StorageUnavailable} (naming the
            path) if the file cannot be opened or written, L{SchemaTooNew} or
            L{hubsd.storage.errors.MigrationFailed}.
        """
        problem = self._pathProblem()
        if problem is not None:
            return fail(StorageUnavailable(f"cannot open SQLite database {self.path}: {problem}"))
        try:
            migrations = load_migrations(self._migrations, "sqlite")
        except StorageError:
            return fail()
        self._pool = adbapi.ConnectionPool(
            "sqlite3",
            self.path,
            check_same_thread=False,
            isolation_level=None,
            cp_min=1,
            cp_max=1,
            cp_openfun=self._configure,
            cp_reactor=self._reactor,
        )
        d = self._run(self._migrate, migrations)

        def started(_: object) -> None:
            self.log.info("SQLite room store open at {path}", path=self.path)

        def failedToStart(reason: Failure) -> Failure:
            self._closePool()
            if reason.check(sqlite3.Error, OSError):
                return Failure(
                    StorageUnavailable(f"cannot open SQLite database {self.path}: {reason.value}")
                )
            return reason

        d.addCallbacks(started, failedToStart)
        return d

    def _pathProblem(self) -> str | None:
        """Why the database cannot be opened for writing, if that is clear up front."""
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            return f"directory {directory} does not exist or is not a directory"
        # WAL mode creates -wal and -shm files next to the database.
        if not os.access(directory, os.W_OK | os.X_OK):
            return f"directory {directory} is not writable"
        if os.path.exists(self.path) and not os.access(self.path, os.R_OK | os.W_OK):
            return "the file is not readable and writable"
        return None

    def stop(self) -> Deferred[None]:
        """
        Let queued work finish, then close the connection and its thread.
        Deferred[None].
        """
        if self._pool is None:
            return succeed(None)
        # The no-op queues behind pending writes, so closing joins an idle thread.
        d = self._pool.runWithConnection(lambda conn: None)
        d.addBoth(lambda _: self._closePool())
        return d

    def _closePool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    @staticmethod
    def _configure(conn: sqlite3.Connection) -> None:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")

    def _run(self, work: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """Run C{work(conn, *args)} on the database thread, mapping driver errors."""
        if self._pool is None:
            return fail(StorageUnavailable(f"SQLite room store {self.path} is not started"))
        return self._pool.runWithConnection(self._guarded, work, *args)

    def _guarded(self, conn: sqlite3.Connection, work: Callable[..., Any], *args: Any) -> Any:
        try:
            return work(conn, *args)
        except sqlite3.IntegrityError as e:
            raise Conflict(str(e)) from e
        except sqlite3.Error as e:
            raise StorageUnavailable(f"cannot use SQLite database {self.path}: {e}") from e

    def _migrate(self, conn: sqlite3.Connection, migrations: list[Migration]) -> None:
        # Opening errors (unwritable file, not a database) surface here first.
        try:
            conn.execute(SCHEMA_MIGRATIONS_TABLE)
        except sqlite3.Error as e:
            raise StorageUnavailable(f"cannot open SQLite database {self.path}: {e}") from e
        for version in apply_migrations(conn, migrations, self._clock()):
            self.log.info("applied schema migration {version}", version=version)
