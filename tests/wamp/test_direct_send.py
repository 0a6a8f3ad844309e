"""Sending straight to the socket, and falling back when the libraries change."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.logger import capturedLogs

from hubsd.wamp import internals


class FakeSocket:
    """Takes C{accept} bytes per send, or raises C{error}."""

    def __init__(self, accept: int = 1 << 30, error: OSError | None = None) -> None:
        self.accept = accept
        self.error = error
        self.sent = b""

    def setblocking(self, flag: bool) -> None:
        pass

    def fileno(self) -> int:
        return -1

    def send(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error
        taken = bytes(data[: self.accept])
        self.sent += taken
        return len(taken)


def connection(sock: FakeSocket) -> Any:
    """A real L{tcp.Connection} over a fake socket, connected."""
    conn = tcp.Connection(sock, Protocol(), MemoryReactor())
    conn.connected = 1
    return conn


def test_idle_connection_is_sent_to_directly() -> None:
    sock = FakeSocket()
    conn = connection(sock)
    internals.send_now(conn, b"hello")
    assert sock.sent == b"hello"
    assert conn._tempDataBuffer == []


def test_what_the_socket_does_not_take_is_buffered_behind() -> None:
    sock = FakeSocket(accept=3)
    conn = connection(sock)
    internals.send_now(conn, b"hello")
    assert sock.sent == b"hel"
    assert conn._tempDataBuffer == [b"lo"]
    # Now that Twisted holds bytes, later data queues behind them.
    internals.send_now(conn, b"!")
    assert sock.sent == b"hel"
    assert conn._tempDataBuffer == [b"lo", b"!"]


@pytest.mark.parametrize(
    "error",
    [BlockingIOError(errno.EAGAIN, "again"), InterruptedError(), OSError(errno.ENOBUFS, "nobufs")],
    ids=["EAGAIN", "EINTR", "ENOBUFS"],
)
def test_a_socket_that_cannot_take_data_now_leaves_it_to_twisted(error: OSError) -> None:
    conn = connection(FakeSocket(error=error))
    internals.send_now(conn, b"keep me")
    assert conn._tempDataBuffer == [b"keep me"]


@pytest.mark.parametrize("code", [errno.EPIPE, errno.ECONNRESET])
def test_a_broken_connection_drops_the_data(code: int) -> None:
    conn = connection(FakeSocket(error=OSError(code, "gone")))
    internals.send_now(conn, b"lost")
    assert conn._tempDataBuffer == []


@pytest.mark.parametrize(
    "state",
    [{"connected": 0}, {"disconnecting": 1}, {"TLS": True}, {"dataBuffer": b"unsent"}],
    ids=["not-connected", "disconnecting", "tls", "data-buffered"],
)
def test_no_shortcut_unless_the_connection_is_plain_open_and_idle(state: dict[str, Any]) -> None:
    conn = connection(FakeSocket())
    for name, value in state.items():
        setattr(conn, name, value)
    assert internals.idle_socket(conn) is None


def test_other_transports_are_written_to_normally() -> None:
    transport = StringTransport()
    assert internals.idle_socket(transport) is None
    internals.send_now(transport, b"via write")
    assert transport.value() == b"via write"


def test_a_changed_twisted_falls_back_to_write_and_says_so_once() -> None:
    internals._warned.clear()
    conn = connection(FakeSocket())
    del conn._tempDataBuffer
    with capturedLogs() as events:
        assert internals.idle_socket(conn) is None
        assert internals.idle_socket(conn) is None
    warnings = [e for e in events if e["log_level"].name == "warn"]
    assert len(warnings) == 1
    assert "write buffer" in warnings[0]["detail"]


def test_a_changed_autobahn_falls_back_to_its_own_parser_and_sender() -> None:
    internals._warned.clear()

    class Changed:
        pass

    with capturedLogs() as events:
        assert internals.parser_idle(Changed()) is False
        assert internals.sends_queued(Changed()) is True
    assert len([e for e in events if e["log_level"].name == "warn"]) == 2


def test_producer_takes_over_from_the_one_registered_before() -> None:
    transport = StringTransport()
    first, second = object(), object()
    transport.registerProducer(first, True)
    internals.take_over_producer(transport, second)  # type: ignore[arg-type]
    assert transport.producer is second
    fresh = StringTransport()
    internals.take_over_producer(fresh, first)  # type: ignore[arg-type]
    assert fresh.producer is first


class Handshaken:
    """What autobahn leaves on a protocol after its opening handshake."""

    def __init__(self, validate: bool) -> None:
        self.utf8validateIncoming = validate
        self.utf8validator: object | None = object()
        self.http_headers = {"cookie": "secret"}
        self.http_request_data = b"GET /ws"
        self.kept = True


@pytest.mark.parametrize("validate", [False, True])
def test_handshake_leftovers_go_and_the_validator_only_if_unused(validate: bool) -> None:
    p = Handshaken(validate)
    internals.drop_handshake_state(p)
    assert not hasattr(p, "http_headers") and not hasattr(p, "http_request_data")
    assert p.kept
    assert (p.utf8validator is not None) is validate
