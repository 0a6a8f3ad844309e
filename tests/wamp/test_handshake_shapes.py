"""A malformed opening handshake is a protocol violation, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.logger import capturedLogs

from tests.wamp.wiretools import HELLO_ROLES, Peer, make_router


def _hello(**details: Any) -> list[Any]:
    return [1, "realm1", {"roles": HELLO_ROLES, **details}]


BAD_HELLOS = [
    [1],
    [1, "realm1"],
    [1, "realm1", {"roles": HELLO_ROLES}, "extra"],
    [1, 5, {"roles": HELLO_ROLES}],
    [1, None, None],
    [1, "realm1", []],
    [1, "realm1", {"roles": 5}],
    [1, "realm1", {"roles": {"publisher": 5}}],
    [1, "realm1", {"roles": {"subscriber": {"features": 5}}}],
    [1, "realm1", {"roles": {"bogus": {}}}],
    _hello(authmethods="ticket"),
    _hello(authmethods=[5]),
    _hello(authid=5),
    _hello(authrole=[]),
    _hello(authextra=5),
    [5, "signature", {}],  # AUTHENTICATE before HELLO
    [2, 1, {}],  # WELCOME is the router's to send
    [32, 1, {}, "com.t"],  # SUBSCRIBE before joining
]


@pytest.mark.parametrize("msg", BAD_HELLOS, ids=[repr(m)[:40] for m in BAD_HELLOS])
def test_malformed_hello_aborts_with_protocol_violation_and_no_traceback(msg: list[Any]) -> None:
    router, _ = make_router()
    peer = Peer(router)
    with capturedLogs() as events:
        (abort,) = peer.send(msg)
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert [e for e in events if "log_failure" in e] == []
    assert router.stats.protocol_violations == 1


@pytest.mark.parametrize(
    ("signature", "extra"),
    [(5, {}), (None, {}), (["secret-ticket"], {}), ("secret-ticket", 5), ("secret-ticket", [])],
)
def test_malformed_authenticate_aborts_with_protocol_violation_and_no_traceback(
    signature: Any, extra: Any
) -> None:
    router, _ = make_router()
    peer = Peer(router)
    (challenge,) = peer.send(_hello(authmethods=["ticket"], authid="alice"))
    assert challenge[:2] == [4, "ticket"]
    with capturedLogs() as events:
        (abort,) = peer.send([5, signature, extra])
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
    assert [e for e in events if "log_failure" in e] == []


def test_second_authenticate_after_welcome_is_a_violation() -> None:
    router, _ = make_router()
    peer = Peer(router)
    peer.send(_hello(authmethods=["ticket"], authid="alice"))
    (welcome,) = peer.send([5, "secret-ticket", {}])
    assert welcome[0] == 2
    (abort,) = peer.send([5, "secret-ticket", {}])
    assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation"
