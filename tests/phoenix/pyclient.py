"""A small Phoenix V2 client over Autobahn's websocket, for tests in this process."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.task import deferLater

from tests.rooms.wampclient import connect as wamp_connect

if TYPE_CHECKING:
    from hubsd.service import HubsdService


class _Protocol(WebSocketClientProtocol):
    client: PhoenixClient

    def onOpen(self) -> None:
        self.client.opened.callback(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.client.frames.append(json.loads(payload))

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.client.close = (code, reason)


class PhoenixClient:
    """Frames received in C{frames}; C{push} sends, C{request} waits for the reply."""

    def __init__(self) -> None:
        self.frames: list[list[Any]] = []
        self.opened: Deferred[_Protocol] = Deferred()
        self.close: tuple[int | None, str | None] | None = None
        self.proto: _Protocol | None = None
        self._refs = itertools.count(1)
        self.join_refs: dict[str, str] = {}

    def push(self, topic: str, event: str, payload: dict[str, Any]) -> str:
        ref = str(next(self._refs))
        join_ref = ref if event == "phx_join" else self.join_refs.get(topic)
        if event == "phx_join":
            self.join_refs[topic] = ref
        assert self.proto is not None
        self.proto.sendMessage(json.dumps([join_ref, ref, topic, event, payload]).encode())
        return ref

    async def request(self, topic: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ref = self.push(topic, event, payload)
        frame = await self.wait(lambda f: f[1] == ref and f[3] == "phx_reply")
        reply: dict[str, Any] = frame[4]
        return reply

    async def wait(self, pred: Any, seconds: float = 10.0) -> list[Any]:
        waited = 0.0
        while True:
            for f in self.frames:
                if pred(f):
                    return f
            if waited > seconds:
                raise AssertionError(f"no matching frame in {seconds}s: {self.frames!r}")
            await deferLater(reactor, 0.02, lambda: None)
            waited += 0.02

    def pushes(self, event: str) -> list[Any]:
        return [f[4] for f in self.frames if f[3] == event]

    async def join_hub(self, sid: str, name: str, **extra: Any) -> dict[str, Any]:
        params = {"profile": {"displayName": name, "avatarId": "a"}, "context": {}, **extra}
        reply = await self.request(f"hub:{sid}", "phx_join", params)
        assert reply["status"] == "ok", reply
        await self.wait(lambda f: f[3] == "presence_state" and f[2] == f"hub:{sid}")
        return dict(reply["response"])


async def connect(port: int, query: str = "vsn=2.0.0") -> PhoenixClient:
    client = PhoenixClient()
    url = f"ws://127.0.0.1:{port}/socket/websocket?{query}"
    factory = WebSocketClientFactory(url)

    def build() -> _Protocol:
        p = _Protocol()
        p.factory = factory
        p.client = client
        return p

    factory.buildProtocol = lambda addr: build()  # type: ignore[method-assign]
    await TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
    client.proto = await client.opened
    return client


async def create_room(service: HubsdService, **fields: Any) -> dict[str, Any]:
    creator = await wamp_connect(service.test_port)  # type: ignore[attr-defined]
    try:
        created: dict[str, Any] = await creator.call("create", name="Phoenix room", **fields)
    finally:
        creator.leave()
    return created
