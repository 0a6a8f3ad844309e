"""In-process sessions and publish hooks."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions
from twisted.internet.defer import Deferred

from hubsd.wamp.local import LocalEvent
from hubsd.wamp.payload import Payload
from hubsd.wamp.router import Publication, PublishRejected
from tests.wamp.harness import Harness, Inbox, timeout

ACK = PublishOptions(acknowledge=True)


@pytest_twisted.ensureDeferred
async def test_local_and_remote_sessions_see_each_other(harness: Harness) -> None:
    local = harness.router.attach_local_session("realm1", "gateway", "trusted")
    events: list[LocalEvent] = []
    got: Deferred[Any] = Deferred()

    def on_event(e: LocalEvent) -> None:
        events.append(e)
        got.callback(None)

    await local.subscribe("com.room", on_event)
    remote = await harness.connect("msgpack")
    inbox = Inbox()
    await remote.subscribe(inbox, "com.room")
    await remote.publish("com.room", "from-remote", n=1, options=ACK)
    await timeout(got)
    assert events[0].args == ["from-remote"]
    assert events[0].kwargs == {"n": 1}
    assert events[0].payload.serializer == "msgpack"
    assert events[0].topic == "com.room"
    await local.publish("com.room", ["from-local"], {"x": b"\x00"})
    ((args, kwargs),) = await inbox.wait(1)
    assert args == ("from-local",) and kwargs == {"x": b"\x00"}


@pytest_twisted.ensureDeferred
async def test_local_publisher_disclosure(harness: Harness) -> None:
    local = harness.router.attach_local_session("realm1", "core", "trusted")
    remote = await harness.connect()
    got: Deferred[Any] = Deferred()
    from autobahn.wamp.types import SubscribeOptions

    await remote.subscribe(
        lambda details: got.callback((details.publisher, details.publisher_authid)),
        "com.disclosed",
        options=SubscribeOptions(details_arg="details"),
    )
    await local.publish("com.disclosed", disclose_me=True, acknowledge=True)
    assert await timeout(got) == (local.session_id, "core")


@pytest_twisted.ensureDeferred
async def test_local_session_leave_cleans_up(harness: Harness) -> None:
    local = harness.router.attach_local_session("realm1", "core", "trusted")
    await local.subscribe("com.x", lambda e: None)
    await local.register("com.p", lambda: 1)
    realm = harness.router.realms["realm1"]
    assert realm.broker.by_id and realm.dealer.by_id
    local.leave()
    assert local.left.called
    assert not realm.broker.by_id and not realm.dealer.by_id
    assert local.session_id not in realm.sessions


@pytest_twisted.ensureDeferred
async def test_local_callee_progress_and_error(harness: Harness) -> None:
    local = harness.router.attach_local_session("realm1", "core", "trusted")

    def boom() -> None:
        raise PublishRejected("com.error.boom", "bad")

    await local.register("com.boom", boom)
    remote = await harness.connect()
    with pytest.raises(ApplicationError) as e:
        await timeout(remote.call("com.boom"))
    assert e.value.error == "com.error.boom"


@pytest_twisted.ensureDeferred
async def test_publish_hook_sees_lazy_payload_and_publisher(harness: Harness) -> None:
    seen: list[Any] = []

    def hook(pub: Publication) -> None:
        seen.append((pub.session["authrole"], pub.topic, pub.payload.raw, pub.args))

    harness.router.add_publish_hook("com.hooked.*", hook)
    remote = await harness.connect("json")
    inbox = Inbox()
    await remote.subscribe(inbox, "com.hooked.a")
    await remote.publish(
        "com.hooked.a", {"x": 1}, options=PublishOptions(acknowledge=True, exclude_me=False)
    )
    await inbox.wait(1)
    assert seen == [("anonymous", "com.hooked.a", b'[{"x":1}]', [{"x": 1}])]


@pytest_twisted.ensureDeferred
async def test_publish_hook_can_rewrite(harness: Harness) -> None:
    harness.router.add_publish_hook(
        "com.rewrite", lambda pub: ([{"owner": pub.session["session"]}], None)
    )
    pub = await harness.connect("cbor")
    sub = await harness.connect("json")
    inbox = Inbox()
    await sub.subscribe(inbox, "com.rewrite")
    await pub.publish("com.rewrite", {"owner": "spoofed"}, options=ACK)
    ((args, _),) = await inbox.wait(1)
    assert args == ({"owner": pub._session_id},)


@pytest_twisted.ensureDeferred
async def test_rejected_publish_errors_when_acknowledged_and_counts(harness: Harness) -> None:
    def reject(pub: Publication) -> None:
        raise PublishRejected("com.error.too_big", "payload too big")

    harness.router.add_publish_hook("com.reject", reject)
    pub = await harness.connect()
    sub = await harness.connect()
    inbox = Inbox()
    await sub.subscribe(inbox, "com.reject")
    await sub.subscribe(inbox, "com.ok")
    with pytest.raises(ApplicationError) as e:
        await timeout(pub.publish("com.reject", options=ACK))
    assert e.value.error == "com.error.too_big"
    pub.publish("com.reject")
    await pub.publish("com.ok", "after", options=ACK)
    await inbox.wait(1)
    assert inbox.firsts == ["after"]
    assert harness.router.stats.publishes_rejected == 2


def test_payload_encodes_once_per_other_serializer() -> None:
    from hubsd.wamp.codec import CBOR, JSON, MSGPACK

    msg = JSON.decode(b'[16, 1, {}, "t", [1, "a"], {"k": true}]')[0]
    payload = msg[4]
    assert isinstance(payload, Payload)
    assert payload.raw == b'[1, "a"], {"k": true}'
    ev = JSON.encode_event(5, 6, {}, payload)
    assert ev == b'[36,5,6,{},[1, "a"], {"k": true}]'
    first = payload.encoded(MSGPACK)
    assert payload.encoded(MSGPACK) is first
    assert CBOR.decode(CBOR.encode_event(5, 6, {}, payload))[0] == [
        36,
        5,
        6,
        {},
        [1, "a"],
        {"k": True},
    ]


@pytest_twisted.ensureDeferred
async def test_local_callee_learns_who_calls_with_disclose_caller(harness: Harness) -> None:
    from hubsd.wamp.auth import Authenticated
    from hubsd.wamp.local import LocalInvocation

    harness.router.set_authenticator(
        "ticket",
        lambda realm, authid, details: Authenticated("u1", "anonymous", {"room": "r9"}),
    )
    core = harness.router.attach_local_session("realm1", "core", "trusted")
    seen: list[LocalInvocation] = []

    def join_room(room: str, details: LocalInvocation) -> str:
        seen.append(details)
        return "joined " + room

    await core.register("com.room.join", join_room, details_arg="details", disclose_caller=True)
    client = await harness.connect(authmethods=["ticket"], authid="u1", secret="jwt")
    assert await timeout(client.call("com.room.join", "r9")) == "joined r9"
    (inv,) = seen
    assert inv.caller == client._session_id
    assert inv.caller_session is not None
    assert inv.caller_session["authextra"] == {"room": "r9"}


@pytest_twisted.ensureDeferred
async def test_local_callee_sends_progressive_results(harness: Harness) -> None:
    from autobahn.wamp.types import CallOptions

    core = harness.router.attach_local_session("realm1", "core", "trusted")

    def count(n: int, details: Any) -> int:
        for i in range(n):
            details.progress(i)
        return n

    await core.register("com.count", count, details_arg="details")
    client = await harness.connect("msgpack")
    seen: list[int] = []
    result = await timeout(
        client.call("com.count", 3, options=CallOptions(on_progress=seen.append))
    )
    assert (seen, result) == ([0, 1, 2], 3)
    local_seen: list[int] = []
    assert await timeout(core.call("com.count", [2], on_progress=local_seen.append)) == 2
    assert local_seen == [0, 1]


@pytest_twisted.ensureDeferred
async def test_local_session_after_leave_fails_fast(harness: Harness) -> None:
    from hubsd.wamp.errors import WampError

    core = harness.router.attach_local_session("realm1", "core", "trusted")
    core.leave()
    for attempt in (
        core.call("com.x"),
        core.publish("com.x"),
        core.subscribe("com.x", lambda e: None),
    ):
        with pytest.raises(WampError):
            await attempt


@pytest_twisted.ensureDeferred
async def test_local_pattern_subscriber_and_retained_event(harness: Harness) -> None:
    core = harness.router.attach_local_session("realm1", "core", "trusted")
    await core.publish("com.rooms.r1.state", [{"v": 1}], retain=True, acknowledge=True)
    events: list[LocalEvent] = []
    await core.subscribe("com.rooms.", events.append, match="prefix", get_retained=True)
    assert [(e.topic, e.retained, e.args) for e in events] == [
        ("com.rooms.r1.state", True, [{"v": 1}])
    ]
    await core.publish("com.rooms.r2.state", [2], exclude_me=False, acknowledge=True)
    assert events[-1].topic == "com.rooms.r2.state" and not events[-1].retained


@pytest_twisted.ensureDeferred
async def test_killed_local_session_is_told(harness: Harness) -> None:
    victim = harness.router.attach_local_session("realm1", "gw", "trusted")
    admin = harness.router.attach_local_session("realm1", "admin", "trusted")
    await admin.call("wamp.session.kill", [victim.session_id])
    assert victim.left.called
    assert not victim.joined
