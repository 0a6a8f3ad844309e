"""
The routers under test, started pinned to one core, and their /proc figures.

Each router gets a fresh temporary directory with its config and log, a free
loopback port, and is run under ``taskset -c <core>``. ``pid`` is the process
doing the routing (for Crossbar, the router worker, a child of the node
controller), whose CPU time and RSS the benchmark reports.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CROSSBAR = REPO / "bench" / ".venv-crossbar" / "bin" / "crossbar"
#: The tree hubsd runs from: this one, or HUBSD_TREE (e.g. to try a branch).
TREE = Path(os.environ.get("HUBSD_TREE") or REPO)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of C{pid}, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def core_busy(core: int) -> float:
    """Seconds core C{core} has spent busy (not idle or waiting), from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                ticks = [int(x) for x in line.split()[1:]]
                return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK
    raise ValueError(f"no cpu{core} in /proc/stat")


def rss_bytes(pid: int) -> int:
    """Resident set size of C{pid}, from /proc/PID/statm."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def children(pid: int) -> list[int]:
    """Direct children of C{pid}."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


class Router(ABC):
    """A router process under test."""

    name = "?"
    path = "/ws"

    def __init__(self, core: int = 0) -> None:
        self.core = core
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.log = self.dir / "router.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.pid = 0

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that starts this router."""

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def find_pid(self) -> int | None:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> Router:
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", str(self.core), *self.command()],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
                cwd=self.dir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                raise RuntimeError(f"{self.name} exited {status}:\n{self.output()}")
            pid = self.find_pid()
            if pid and self._port_open():
                self.pid = pid
                return self
            time.sleep(0.1)
        output = self.output()
        self.stop()
        raise RuntimeError(f"{self.name} not listening after {timeout}s:\n{output}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


class Hubsd(Router):
    """``python -m hubsd --config FILE`` with a bench config (open anonymous role)."""

    name = "hubsd"
    #: The tree it runs from (a subclass may take another, e.g. for an A/B run).
    tree = TREE

    def __init__(
        self,
        core: int = 0,
        storage: str = "memory",
        extra_wamp: str = "",
        extra: str = "",
        sfu: str = "aiortc",
    ) -> None:
        super().__init__(core)
        (self.dir / "hubsd.ini").write_text(
            f"""[hubsd]
state_dir = {self.dir / "state"}
[listen]
web = tcp:{self.port}:interface=127.0.0.1
[wamp]
realms = hubsd
anonymous_role = anonymous
{extra_wamp}
[wamp.role:anonymous]
realm = hubsd
publish = *
subscribe = *
call = *
register = *
[storage]
backend = {storage}
[sfu]
backend = {sfu}
[log]
level = warn
{extra}"""
        )

    def command(self) -> list[str]:
        return [sys.executable, "-m", "hubsd", "--config", str(self.dir / "hubsd.ini")]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.tree) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


class HubsdRooms(Hubsd):
    """
    hubsd with the room rules on the members' path: the same daemon and config
    plus a C{[rooms]} section. The bench members join rooms through the room
    API, so their publications on ``hubsd.room.<sid>.naf`` go through the
    rate limiter, the NAF checks and the ownership table.
    """

    name = "hubsd-rooms"

    def __init__(
        self,
        core: int = 0,
        storage: str = "memory",
        extra_wamp: str = "",
        rate_messages: float = 100,
        room_size: int = 1000,
        sfu: str = "aiortc",
    ) -> None:
        # rate_messages: high enough that 10-15 Hz members are never dropped,
        # yet every publication still passes the limiter.
        rooms = f"[rooms]\nrate_messages = {rate_messages:g}\nmax_room_size = {room_size}\n"
        # Bench members do not heartbeat: no idle timeout on the Phoenix socket.
        super().__init__(core, storage, extra_wamp, rooms + "[phoenix]\nidle_timeout = 0\n", sfu)


class HubsdPhoenix(HubsdRooms):
    """The room-rules daemon with every member on the Phoenix socket (bench/phoenixload.py)."""

    name = "hubsd-phoenix"


class HubsdMixed(HubsdRooms):
    """The room-rules daemon with half of each room on Phoenix, half on WAMP."""

    name = "hubsd-mixed"


class Crossbar(Router):
    """Crossbar.io from bench/.venv-crossbar: one router worker, realm hubsd."""

    name = "crossbar"
    path = "/"

    def __init__(self, core: int = 0) -> None:
        super().__init__(core)
        if not CROSSBAR.exists():
            raise RuntimeError(f"{CROSSBAR} missing: run bench/setup-crossbar.sh first")
        everything = {"call": True, "register": True, "publish": True, "subscribe": True}
        config = {
            "version": 2,
            "controller": {},
            "workers": [
                {
                    "type": "router",
                    "realms": [
                        {
                            "name": "hubsd",
                            "roles": [
                                {
                                    "name": "anonymous",
                                    "permissions": [
                                        {
                                            "uri": "",
                                            "match": "prefix",
                                            "allow": everything,
                                            "disclose": {"caller": False, "publisher": False},
                                            "cache": True,
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                    "transports": [
                        {
                            "type": "websocket",
                            "endpoint": {
                                "type": "tcp",
                                "port": self.port,
                                "interface": "127.0.0.1",
                            },
                            "serializers": ["json", "msgpack"],
                            "auth": {"anonymous": {"type": "static", "role": "anonymous"}},
                        }
                    ],
                }
            ],
        }
        (self.dir / "config.json").write_text(json.dumps(config, indent=2))

    def command(self) -> list[str]:
        return [str(CROSSBAR), "start", "--cbdir", str(self.dir), "--loglevel", "warn"]

    def find_pid(self) -> int | None:
        # taskset execs the node controller; its child is the router worker,
        # which does the routing.
        assert self.process is not None
        workers = children(self.process.pid)
        return workers[0] if workers else None


ROUTERS: dict[str, type[Router]] = {
    "hubsd": Hubsd,
    "hubsd-rooms": HubsdRooms,
    "hubsd-phoenix": HubsdPhoenix,
    "hubsd-mixed": HubsdMixed,
    "crossbar": Crossbar,
}
