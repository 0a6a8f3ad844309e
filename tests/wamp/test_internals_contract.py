"""
The private details of Twisted and Autobahn that hubsd.wamp.internals relies
on, checked over real loopback sockets with the real reactor.

Each check fails with the name of the attribute that changed, so that an
upgrade of either library past the pins in setup.cfg says what to look at.
"""

from __future__ import annotations

import base64
import configparser
import importlib.metadata
import inspect
import json
import os
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.twisted.resource import WebSocketResource
from autobahn.websocket.protocol import WebSocketProtocol
from packaging.requirements import Requirement
from twisted.internet import reactor, tcp
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.web.resource import Resource
from twisted.web.server import Site

from hubsd.wamp import internals
from hubsd.wamp.router import Router
from hubsd.wamp.websocket import WampWebSocketFactory, WampWebSocketProtocol
from tests.wamp.harness import SETTINGS, timeout
from tests.wamp.wiretools import HELLO_ROLES

SETUP_CFG = Path(__file__).parents[2] / "setup.cfg"


def expect(ok: object, detail: str, why: str) -> None:
    """Fail, naming C{detail}, unless C{ok}."""
    if not ok:
        pytest.fail(
            f"{detail} changed: {why}. hubsd.wamp.internals relies on it: "
            "update it (and the pins in setup.cfg) for this version.",
            pytrace=False,
        )


class Endpoint(Protocol):
    """One end of a loopback connection that records what it receives."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.made: Deferred[Endpoint] = Deferred()
        self._waiting: list[tuple[Callable[[bytearray], bool], Deferred[None]]] = []

    def connectionMade(self) -> None:
        self.made.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        for entry in list(self._waiting):
            if entry[0](self.received):
                self._waiting.remove(entry)
                entry[1].callback(None)

    def until(self, done: Callable[[bytearray], bool]) -> Deferred[None]:
        """Fires once what was received so far satisfies C{done}."""
        d: Deferred[None] = Deferred()
        if done(self.received):
            d.callback(None)
        else:
            self._waiting.append((done, d))
        return timeout(d)


class Pair:
    """A real TCP connection over 127.0.0.1: C{server} and C{client} ends."""

    server: Endpoint
    client: Endpoint

    async def open(self) -> Pair:
        servers: list[Endpoint] = []

        def build(addr: Any) -> Endpoint:
            servers.append(Endpoint())
            return servers[-1]

        factory = Factory.forProtocol(Endpoint)
        factory.buildProtocol = build  # type: ignore[method-assign]
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port)
        self.client = await endpoint.connect(Factory.forProtocol(Endpoint))
        await timeout(self.client.made)
        while not servers:
            await timeout(_next_turn())
        self.server = await timeout(servers[0].made)
        return self

    async def close(self) -> None:
        self.client.transport.abortConnection()  # type: ignore[attr-defined]
        self.server.transport.abortConnection()  # type: ignore[attr-defined]
        await self.port.stopListening()


def _next_turn() -> Deferred[None]:
    d: Deferred[None] = Deferred()
    reactor.callLater(0, d.callback, None)  # type: ignore[attr-defined]
    return d


@pytest_twisted.async_yield_fixture
async def pair() -> AsyncIterator[Pair]:
    p = await Pair().open()
    yield p
    await p.close()


def _fill_socket(sock: Any) -> int:
    """Send until the kernel takes no more (the peer is not reading)."""
    sent = 0
    chunk = b"f" * 65536
    while True:
        try:
            sent += sock.send(chunk)
        except BlockingIOError:
            return sent


@pytest.mark.parametrize("package", ["twisted", "autobahn"])
def test_setup_cfg_pins_the_versions_this_contract_was_checked_with(package: str) -> None:
    cfg = configparser.ConfigParser()
    cfg.read(SETUP_CFG)
    lines = cfg["options"]["install_requires"].splitlines()
    (pin,) = [Requirement(line) for line in lines if line.strip().startswith(package)]
    installed = importlib.metadata.version(package)
    assert pin.specifier.contains(installed), (
        f"{package} {installed} is installed but setup.cfg pins {pin.specifier}: if this "
        "contract passes with it, move the pin to its minor version"
    )


# -- Twisted ---------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_tcp_transport_exposes_its_socket_and_empty_write_buffer(pair: Pair) -> None:
    t: Any = pair.server.transport
    expect(
        isinstance(t, tcp.Connection),
        "twisted.internet.tcp.Server",
        "listenTCP transports are no longer tcp.Connection",
    )
    expect(
        getattr(t, "socket", None) is not None and t.socket.fileno() == t.fileno(),
        "twisted.internet.tcp.Connection.socket",
        "the transport no longer keeps its socket as .socket",
    )
    expect(getattr(t, "TLS", None) is False, "tcp.Connection.TLS", "no TLS flag on plain TCP")
    expect(
        getattr(t, "dataBuffer", None) == b"",
        "twisted.internet.abstract.FileDescriptor.dataBuffer",
        "an idle connection's dataBuffer is not b''",
    )
    expect(
        getattr(t, "_tempDataBuffer", None) == [],
        "twisted.internet.abstract.FileDescriptor._tempDataBuffer",
        "an idle connection's _tempDataBuffer is not []",
    )
    assert internals.idle_socket(t) is t.socket


@pytest_twisted.ensureDeferred
async def test_write_is_held_in_tempDataBuffer_until_the_reactor_sends_it(pair: Pair) -> None:
    t: Any = pair.server.transport
    t.write(b"held")
    expect(
        t._tempDataBuffer == [b"held"],
        "twisted.internet.abstract.FileDescriptor._tempDataBuffer",
        "write() no longer appends to it",
    )
    assert internals.idle_socket(t) is None
    await pair.client.until(lambda got: got == b"held")
    expect(
        t._tempDataBuffer == [] and t.dataBuffer == b"",
        "FileDescriptor._tempDataBuffer/dataBuffer",
        "not emptied once everything was sent",
    )
    assert internals.idle_socket(t) is t.socket


@pytest_twisted.ensureDeferred
async def test_bytes_the_socket_refused_wait_in_dataBuffer(pair: Pair) -> None:
    t: Any = pair.server.transport
    pair.client.transport.pauseProducing()  # type: ignore[attr-defined]
    filled = _fill_socket(t.socket)
    t.write(b"x" * 1000)
    t.doWrite()  # what the reactor does when the socket is writable
    expect(
        len(t.dataBuffer) - t.offset == 1000 and t._tempDataBuffer == [],
        "twisted.internet.abstract.FileDescriptor.dataBuffer",
        "doWrite no longer keeps the bytes the socket refused in dataBuffer",
    )
    assert internals.idle_socket(t) is None
    pair.client.transport.resumeProducing()  # type: ignore[attr-defined]
    await pair.client.until(lambda got: len(got) == filled + 1000)
    expect(t.dataBuffer == b"", "FileDescriptor.dataBuffer", "not emptied once all was sent")
    assert internals.idle_socket(t) is t.socket


@pytest_twisted.ensureDeferred
async def test_send_now_keeps_order_when_the_socket_fills_up(pair: Pair) -> None:
    t: Any = pair.server.transport
    pair.client.transport.pauseProducing()  # type: ignore[attr-defined]
    chunks: list[bytes] = []
    # Until the kernel is full and Twisted buffers the rest, then a few more
    # that must queue behind what Twisted holds.
    while internals.idle_socket(t) is not None and len(chunks) < 10_000:
        chunks.append(b"%08d" % len(chunks) * 8192)
        internals.send_now(t, chunks[-1])
    assert internals.idle_socket(t) is None, "the kernel took 800 MB?"
    for _ in range(3):
        chunks.append(b"%08d" % len(chunks) * 8192)
        internals.send_now(t, chunks[-1])
    pair.client.transport.resumeProducing()  # type: ignore[attr-defined]
    expected = b"".join(chunks)
    await pair.client.until(lambda got: len(got) >= len(expected))
    assert bytes(pair.client.received) == expected


@pytest_twisted.ensureDeferred
async def test_tls_flag_turns_the_shortcut_off(pair: Pair) -> None:
    t: Any = pair.server.transport
    t.TLS = True  # what startTLS sets: bytes must go through the TLS layer
    try:
        assert internals.idle_socket(t) is None
    finally:
        t.TLS = False


# -- Autobahn --------------------------------------------------------------


def client_frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    """A masked client frame (RFC 6455 5.2), payload < 64 KiB."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n)
    return head + mask + masked


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of the whole unmasked server frames in C{data}."""
    out = []
    while len(data) >= 2:
        n, pos = data[1] & 0x7F, 2
        if n == 126:
            (n,), pos = struct.unpack("!H", data[2:4]), 4
        elif n == 127:
            (n,), pos = struct.unpack("!Q", data[2:10]), 10
        if len(data) < pos + n:
            break
        out.append((data[0] & 0x0F, data[pos : pos + n]))
        data = data[pos + n :]
    return out


def _frames(got: bytes | bytearray) -> list[tuple[int, bytes]]:
    """The server's frames after its handshake response."""
    if b"\r\n\r\n" not in got:
        return []
    return server_frames(bytes(got).split(b"\r\n\r\n", 1)[1])


def _has_opcode(opcode: int, count: int = 1) -> Callable[[bytearray], bool]:
    return lambda got: sum(1 for op, _ in _frames(got) if op == opcode) >= count


class Websocket:
    """A hand-written websocket client against the daemon's /ws resource."""

    server: Any
    client: Endpoint

    async def open(self) -> Websocket:
        self.router = Router(SETTINGS, reactor)
        factory = WampWebSocketFactory(self.router, SETTINGS, reactor)
        built: list[WampWebSocketProtocol] = []
        build = factory.buildProtocol

        def record(addr: Any) -> Any:
            built.append(build(addr))
            return built[-1]

        factory.buildProtocol = record  # type: ignore[method-assign]
        root = Resource()
        root.putChild(b"ws", WebSocketResource(factory))
        self.port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")  # type: ignore[attr-defined]
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port)
        self.client = await endpoint.connect(Factory.forProtocol(Endpoint))
        key = base64.b64encode(os.urandom(16)).decode()
        self.client.transport.write(  # type: ignore[attr-defined]
            (
                "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: wamp.2.json\r\n"
                "Cookie: session=do-not-keep\r\n\r\n"
            ).encode()
        )
        await self.client.until(lambda got: b"\r\n\r\n" in got)
        assert bytes(self.client.received).startswith(b"HTTP/1.1 101")
        self.server = built[0]
        return self

    def send(self, data: bytes) -> Deferred[None]:
        """Send C{data}; fires once the server protocol has been given it."""
        d: Deferred[None] = Deferred()
        server = self.server
        original = server.dataReceived
        want = [len(data)]

        def spy(chunk: bytes) -> None:
            want[0] -= len(chunk)
            if want[0] <= 0:
                del server.dataReceived
            original(chunk)
            if want[0] <= 0 and not d.called:
                d.callback(None)

        server.dataReceived = spy
        self.client.transport.write(data)  # type: ignore[attr-defined]
        return timeout(d)

    async def join(self) -> None:
        await self.send(client_frame(json.dumps([1, "realm1", {"roles": HELLO_ROLES}]).encode()))
        await self.client.until(_has_opcode(1))

    async def close(self) -> None:
        self.client.transport.abortConnection()  # type: ignore[attr-defined]
        await self.port.stopListening()
        self.router.shedder.stop()


@pytest_twisted.async_yield_fixture
async def ws() -> AsyncIterator[Websocket]:
    w = await Websocket().open()
    yield w
    await w.close()


@pytest_twisted.ensureDeferred
async def test_open_connection_has_an_idle_frame_parser(ws: Websocket) -> None:
    p = ws.server
    expect(p.state == WebSocketProtocol.STATE_OPEN, "WebSocketProtocol.state", "not STATE_OPEN")
    for name, idle in (("current_frame", None), ("data", b""), ("inside_message", False)):
        expect(
            name in p.__dict__ and p.__dict__[name] == idle,
            f"autobahn WebSocketProtocol.{name}",
            f"not {idle!r} on an open connection with nothing received",
        )
    expect(
        isinstance(p.__dict__.get("send_queue"), deque) and not p.send_queue,
        "autobahn WebSocketProtocol.send_queue",
        "not an empty deque on an open connection",
    )
    assert internals.parser_idle(p)
    assert not internals.sends_queued(p)


@pytest_twisted.ensureDeferred
async def test_frame_split_across_reads_is_held_in_autobahns_parser(ws: Websocket) -> None:
    frame = client_frame(json.dumps([1, "realm1", {"roles": HELLO_ROLES}]).encode())
    await ws.send(frame[:3])
    p = ws.server
    expect(
        p.current_frame is not None or p.data,
        "autobahn WebSocketProtocol.current_frame/data",
        "a partial frame is held in neither",
    )
    assert not internals.parser_idle(p)
    await ws.send(frame[3:])
    await ws.client.until(_has_opcode(1))
    assert json.loads(_frames(bytes(ws.client.received))[0][1])[0] == 2  # WELCOME
    assert internals.parser_idle(p)


@pytest_twisted.ensureDeferred
async def test_control_frame_split_in_its_payload_is_held_in_current_frame(
    ws: Websocket,
) -> None:
    ping = client_frame(b"abc", opcode=9)
    await ws.send(ping[:-1])  # the whole header, part of the payload
    p = ws.server
    expect(
        p.current_frame is not None and not p.data and not p.inside_message,
        "autobahn WebSocketProtocol.current_frame",
        "a control frame whose payload is incomplete is not held there alone",
    )
    assert not internals.parser_idle(p)
    await ws.send(ping[-1:])
    await ws.client.until(_has_opcode(10))
    assert internals.parser_idle(p)


@pytest_twisted.ensureDeferred
async def test_fragmented_message_sets_inside_message(ws: Websocket) -> None:
    await ws.join()
    sub = json.dumps([32, 1, {}, "com.frag"]).encode()
    await ws.send(client_frame(sub[:10], fin=False))
    expect(
        ws.server.inside_message is True,
        "autobahn WebSocketProtocol.inside_message",
        "not True between the fragments of a message",
    )
    assert not internals.parser_idle(ws.server)
    await ws.send(client_frame(sub[10:], opcode=0))
    await ws.client.until(_has_opcode(1, 2))
    assert json.loads(_frames(bytes(ws.client.received))[1][1])[0] == 33  # SUBSCRIBED
    assert internals.parser_idle(ws.server)


@pytest_twisted.ensureDeferred
async def test_chopped_writes_wait_in_send_queue(ws: Websocket) -> None:
    p = ws.server
    ping = b"\x89\x00"
    # Autobahn's own sendData, chopped into 1-byte writes sent over reactor turns.
    type(p).__mro__[1].sendData(p, ping * 2, False, 1)
    expect(
        len(p.send_queue) == 3,
        "autobahn WebSocketProtocol.send_queue",
        "chopped writes are not queued there",
    )
    assert internals.sends_queued(p)
    await ws.client.until(_has_opcode(9, 2))
    assert not internals.sends_queued(p)


@pytest_twisted.ensureDeferred
async def test_our_frames_wait_behind_autobahns_chopped_writes(ws: Websocket) -> None:
    p = ws.server
    type(p).__mro__[1].sendData(p, b"\x89\x01a\x89\x01b", False, 1)
    p.sendPong(b"c")  # through our sendData: must not cut into the pings
    await ws.client.until(_has_opcode(10))
    assert _frames(ws.client.received) == [(9, b"a"), (9, b"b"), (10, b"c")]


@pytest_twisted.ensureDeferred
async def test_autobahns_own_frames_go_through_sendData(ws: Websocket) -> None:
    expect(
        list(inspect.signature(WebSocketProtocol.sendData).parameters)
        == ["self", "data", "sync", "chopsize"],
        "autobahn WebSocketProtocol.sendData",
        "its signature, which WampWebSocketProtocol overrides",
    )
    p = ws.server
    seen: list[bytes] = []
    override = p.sendData

    def spy(data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        seen.append(data)
        override(data, sync, chopsize)

    p.sendData = spy
    await ws.send(client_frame(b"hi", opcode=9))
    await ws.client.until(_has_opcode(10))
    expect(
        seen == [b"\x8a\x02hi"],
        "autobahn WebSocketProtocol.sendFrame",
        "a pong no longer goes through self.sendData",
    )


@pytest_twisted.ensureDeferred
async def test_peers_close_frame_reaches_onCloseFrame_first(ws: Websocket) -> None:
    await ws.join()
    p = ws.server
    session = p._wamp
    called: list[tuple[Any, Any]] = []
    override = p.onCloseFrame

    def spy(code: Any, reason: Any) -> Any:
        # The WAMP session must be gone before autobahn answers the close.
        called.append((code, reason))
        result = override(code, reason)
        assert session.lost
        return result

    p.onCloseFrame = spy
    await ws.send(client_frame(struct.pack("!H", 1000) + b"bye", opcode=8))
    await ws.client.until(_has_opcode(8))
    expect(
        called == [(1000, b"bye")],
        "autobahn WebSocketProtocol.onCloseFrame(code, reasonRaw)",
        "not called with the peer's close code and raw reason",
    )
    assert p._wamp is None


@pytest_twisted.ensureDeferred
async def test_handshake_leftovers_are_dropped_once_open(ws: Websocket) -> None:
    p = ws.server
    kept = [name for name in internals.HANDSHAKE_ONLY if name in p.__dict__]
    assert kept == []
    assert b"do-not-keep" not in repr(vars(p)).encode()
    expect(
        p.utf8validateIncoming is False and p.utf8validator is None,
        "autobahn WebSocketProtocol.utf8validator",
        "dropped although incoming UTF-8 validation is on",
    )
    # Everything autobahn does once open still works without them.
    await ws.join()
    sub = json.dumps([32, 1, {}, "com.after"]).encode()
    await ws.send(client_frame(sub[:5], fin=False) + client_frame(sub[5:], opcode=0))
    await ws.client.until(_has_opcode(1, 2))


@pytest_twisted.ensureDeferred
async def test_our_queue_replaces_the_http_channel_as_producer(ws: Websocket) -> None:
    expect(
        ws.server.transport.producer is ws.server._wamp.out,
        "twisted.internet.abstract.FileDescriptor.producer",
        "the WAMP session's queue is not the transport's producer",
    )
