"""Autobahn (Twisted) clients doing pub/sub through hubsd's router."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.types import PublishOptions, SubscribeOptions
from twisted.internet.defer import Deferred

from tests.wamp.harness import Harness, Inbox, timeout


@pytest.mark.parametrize("pub_ser", ["json", "msgpack", "cbor"])
@pytest.mark.parametrize("sub_ser", ["json", "msgpack", "cbor"])
@pytest_twisted.ensureDeferred
async def test_event_reaches_subscriber_on_every_serializer(
    harness: Harness, pub_ser: str, sub_ser: str
) -> None:
    sub = await harness.connect(sub_ser)
    pub = await harness.connect(pub_ser)
    got: Deferred[Any] = Deferred()
    await sub.subscribe(lambda *a, **kw: got.callback((a, kw)), "com.example.topic")
    await pub.publish(
        "com.example.topic",
        1,
        b"\x00\xffbin",
        "x",
        {"k": [1.5]},
        kw="v",
        options=PublishOptions(acknowledge=True),
    )
    args, kwargs = await timeout(got)
    assert args == (1, b"\x00\xffbin", "x", {"k": [1.5]})
    assert kwargs == {"kw": "v"}


ACK = PublishOptions(acknowledge=True)


async def _three(harness: Harness) -> tuple[Any, Any, Any, Inbox, Inbox]:
    pub = await harness.connect("json")
    a = await harness.connect("msgpack")
    b = await harness.connect("cbor")
    ia, ib = Inbox(), Inbox()
    await a.subscribe(ia, "com.t")
    await b.subscribe(ib, "com.t")
    return pub, a, b, ia, ib


async def _sentinel(pub: Any, *inboxes: Inbox) -> None:
    await pub.publish("com.t", "sentinel", options=ACK)
    for i in inboxes:
        while "sentinel" not in i.firsts:
            await i.wait(len(i.events) + 1)


@pytest_twisted.ensureDeferred
async def test_publisher_is_excluded_by_default(harness: Harness) -> None:
    pub, a, b, ia, ib = await _three(harness)
    ip = Inbox()
    await pub.subscribe(ip, "com.t")
    await pub.publish("com.t", "one", options=ACK)
    await pub.publish("com.t", "two", options=PublishOptions(acknowledge=True, exclude_me=False))
    await ia.wait(2)
    await ip.wait(1)
    assert ip.firsts == ["two"]


@pytest_twisted.ensureDeferred
async def test_excluded_session_gets_no_event(harness: Harness) -> None:
    pub, a, b, ia, ib = await _three(harness)
    opts = PublishOptions(acknowledge=True, exclude=[b._session_id])
    await pub.publish("com.t", "hidden", options=opts)
    await _sentinel(pub, ia, ib)
    assert ia.firsts == ["hidden", "sentinel"]
    assert ib.firsts == ["sentinel"]


@pytest_twisted.ensureDeferred
async def test_only_eligible_session_gets_event(harness: Harness) -> None:
    pub, a, b, ia, ib = await _three(harness)
    await pub.publish(
        "com.t", "x", options=PublishOptions(acknowledge=True, eligible=[a._session_id])
    )
    await _sentinel(pub, ia, ib)
    assert ia.firsts == ["x", "sentinel"]
    assert ib.firsts == ["sentinel"]


@pytest_twisted.ensureDeferred
async def test_authid_and_authrole_filters(harness: Harness) -> None:
    pub, a, b, ia, ib = await _three(harness)
    a_authid = a.details.authid
    await pub.publish(
        "com.t", "1", options=PublishOptions(acknowledge=True, exclude_authid=[a_authid])
    )
    await pub.publish(
        "com.t", "2", options=PublishOptions(acknowledge=True, eligible_authid=[a_authid])
    )
    await pub.publish(
        "com.t", "3", options=PublishOptions(acknowledge=True, exclude_authrole=["anonymous"])
    )
    await pub.publish(
        "com.t", "4", options=PublishOptions(acknowledge=True, eligible_authrole=["anonymous"])
    )
    await _sentinel(pub, ia, ib)
    assert ia.firsts == ["2", "4", "sentinel"]
    assert ib.firsts == ["1", "4", "sentinel"]


@pytest_twisted.ensureDeferred
async def test_prefix_and_wildcard_subscriptions_get_topic_in_details(harness: Harness) -> None:
    pub = await harness.connect()
    sub = await harness.connect("msgpack")
    got_prefix: Deferred[Any] = Deferred()
    got_wild: Deferred[Any] = Deferred()
    await sub.subscribe(
        lambda *a, details: got_prefix.callback(details.topic),
        "com.pre",
        options=SubscribeOptions(match="prefix", details_arg="details"),
    )
    await sub.subscribe(
        lambda *a, details: got_wild.callback(details.topic),
        "com..leaf",
        options=SubscribeOptions(match="wildcard", details_arg="details"),
    )
    await pub.publish("com.prefixed.leaf", options=ACK)
    assert await timeout(got_prefix) == "com.prefixed.leaf"
    assert await timeout(got_wild) == "com.prefixed.leaf"


@pytest_twisted.ensureDeferred
async def test_retained_event_is_delivered_to_late_subscriber(harness: Harness) -> None:
    pub = await harness.connect()
    await pub.publish("com.state", "old", options=PublishOptions(acknowledge=True, retain=True))
    await pub.publish("com.state", "new", options=PublishOptions(acknowledge=True, retain=True))
    late = await harness.connect("cbor")
    got: Deferred[Any] = Deferred()
    await late.subscribe(
        lambda v, details: got.callback((v, details.retained)),
        "com.state",
        options=SubscribeOptions(get_retained=True, details_arg="details"),
    )
    assert await timeout(got) == ("new", True)


@pytest_twisted.ensureDeferred
async def test_unsubscribed_session_gets_no_more_events(harness: Harness) -> None:
    pub, a, b, ia, ib = await _three(harness)
    sub_b = b._subscriptions
    for subs in list(sub_b.values()):
        for s in subs:
            await s.unsubscribe()
    await pub.publish("com.t", "after", options=ACK)
    await ia.wait(1)
    assert ib.events == []
    realm = harness.router.realms["realm1"]
    (subscription,) = realm.broker.by_id.values()
    assert list(subscription.subscribers) == [a._session_id]


@pytest_twisted.ensureDeferred
async def test_session_and_subscription_meta_events(harness: Harness) -> None:
    watcher = await harness.connect()
    joins, subs, leaves = Inbox(), Inbox(), Inbox()
    await watcher.subscribe(joins, "wamp.session.on_join")
    await watcher.subscribe(leaves, "wamp.session.on_leave")
    await watcher.subscribe(subs, "wamp.subscription.on_subscribe")
    other = await harness.connect("msgpack")
    await other.subscribe(lambda *a: None, "com.meta")
    (details,), _ = (await joins.wait(1))[0]
    assert details["session"] == other._session_id
    assert details["authrole"] == "anonymous"
    # The watcher's own subscription to on_subscribe is announced first.
    (session_id, sub_id), _ = (await subs.wait(2))[1]
    assert session_id == other._session_id
    assert await watcher.call("wamp.subscription.count_subscribers", sub_id) == 1
    assert await watcher.call("wamp.subscription.list_subscribers", sub_id) == [session_id]
    assert await watcher.call("wamp.subscription.lookup", "com.meta") == sub_id
    assert await watcher.call("wamp.subscription.match", "com.meta") == [sub_id]
    assert (await watcher.call("wamp.subscription.get", sub_id))["uri"] == "com.meta"
    assert sub_id in (await watcher.call("wamp.subscription.list"))["exact"]
    assert await watcher.call("wamp.session.count") == 2
    assert sorted(await watcher.call("wamp.session.list")) == sorted(
        [watcher._session_id, other._session_id]
    )
    assert (await watcher.call("wamp.session.get", other._session_id))["authid"]
    other_id = other._session_id
    await watcher.call("wamp.session.kill", other_id)
    await timeout(other.left)
    (left_id, _, role), _ = (await leaves.wait(1))[0]
    assert left_id == other_id
    assert role == "anonymous"
    assert await watcher.call("wamp.session.count") == 1


@pytest_twisted.ensureDeferred
async def test_batched_json_client_exchanges_events_and_calls(harness: Harness) -> None:
    batched = await harness.connect("json.batched")
    plain = await harness.connect("msgpack")
    inbox = Inbox()
    await batched.subscribe(inbox, "com.b")
    await plain.publish("com.b", "to-batched", options=ACK)
    assert (await inbox.wait(1))[0][0] == ("to-batched",)
    await batched.register(lambda: "from-batched", "com.b.proc")
    assert await timeout(plain.call("com.b.proc")) == "from-batched"


@pytest_twisted.ensureDeferred
async def test_router_shutdown_says_goodbye_to_websocket_clients(harness: Harness) -> None:
    a = await harness.connect("json")
    b = await harness.connect("cbor")
    await timeout(harness.router.shutdown())
    for c in (a, b):
        details = await timeout(c.left)
        assert details.reason == "wamp.close.system_shutdown"
    assert harness.router.realms["realm1"].sessions == {}
    with pytest.raises(RuntimeError, match="system_shutdown"):
        await harness.connect("msgpack")
