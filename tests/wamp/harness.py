"""A router on a real TCP port and Autobahn clients joining it, for tests."""

from __future__ import annotations

from typing import Any

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.wamp import ApplicationSession
from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.wamp.auth import compute_wcs, derive_key
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.web.resource import Resource
from twisted.web.server import Site

from hubsd.wamp.router import Router
from hubsd.wamp.settings import Principal, RoleRules, RouterSettings
from hubsd.wamp.websocket import WampWebSocketFactory

TIMEOUT = 5.0
SERIALIZERS: dict[str, Any] = {
    "json": JsonSerializer,
    "msgpack": MsgPackSerializer,
    "cbor": CBORSerializer,
    "json.batched": lambda: JsonSerializer(batched=True),
}

OPEN_ROLE = RoleRules(
    name="anonymous",
    realm="realm1",
    publish=("*",),
    subscribe=("*",),
    call=("*",),
    register=("*",),
)
SETTINGS = RouterSettings(
    realms=("realm1",),
    principals=(
        Principal("alice", "realm1", "user", ticket="secret-ticket"),
        Principal("bob", "realm1", "user", wampcra_secret="bob-secret"),
    ),
    roles=(
        OPEN_ROLE,
        RoleRules("user", "realm1", publish=("com.user.*",), subscribe=("com.user.*",)),
    ),
)


def timeout(d: Deferred[Any], seconds: float = TIMEOUT) -> Deferred[Any]:
    """Guard a Deferred so a broken test fails instead of hanging."""
    return d.addTimeout(seconds, reactor)


class Client(ApplicationSession):
    """An Autobahn session that fires C{joined} or fails it on ABORT."""

    joined: Deferred[Any]
    left: Deferred[Any]
    realm_name = "realm1"
    authmethods: list[str] | None = None
    authid: str | None = None
    secret: str | None = None

    def onConnect(self) -> None:
        self.join(self.realm_name, self.authmethods, self.authid)

    def onChallenge(self, challenge: Any) -> Any:
        if challenge.method == "ticket":
            return self.secret
        assert self.secret is not None
        extra = challenge.extra
        key = self.secret.encode()
        if "salt" in extra:
            key = derive_key(key, extra["salt"].encode(), extra["iterations"], extra["keylen"])
        return compute_wcs(key, extra["challenge"].encode()).decode()

    def onJoin(self, details: Any) -> None:
        self.details = details
        self.joined.callback(self)

    def onLeave(self, details: Any) -> None:
        self.leave_details = details
        if not self.joined.called:
            self.joined.errback(RuntimeError(details.reason))
        if not self.left.called:
            self.left.callback(details)
        self.disconnect()


class Harness:
    """Starts the router on 127.0.0.1:0 and connects clients to it."""

    def __init__(self, settings: RouterSettings = SETTINGS) -> None:
        self.settings = settings
        self.router = Router(settings, reactor)
        self.router.startService()  # as the daemon does: the load shedder runs
        root = Resource()
        self.factory = WampWebSocketFactory(self.router, settings, reactor)
        root.putChild(b"ws", WebSocketResource(self.factory))
        self.port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")  # type: ignore
        self.clients: list[Client] = []

    @property
    def url(self) -> str:
        return "ws://127.0.0.1:%d/ws" % self.port.getHost().port

    async def connect(
        self,
        serializer: str = "json",
        realm: str = "realm1",
        authmethods: list[str] | None = None,
        authid: str | None = None,
        secret: str | None = None,
    ) -> Client:
        joined: Deferred[Any] = Deferred()
        left: Deferred[Any] = Deferred()

        def make() -> Client:
            c = Client(ComponentConfig(realm))
            c.joined, c.left, c.realm_name = joined, left, realm
            c.authmethods, c.authid, c.secret = authmethods, authid, secret
            self.clients.append(c)
            return c

        factory = WampWebSocketClientFactory(
            make, url=self.url, serializers=[SERIALIZERS[serializer]()]
        )
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port)
        await endpoint.connect(factory)
        return await timeout(joined)  # type: ignore[no-any-return]

    async def close(self) -> None:
        for c in self.clients:
            try:
                if c.is_attached():
                    c.leave()
            except Exception:  # noqa: S110 - already disconnected
                pass
            if c._transport is not None and c._transport.isOpen():
                c._transport.close()
        await self.port.stopListening()
        await self.router.stopService()


class Inbox:
    """Collects events of one subscription; C{wait(n)} fires at n events."""

    def __init__(self) -> None:
        self.events: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._waiters: list[tuple[int, Deferred[Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.events.append((args, kwargs))
        for n, d in list(self._waiters):
            if len(self.events) >= n:
                self._waiters.remove((n, d))
                d.callback(self.events)

    def wait(self, n: int) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        if len(self.events) >= n:
            d.callback(self.events)
        else:
            self._waiters.append((n, d))
        return timeout(d)

    @property
    def firsts(self) -> list[Any]:
        return [a[0] if a else None for a, _ in self.events]
