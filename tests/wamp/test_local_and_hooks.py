"""In-process sessions with real Autobahn clients (interop); the rest is in test_local_session."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions
from twisted.internet.defer import Deferred

from hubsd.wamp.local import LocalEvent
from hubsd.wamp.payload import Payload
from hubsd.wamp.router import PublishRejected
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
async def test_local_callee_progress_and_error(harness: Harness) -> None:
    local = harness.router.attach_local_session("realm1", "core", "trusted")

    def boom() -> None:
        raise PublishRejected("com.error.boom", "bad")

    await local.register("com.boom", boom)
    remote = await harness.connect()
    with pytest.raises(ApplicationError) as e:
        await timeout(remote.call("com.boom"))
    assert e.value.error == "com.error.boom"


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
