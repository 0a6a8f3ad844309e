"""WAMP over RawSocket with Autobahn's RawSocket client."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.twisted.rawsocket import WampRawSocketClientFactory
from autobahn.wamp.types import ComponentConfig, PublishOptions
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory as PlainFactory
from twisted.internet.protocol import Protocol

from hubsd.wamp.rawsocket import WampRawSocketFactory, length_exponent
from tests.wamp.harness import SERIALIZERS, Client, Harness, Inbox, timeout


async def _raw_client(harness: Harness, port: int, serializer: str) -> Client:
    joined: Deferred[Any] = Deferred()

    def make() -> Client:
        c = Client(ComponentConfig("realm1"))
        c.joined, c.left, c.realm_name = joined, Deferred(), "realm1"
        harness.clients.append(c)
        return c

    factory = WampRawSocketClientFactory(make, serializer=SERIALIZERS[serializer]())
    await TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
    return await timeout(joined)  # type: ignore[no-any-return]


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
@pytest_twisted.ensureDeferred
async def test_rawsocket_client_talks_to_websocket_client(
    harness: Harness, serializer: str
) -> None:
    port = reactor.listenTCP(  # type: ignore[attr-defined]
        0,
        WampRawSocketFactory(harness.router, harness.settings, reactor),
        interface="127.0.0.1",
    )
    try:
        raw = await _raw_client(harness, port.getHost().port, serializer)
        ws = await harness.connect("json")
        inbox = Inbox()
        await ws.subscribe(inbox, "com.raw")
        await raw.register(lambda x: x * 2, "com.double")
        assert await timeout(ws.call("com.double", 21)) == 42
        await raw.publish("com.raw", "hi", options=PublishOptions(acknowledge=True))
        assert (await inbox.wait(1))[0][0] == ("hi",)
    finally:
        for c in harness.clients:
            if c._transport is not None and c._transport.isOpen():
                c._transport.close()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_rawsocket_refuses_unknown_serializer(harness: Harness) -> None:
    port = reactor.listenTCP(  # type: ignore[attr-defined]
        0,
        WampRawSocketFactory(harness.router, harness.settings, reactor),
        interface="127.0.0.1",
    )
    got: Deferred[bytes] = Deferred()

    class Probe(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(bytes((0x7F, 0xF9, 0, 0)))  # type: ignore[union-attr]

        def dataReceived(self, data: bytes) -> None:
            if not got.called:
                got.callback(data)

    try:
        await TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(
            PlainFactory.forProtocol(Probe)
        )
        assert await timeout(got) == bytes((0x7F, 0x10, 0, 0))
    finally:
        await port.stopListening()


def test_length_exponent_covers_max_size() -> None:
    assert length_exponent(512) == 0
    assert length_exponent(1024 * 1024) == 11
    assert length_exponent(2**40) == 15
