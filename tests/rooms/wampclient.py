"""A hubsd daemon in this process and room members as real Autobahn clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig, PublishOptions
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint

from hubsd.config import load_config
from hubsd.service import HubsdService
from tests.conftest import free_port
from tests.wamp.harness import Client, Inbox, timeout

#: Every topic of a room a member listens to.
ROOM_TOPICS = (
    "naf",
    "chat",
    "presence",
    "refresh",
    "closed",
    "pins",
    "kicked",
    "muted",
    "roles",
    "blocked",
)


def write_config(
    state_dir: Path,
    port: int,
    storage: str = "",
    rooms: str = "",
    extra: str = "",
    hubsd: str = "",
    files: str = "",
) -> Path:
    """A config for a daemon on C{port} keeping its state in C{state_dir};
    C{hubsd}: more keys of [hubsd], C{extra}: more sections, C{files}: the
    [files] section (the memory backend by default)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ini = state_dir / "hubsd.ini"
    ini.write_text(
        f"[hubsd]\nstate_dir = {state_dir}\n{hubsd}\n"
        f"[listen]\nweb = tcp:{port}:interface=127.0.0.1\n"
        f"[storage]\n{storage or 'backend = sqlite'}\n"
        f"[files]\n{files or 'backend = memory'}\n"
        f"[rooms]\n{rooms}\n{extra}"
    )
    return ini


async def start_daemon(ini: Path) -> HubsdService:
    service = HubsdService(load_config(str(ini)), reactor)
    service.startService()
    await timeout(service.ready, 15)
    return service


class Member:
    """One room member: an Autobahn session plus an inbox per room topic."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.inbox: dict[str, Inbox] = {}
        self.joined: dict[str, Any] = {}
        self.snapshot: dict[str, Any] = {}
        self.session_id = ""
        self.session_token = ""

    async def call(self, procedure: str, *args: Any, **kwargs: Any) -> Any:
        return await timeout(self.client.call("hubsd.room." + procedure, *args, **kwargs))

    async def join(
        self, hub_sid: str, name: str = "Ann", subscribe: bool = True, **extra: Any
    ) -> Any:
        """join, subscribe to the room's topics, enter."""
        self.joined = await self.call(
            "join",
            hub_sid=hub_sid,
            **{k: v for k, v in extra.items() if k in ("invite", "creator_token")},
        )
        self.session_id = self.joined["session_id"]
        self.session_token = self.joined["session_token"]
        if subscribe:
            for kind in ROOM_TOPICS:
                inbox = self.inbox[kind] = Inbox()
                await timeout(self.client.subscribe(inbox, f"hubsd.room.{hub_sid}.{kind}"))
        profile = extra.get("profile", {"displayName": name, "avatarId": "a1"})
        self.snapshot = await self.call(
            "enter", hub_sid=hub_sid, profile=profile, context={"mobile": False}
        )
        return self.joined

    async def publish(
        self, hub_sid: str, kind: str, acknowledge: bool = True, **kwargs: Any
    ) -> Any:
        options = PublishOptions(acknowledge=acknowledge)
        return await timeout(
            self.client.publish(f"hubsd.room.{hub_sid}.{kind}", options=options, **kwargs)
        )

    def leave(self) -> None:
        if self.client.is_attached():
            self.client.leave()


async def connect(port: int, ticket: str | None = None, serializer: str = "json") -> Member:
    """A new WAMP session in realm hubsd, anonymous or with a ticket."""
    joined: Deferred[Any] = Deferred()

    def make() -> Client:
        client = Client(ComponentConfig("hubsd"))
        client.joined, client.left, client.realm_name = joined, Deferred(), "hubsd"
        if ticket is not None:
            client.authmethods, client.authid, client.secret = ["ticket"], "member", ticket
        return client

    ser = JsonSerializer() if serializer == "json" else MsgPackSerializer()
    factory = WampWebSocketClientFactory(make, url=f"ws://127.0.0.1:{port}/ws", serializers=[ser])
    await TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
    return Member(await timeout(joined))


__all__ = ["Member", "connect", "free_port", "start_daemon", "write_config", "ROOM_TOPICS"]


async def until(inbox: Inbox, predicate: Any, seconds: float = 5.0) -> list[Any]:
    """Wait until one of C{inbox}'s events (args, kwargs) satisfies C{predicate}."""
    from twisted.internet.task import deferLater

    waited = 0.0
    while True:
        hits = [e for e in inbox.events if predicate(e[1])]
        if hits:
            return hits
        if waited >= seconds:
            raise AssertionError(f"no matching event in {seconds}s: {inbox.events!r}")
        await deferLater(reactor, 0.02, lambda: None)
        waited += 0.02
