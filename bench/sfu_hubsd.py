"""
hubsd's SFU (``[sfu] backend = aiortc``) under the same generator as Janus.

The daemon runs from this tree (or ``HUBSD_TREE``) with a bench config: the
WAMP listener on 127.0.0.1, the SFU's media bound to the bench interface's
address, one media worker (a child process, so pinned to the same core), and
rooms big enough for the load. Each bench member is its own WAMP session, as
docs/sfu.md describes: the first creates the room, every member joins it
(``hubsd.room.join`` gives the perms token), enters, joins the room's SFU,
then publishes and subscribes with ``hubsd.sfu.publish`` /
``hubsd.sfu.subscribe`` / ``hubsd.sfu.answer``. hubsd has one subscriber
peer connection per (member, publisher), the ``per-publisher`` layout.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from pathlib import Path
from typing import Any

from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.types import ComponentConfig
from servers import Hubsd

PERMISSIONS = {"voice_chat": True, "text_chat": True}


class HubsdSfuProcess(Hubsd):
    name = "hubsd-sfu"

    def __init__(
        self, core: int, address: str, publishers: int, workers: int = 1, tree: Path | None = None
    ) -> None:
        if tree is not None:
            self.tree = tree
        sfu = (
            f"[sfu]\nbackend = aiortc\nbind_addresses = {address}\nworkers = {workers}\n"
            f"max_publishers = {publishers + 1}\nmax_handles = {publishers + 5}\n"
            # Hundreds of handshakes in a row: give each one time.
            "ice_timeout = 120s\n"
        )
        rooms = f"[rooms]\nmax_room_size = {max(publishers + 5, 30)}\n"
        super().__init__(core, "memory", "", rooms)
        # The base config has its own [sfu] section (backend only): this one replaces it.
        ini = self.dir / "hubsd.ini"
        text = ini.read_text()
        if "[sfu]\nbackend = aiortc\n" not in text:
            raise RuntimeError("bench/servers.py's hubsd config has no [sfu] section to replace")
        ini.write_text(text.replace("[sfu]\nbackend = aiortc\n", sfu, 1))

    def command(self) -> list[str]:
        # A tree tried with HUBSD_TREE has its own virtualenv: its Twisted
        # plugins (the SFU backends) are installed there, not in this one.
        python = self.tree / ".venv" / "bin" / "python"
        command = super().command()
        return [str(python), *command[1:]] if python.exists() else command


class _Session(ApplicationSession):
    def __init__(self, joined: asyncio.Future[_Session]) -> None:
        super().__init__(ComponentConfig("hubsd"))
        self._joined = joined

    def onJoin(self, details: Any) -> None:  # noqa: N802
        if not self._joined.done():
            self._joined.set_result(self)

    def onLeave(self, details: Any) -> None:  # noqa: N802
        if not self._joined.done():
            self._joined.set_exception(ConnectionError(f"WAMP session refused: {details}"))
        super().onLeave(details)


class HubsdAdapter:
    """The SFU interface of bench/sfu.py, over hubsd's ``hubsd.sfu.*`` procedures."""

    name = "hubsd"
    layouts = ("per-publisher",)

    def __init__(self, core: int, address: str, workers: int = 1, tree: Path | None = None) -> None:
        self.core, self.address, self.workers, self.tree = core, address, workers, tree
        self.process: HubsdSfuProcess | None = None
        self.members: dict[int, tuple[_Session, str]] = {}
        self.sid = ""
        self.subscriptions: dict[int, tuple[_Session, str]] = {}
        self._subs = itertools.count(1)
        #: (member, event) for every handle the server closed: why media stopped.
        self.closed: list[tuple[int, dict[str, Any]]] = []

    def describe(self) -> str:
        tree = f", from {self.tree}" if self.tree else ""
        return f"hubsd aiortc SFU, {self.workers} media worker(s){tree}"

    def log_tail(self) -> str:
        closed = "".join(f"member {m}: {kw}\n" for m, kw in self.closed[:20])
        log = self.process.output()[-6000:] if self.process else ""
        return f"{len(self.closed)} handles closed by the server; first ones:\n{closed}{log}"

    def pids(self) -> list[int]:
        assert self.process is not None
        return [self.process.pid]

    async def _session(self) -> _Session:
        assert self.process is not None
        loop = asyncio.get_running_loop()
        joined: asyncio.Future[_Session] = loop.create_future()
        port = self.process.port
        factory = WampWebSocketClientFactory(
            lambda: _Session(joined), url=f"ws://127.0.0.1:{port}/ws"
        )
        await loop.create_connection(factory, "127.0.0.1", port)
        return await asyncio.wait_for(joined, 30)

    async def start(self, publishers: int) -> None:
        self.process = HubsdSfuProcess(self.core, self.address, publishers, self.workers, self.tree)
        await asyncio.get_running_loop().run_in_executor(None, self.process.start)
        owner = await self._session()
        created = await owner.call(
            "hubsd.room.create",
            name="SFU bench",
            room_size=publishers + 1,
            member_permissions=PERMISSIONS,
        )
        self.sid = created["hub_sid"]
        self._creator = (owner, created["creator_token"])

    async def _member(self, member: int) -> tuple[_Session, str]:
        if member in self.members:
            return self.members[member]
        if member == 0:
            session, token = self._creator
            joined = await session.call("hubsd.room.join", hub_sid=self.sid, creator_token=token)
        else:
            session = await self._session()
            joined = await session.call("hubsd.room.join", hub_sid=self.sid)
        await session.call(
            "hubsd.room.enter",
            hub_sid=self.sid,
            profile={"displayName": f"Bench {member}"},
            context={"mobile": False},
        )

        def on_event(**kw: Any) -> None:
            if kw.get("event") in ("closed", "unpublished"):
                self.closed.append((member, kw))

        await session.subscribe(on_event, f"hubsd.sfu.{self.sid}.events")
        await session.call("hubsd.sfu.join", hub_sid=self.sid, perms_token=joined["perms_token"])
        self.members[member] = (session, joined["session_id"])
        return self.members[member]

    async def publish(self, member: int, offer: str) -> str:
        session, _ = await self._member(member)
        reply = await session.call("hubsd.sfu.publish", hub_sid=self.sid, sdp=offer)
        return str(reply["sdp"])

    async def subscribe(self, member: int, publishers: list[int]) -> tuple[int, str]:
        (publisher,) = publishers
        session, _ = await self._member(member)
        _, target = self.members[publisher]
        reply = await session.call("hubsd.sfu.subscribe", hub_sid=self.sid, session_id=target)
        sub = next(self._subs)
        self.subscriptions[sub] = (session, reply["handle_id"])
        return sub, str(reply["sdp"])

    async def start_subscription(self, sub: int, answer: str) -> None:
        session, handle = self.subscriptions[sub]
        await session.call("hubsd.sfu.answer", handle_id=handle, sdp=answer)

    async def stop(self) -> None:
        for session, _ in self.members.values():
            if session.is_attached():
                session.leave()
        if self.process is not None:
            keep = os.environ.get("SFU_BENCH_KEEP_LOG")
            if keep:
                shutil.copy(self.process.log, keep)
            await asyncio.get_running_loop().run_in_executor(None, self.process.stop)
