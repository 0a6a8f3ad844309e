"""Drive a L{WireSession} over an in-memory transport (rawsocket framing)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from hubsd.wamp.codec import JSON, Codec
from hubsd.wamp.router import Router
from hubsd.wamp.settings import RouterSettings
from hubsd.wamp.wire import WireSession, wire_for
from tests.wamp.harness import SETTINGS

HELLO_ROLES = {
    "publisher": {},
    "subscriber": {},
    "caller": {},
    "callee": {"features": {"call_canceling": True, "progressive_call_results": True}},
}


class Peer:
    """One in-memory session: send values, read decoded replies."""

    def __init__(self, router: Router, codec: Codec = JSON) -> None:
        self.codec = codec
        self.transport = StringTransport()
        self.closed = False
        self.session = WireSession(
            router, wire_for(codec, "rawsocket"), self.transport, self._close, {"type": "test"}
        )
        self.transport.registerProducer(self.session.out, True)

    def _close(self) -> None:
        self.closed = True
        self.session.connection_lost()

    def send(self, msg: list[Any]) -> list[list[Any]]:
        self.session.message_received(self.codec.encode(msg))
        return self.read()

    def send_bytes(self, data: bytes) -> list[list[Any]]:
        self.session.message_received(data)
        return self.read()

    def read(self) -> list[list[Any]]:
        # Output is sent at the end of the reactor turn; end it now.
        self.session.router.batcher.flush()
        data = self.transport.value()
        self.transport.clear()
        out = []
        while data:
            (n,) = struct.unpack("!I", data[:4])
            out += self.codec.decode(data[4 : 4 + n])
            data = data[4 + n :]
        return [_plain(m) for m in out]

    def join(self, realm: str = "realm1", **details: Any) -> list[Any]:
        (welcome,) = self.send([1, realm, dict({"roles": HELLO_ROLES}, **details)])
        assert welcome[0] == 2, welcome
        return welcome


def _plain(msg: list[Any]) -> list[Any]:
    from hubsd.wamp.payload import Payload

    if msg and msg[0] == 16 and len(msg) == 5 and isinstance(msg[4], Payload):
        return msg[:4] + msg[4].append_to([])
    return msg


def make_router(settings: RouterSettings = SETTINGS) -> tuple[Router, Clock]:
    clock = Clock()
    return Router(settings, clock), clock


def login(router: Router, authid: str, authrole: str, codec: Codec = JSON) -> Peer:
    """A joined peer with this identity (custom auth method ``as``, set here)."""
    from hubsd.wamp.auth import Authenticated

    router.set_authenticator(
        "as", lambda realm, a, d: Authenticated(d["authextra"]["authid"], d["authextra"]["role"])
    )
    p = Peer(router, codec)
    extra = {"authid": authid, "role": authrole}
    (welcome,) = p.send(
        [1, "realm1", {"roles": HELLO_ROLES, "authmethods": ["as"], "authextra": extra}]
    )
    assert welcome[0] == 2, welcome
    return p


@contextmanager
def logged_failures() -> Iterator[list[dict[str, Any]]]:
    """Collect the log events that carry a failure (a traceback) while inside."""
    from twisted.logger import globalLogPublisher

    failures: list[dict[str, Any]] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_failure") is not None:
            failures.append(event)

    globalLogPublisher.addObserver(observe)
    try:
        yield failures
    finally:
        globalLogPublisher.removeObserver(observe)
