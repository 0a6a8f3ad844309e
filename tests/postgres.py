"""
A real PostgreSQL server for the tests, written once and shared.

The C{pg_server} fixture is the local server at 127.0.0.1:5432 (user
postgres, trust auth) or, if none answers, a private one started from the
installed binaries in a temporary directory; C{pg_dsn} is a freshly created
database with a unique name, dropped after the test. If neither server can
be had the PostgreSQL tests fail, loudly, instead of being skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest

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
