"""
Janus (Debian's ``janus`` package) as an SFU under the same generator.

Janus runs from a fresh temporary directory with its own config: only the
videoroom plugin and the websocket API transport (127.0.0.1) are loaded (no HTTP, no Unix
sockets, no event handlers), ICE gathers on the loopback interface only,
no STUN/TURN, logging at warnings. Publishers join a videoroom and publish;
subscribers join as ``ptype: subscriber`` with the feeds they want, either one
subscriber handle (PeerConnection) per member with every other feed as a
stream (``per-member``, Janus 1.x multistream) or one handle per (member,
publisher) pair (``per-publisher``, the layout Hubs used with
janus-plugin-sfu).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from servers import Router

JANUS = "/usr/bin/janus"
LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")
ROOM = 1234


def _disable_all_but(folder: Path, keep: set[str]) -> str:
    names = sorted(p.name for p in folder.glob("*.so") if p.name not in keep)
    return ",".join(names)


class JanusProcess(Router):
    """``janus -F DIR`` with a bench config, the API on a websocket on 127.0.0.1."""

    name = "janus"

    def __init__(
        self, core: int = 0, event_loops: int = 1, log_level: int = 3, interface: str = "bench0"
    ) -> None:
        super().__init__(core)
        plugins = _disable_all_but(LIBDIR / "plugins", {"libjanus_videoroom.so"})
        transports = _disable_all_but(LIBDIR / "transports", {"libjanus_websockets.so"})
        loggers = _disable_all_but(LIBDIR / "loggers", set())
        events = _disable_all_but(LIBDIR / "events", set())
        loops = f"event_loops = {event_loops}" if event_loops else ""
        (self.dir / "janus.jcfg").write_text(
            f"""general: {{
\tconfigs_folder = "{self.dir}"
\tplugins_folder = "{LIBDIR / "plugins"}"
\ttransports_folder = "{LIBDIR / "transports"}"
\tevents_folder = "{LIBDIR / "events"}"
\tloggers_folder = "{LIBDIR / "loggers"}"
\tdebug_level = {log_level}
\tsession_timeout = 0
\t{loops}
}}
media: {{
\trtp_port_range = "30000-39999"
}}
nat: {{
\tnice_debug = false
\tice_enforce_list = "{interface}"
\tignore_mdns = true
}}
plugins: {{
\tdisable = "{plugins}"
}}
transports: {{
\tdisable = "{transports}"
}}
loggers: {{
\tdisable = "{loggers}"
}}
events: {{
\tbroadcast = false
\tdisable = "{events}"
}}
"""
        )
        (self.dir / "janus.transport.websockets.jcfg").write_text(
            f"""general: {{
\tjson = "compact"
\tws = true
\tws_port = {self.port}
\tws_ip = "127.0.0.1"
\twss = false
}}
admin: {{
\tadmin_ws = false
\tadmin_wss = false
}}
"""
        )
        (self.dir / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")

    def command(self) -> list[str]:
        return [JANUS, "-F", str(self.dir), "-C", str(self.dir / "janus.jcfg"), "-o"]


class _JanusSocket(WebSocketClientProtocol):
    api: JanusApi

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802, N803
        self.api.received(payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802, N803
        self.api.closed(reason)


class JanusApi:
    """The Janus JSON API over its websocket transport (subprotocol janus-protocol).

    (The Unix-socket transport would be leaner, but it drops messages over
    8 KB, and a subscriber's answer for 24 streams is larger.)
    """

    def __init__(self) -> None:
        self.socket: _JanusSocket | None = None
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.waiters: dict[int, asyncio.Event] = {}
        self._ids = itertools.count(1)
        self.session = 0

    async def connect(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/", protocols=["janus-protocol"])
        factory.protocol = _JanusSocket
        _, socket_ = await loop.create_connection(factory, "127.0.0.1", port)
        assert isinstance(socket_, _JanusSocket)
        socket_.api = self
        await socket_.is_open
        self.socket = socket_
        reply = await self.request({"janus": "create"})
        self.session = int(reply["data"]["id"])

    def received(self, data: bytes) -> None:
        msg = json.loads(data)
        kind = msg.get("janus")
        txn = msg.get("transaction")
        if kind == "ack":
            return
        if txn in self.pending and kind in ("success", "error", "event"):
            self.pending.pop(txn).set_result(msg)
            return
        sender = int(msg.get("sender", 0))
        self.events.setdefault(sender, []).append(msg)
        if sender in self.waiters:
            self.waiters[sender].set()

    def closed(self, reason: str | None) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"janus API socket closed: {reason}"))
        self.pending.clear()

    async def request(self, msg: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        assert self.socket is not None
        txn = str(next(self._ids))
        msg = dict(msg, transaction=txn)
        if self.session and "session_id" not in msg and msg["janus"] != "create":
            msg["session_id"] = self.session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[txn] = future
        self.socket.sendMessage(json.dumps(msg).encode())
        reply = await asyncio.wait_for(future, timeout)
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus error: {reply['error']}")
        return reply

    async def attach(self) -> int:
        reply = await self.request({"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return int(reply["data"]["id"])

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {"janus": "message", "handle_id": handle, "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        reply = await self.request(msg)
        data = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise RuntimeError(f"videoroom {body.get('request')}: {data['error']}")
        return reply

    async def wait_event(self, handle: int, kind: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("janus") == kind for e in self.events.get(handle, [])):
            event = self.waiters.setdefault(handle, asyncio.Event())
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} on janus handle {handle} after {timeout} s")
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    def close(self) -> None:
        if self.socket is not None:
            self.socket.sendClose()


class JanusAdapter:
    """The SFU interface of bench/sfu.py, over Janus's videoroom plugin."""

    name = "janus"
    layouts = ("per-member", "per-publisher")

    def __init__(self, core: int = 0, event_loops: int = 1, interface: str = "bench0") -> None:
        self.process = JanusProcess(core, event_loops, interface=interface)
        self.api = JanusApi()
        self.feeds: dict[int, int] = {}
        self.subscriptions: dict[int, int] = {}
        self._subs = itertools.count(1)

    def describe(self) -> str:
        loops = self.process.dir.joinpath("janus.jcfg").read_text()
        mode = "event_loops = 1" if "event_loops = 1" in loops else "a thread per handle"
        return f"janus 1.1.2 (Debian), videoroom, {mode}"

    def log_tail(self) -> str:
        return self.process.output()[-3000:]

    def pids(self) -> list[int]:
        return [self.process.pid]

    async def start(self, publishers: int) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.process.start)
        await self.api.connect(self.process.port)
        admin = await self.api.attach()
        await self.api.message(
            admin,
            {
                "request": "create",
                "room": ROOM,
                "publishers": publishers + 1,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "bitrate": 512000,
                "fir_freq": 0,
                "notify_joining": False,
                "audiolevel_ext": False,
                "audiolevel_event": False,
                "playoutdelay_ext": False,
                "transport_wide_cc_ext": False,
            },
        )

    async def publish(self, member: int, offer: str) -> str:
        handle = await self.api.attach()
        feed = 1000 + member
        await self.api.message(
            handle, {"request": "join", "ptype": "publisher", "room": ROOM, "id": feed}
        )
        reply = await self.api.message(
            handle, {"request": "publish"}, {"type": "offer", "sdp": offer}
        )
        self.feeds[member] = handle
        return str(reply["jsep"]["sdp"])

    async def published(self, member: int, timeout: float = 30.0) -> None:
        await self.api.wait_event(self.feeds[member], "webrtcup", timeout)

    async def subscribe(self, member: int, publishers: list[int]) -> tuple[int, str]:
        handle = await self.api.attach()
        reply = await self.api.message(
            handle,
            {
                "request": "join",
                "ptype": "subscriber",
                "room": ROOM,
                "streams": [{"feed": 1000 + p} for p in publishers],
            },
        )
        sub = next(self._subs)
        self.subscriptions[sub] = handle
        return sub, str(reply["jsep"]["sdp"])

    async def start_subscription(self, sub: int, answer: str) -> None:
        await self.api.message(
            self.subscriptions[sub], {"request": "start"}, {"type": "answer", "sdp": answer}
        )

    async def stop(self) -> None:
        self.api.close()
        await asyncio.get_running_loop().run_in_executor(None, self.process.stop)
