"""Fixtures shared by the whole suite: free ports and a real hubsd daemon."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.postgres import PgServer, create_database

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    """A hubsd process started from a config file, with its output captured."""

    config: Path
    port: int
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> Daemon:
        env = dict(os.environ, **self.extra_env)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.config.parent
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> Daemon:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"hubsd exited {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"hubsd not ready after {timeout}s:\n{self.output()}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator:
    """
    make(extra_ini, twistd=False) -> a not-yet-started Daemon on a free port
    with its state in tmp_path; every daemon is stopped at the end.
    """
    started: list[Daemon] = []

    def make(
        extra: str = "", twistd: bool = False, port: int | None = None, state_dir: str = ""
    ) -> Daemon:
        port = port or free_port()
        n = len(started)
        config = tmp_path / f"hubsd{n}.ini"
        config.write_text(
            f"[hubsd]\nstate_dir = {state_dir or tmp_path / f'state{n}'}\n"
            f"[listen]\nweb = tcp:{port}:interface=127.0.0.1\n" + extra
        )
        if twistd:
            args = [str(BIN / "twistd"), "-n", "--pidfile=", "hubsd", "--config", str(config)]
        else:
            args = [sys.executable, "-m", "hubsd", "--config", str(config)]
        daemon = Daemon(config, port, args, tmp_path / f"hubsd{n}.log")
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()


# -- PostgreSQL (tests/postgres.py) ---------------------------------------------


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


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> Iterator[str]:
    """The DSN of a fresh database, dropped after the test."""
    dsn, drop = create_database(pg_server)
    yield dsn
    drop()


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest) -> str:
    """The [storage] section of a daemon's config: SQLite, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return "backend = sqlite"
    dsn = request.getfixturevalue("pg_dsn")
    return f"backend = postgres\ndsn = {dsn}"
