"""A retained event reaches a late subscriber only if the publisher's filters allow it."""

from __future__ import annotations

from typing import Any

import pytest

from hubsd.wamp.auth import Authenticated
from tests.wamp.wiretools import Peer, make_router


def _late(router: Any, authid: str, authrole: str = "anonymous") -> Peer:
    p = Peer(router)
    router.set_authenticator(
        "as", lambda realm, a, d: Authenticated(d["authextra"]["as"], authrole)
    )
    (welcome,) = p.send(
        [
            1,
            "realm1",
            {"roles": {"subscriber": {}}, "authmethods": ["as"], "authextra": {"as": authid}},
        ]
    )
    assert welcome[0] == 2
    return p


def _gets_retained(p: Peer) -> bool:
    replies = p.send([32, 1, {"get_retained": True}, "com.state"])
    assert replies[0][0] == 33
    return [r[0] for r in replies[1:]] == [36]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"a": True, "b": True}),
        ({"eligible": "A"}, {"a": True, "b": False}),
        ({"exclude": "B"}, {"a": True, "b": False}),
        ({"eligible_authid": ["a"]}, {"a": True, "b": False}),
        ({"exclude_authid": ["a"]}, {"a": False, "b": True}),
        ({"eligible_authrole": ["member"]}, {"a": False, "b": True}),
        ({"exclude_authrole": ["member"]}, {"a": True, "b": False}),
    ],
)
def test_retained_event_honours_the_publishers_filters(
    options: dict[str, Any], expected: dict[str, bool]
) -> None:
    router, _ = make_router()
    router.set_authorizer(lambda *request: True)  # the member role has no rules
    a = _late(router, "a")
    b = _late(router, "b", "member")
    ids = {"A": [a.session.session_id], "B": [b.session.session_id]}
    opts = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in options.items()}
    core = router.attach_local_session("realm1", "core", "trusted")
    core.publish("com.state", [1], retain=True, **opts)
    assert {"a": _gets_retained(a), "b": _gets_retained(b)} == expected
