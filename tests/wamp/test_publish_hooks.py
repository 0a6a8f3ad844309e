"""Publish hooks, driven in memory: see, rewrite, narrow or reject a publication."""

from __future__ import annotations

from typing import Any

import pytest

from hubsd.wamp.codec import CBOR, JSON
from hubsd.wamp.payload import Payload
from hubsd.wamp.router import Publication, PublishRejected
from tests.wamp.wiretools import Peer, logged_failures, make_router

ACK = {"acknowledge": True}


def _room(n: int = 3, codec: Any = JSON) -> tuple[Any, list[Peer]]:
    """A router and C{n} joined peers subscribed to com.room."""
    router, _ = make_router()
    peers = []
    for i in range(n):
        p = Peer(router, codec)
        p.join()
        p.send([32, 100 + i, {}, "com.room"])
        peers.append(p)
    return router, peers


def _sid(p: Peer) -> int:
    return p.session.session_id


def test_hook_sees_lazy_payload_and_publisher() -> None:
    router, (pub, sub, _) = _room()
    seen: list[Any] = []

    def hook(p: Publication) -> None:
        seen.append((p.session["authrole"], p.session["session"], p.topic, p.payload.raw, p.args))

    router.add_publish_hook("com.*", hook)
    pub.send([16, 1, {}, "com.room", [{"x": 1}]])
    assert seen == [("anonymous", _sid(pub), "com.room", b'[{"x":1}]', [{"x": 1}])]
    assert sub.read()[0][4] == [{"x": 1}]


def test_hook_can_rewrite_the_payload() -> None:
    router, (pub, sub, _) = _room(codec=CBOR)
    router.add_publish_hook("com.room", lambda p: ([{"owner": p.session["session"]}], None))
    pub.send([16, 1, {}, "com.room", [{"owner": "spoofed"}]])
    assert sub.read()[0][4] == [{"owner": _sid(pub)}]


def test_hook_can_return_a_built_payload() -> None:
    router, (pub, sub, _) = _room()
    router.add_publish_hook("com.room", lambda p: Payload.from_values([], {"stamped": True}))
    pub.send([16, 1, {}, "com.room", ["x"]])
    assert sub.read()[0][4:] == [[], {"stamped": True}]


def test_hook_exclude_keeps_the_event_from_those_sessions() -> None:
    router, (pub, blocked, other) = _room()

    def block(p: Publication) -> None:
        p.exclude = {_sid(blocked)}

    router.add_publish_hook("com.room", block)
    pub.send([16, 1, {}, "com.room", ["hi"]])
    assert blocked.read() == []
    assert other.read()[0][4] == ["hi"]


def test_hook_exclude_adds_to_the_publishers_own_exclude() -> None:
    router, (pub, a, b, c) = _room(4)

    def block_a(p: Publication) -> None:
        p.exclude = [_sid(a)]

    router.add_publish_hook("com.room", block_a)
    pub.send([16, 1, {"exclude": [_sid(b)]}, "com.room", ["hi"]])
    assert a.read() == [] and b.read() == []
    assert c.read()[0][4] == ["hi"]


def test_hook_sets_exclude_me() -> None:
    router, (pub, sub, _) = _room()
    seen: list[bool] = []

    def echo(p: Publication) -> None:
        seen.append(p.exclude_me)
        p.exclude_me = False

    router.add_publish_hook("com.room", echo)
    (event,) = pub.send([16, 1, {}, "com.room", ["hi"]])
    assert event[0] == 36 and seen == [True]
    pub.send([16, 2, {"exclude_me": False}, "com.room", ["again"]])
    assert seen == [True, False]


def test_rejected_publish_errors_when_acknowledged_and_counts() -> None:
    router, (pub, sub, _) = _room()

    def reject(p: Publication) -> None:
        raise PublishRejected("com.error.too_big", "payload too big")

    router.add_publish_hook("com.room", reject)
    (err,) = pub.send([16, 1, ACK, "com.room", []])
    assert err[:5] == [8, 16, 1, {}, "com.error.too_big"] and err[5] == ["payload too big"]
    assert pub.send([16, 2, {}, "com.room", []]) == []
    assert sub.read() == []
    assert router.stats.publishes_rejected == 2


def test_room_error_from_a_hook_keeps_its_uri_and_message() -> None:
    from hubsd.rooms.errors import NotPermitted

    router, (pub, sub, _) = _room()
    refusal = NotPermitted("text_chat")

    def deny(p: Publication) -> None:
        raise refusal

    router.add_publish_hook("com.room", deny)
    (err,) = pub.send([16, 1, ACK, "com.room", []])
    assert err[4] == "hubsd.error.not_permitted" and err[5] == [str(refusal)]
    assert "text_chat" in str(refusal)


def test_hook_bug_is_a_runtime_error_logged_once() -> None:
    router, (pub, sub, _) = _room()
    router.add_publish_hook("com.room", lambda p: p.kwargs["missing"])  # type: ignore[index]
    with logged_failures() as failures:
        for i in range(5):
            (err,) = pub.send([16, i + 1, ACK, "com.room", []])
            assert err[4] == "wamp.error.runtime_error"
    assert len(failures) == 1
    assert router.stats.hook_errors == 5
    assert sub.read() == [] and not pub.closed


@pytest.mark.parametrize("result", [42, ("only one",), "text"])
def test_hook_returning_nonsense_rejects_without_breaking_the_session(result: Any) -> None:
    router, (pub, sub, _) = _room()
    router.add_publish_hook("com.room", lambda p: result)
    (err,) = pub.send([16, 1, ACK, "com.room", []])
    assert err[4] == "wamp.error.runtime_error"
    assert pub.send([32, 9, {}, "com.other"])[0][0] == 33


def test_hook_exclusions_survive_junk_in_the_publishers_exclude_list() -> None:
    router, (pub, a, b) = _room()
    router.add_publish_hook("com.room", lambda p: setattr(p, "exclude", [_sid(a)]))
    pub.send([16, 1, {"exclude": [{"not": "an id"}]}, "com.room", ["hi"]])
    assert a.read() == []
    assert b.read()[0][4] == ["hi"]
