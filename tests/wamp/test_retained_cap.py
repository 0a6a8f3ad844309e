"""Retained events are kept for a bounded number of topics per realm."""

from __future__ import annotations

from typing import Any

import pytest

from hubsd.wamp import broker
from hubsd.wamp.local import LocalEvent, LocalSession
from hubsd.wamp.router import Router
from tests.wamp.wiretools import make_router


def _publisher(router: Router) -> LocalSession:
    return router.attach_local_session("realm1", "publisher", "trusted")


def _retained_topics(router: Router) -> list[str]:
    return list(router.realms["realm1"].broker.retained)


def _late_subscriber(router: Router, topic: str, **options: Any) -> list[LocalEvent]:
    events: list[LocalEvent] = []
    session = router.attach_local_session("realm1", "late", "trusted")
    session.subscribe(topic, events.append, get_retained=True, **options)
    return events


def test_publishing_to_ever_new_topics_keeps_memory_bounded() -> None:
    router, _ = make_router()
    pub = _publisher(router)
    n = broker.MAX_RETAINED_TOPICS
    for i in range(n + 50):
        pub.publish("com.flood.t%d" % i, [i], retain=True)
    topics = _retained_topics(router)
    assert len(topics) == n
    # The oldest topics were forgotten, the newest are all kept.
    assert topics[0] == "com.flood.t50"
    assert topics[-1] == "com.flood.t%d" % (n + 49)
    assert _late_subscriber(router, "com.flood.t0") == []
    (event,) = _late_subscriber(router, "com.flood.t%d" % (n + 49))
    assert event.retained and event.args == [n + 49]


def test_retaining_again_makes_a_topic_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker, "MAX_RETAINED_TOPICS", 3)
    router, _ = make_router()
    pub = _publisher(router)
    for topic in ("com.a", "com.b", "com.c"):
        pub.publish(topic, [topic], retain=True)
    pub.publish("com.a", ["a again"], retain=True)
    pub.publish("com.d", ["d"], retain=True)
    # com.b was retained least recently, not com.a.
    assert _retained_topics(router) == ["com.c", "com.a", "com.d"]
    (event,) = _late_subscriber(router, "com.a")
    assert event.args == ["a again"]
    assert [e.topic for e in _late_subscriber(router, "com.", match="prefix")] == [
        "com.c",
        "com.a",
        "com.d",
    ]


def test_publishing_without_retain_does_not_touch_the_retained_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broker, "MAX_RETAINED_TOPICS", 2)
    router, _ = make_router()
    pub = _publisher(router)
    pub.publish("com.a", ["a"], retain=True)
    pub.publish("com.b", ["b"], retain=True)
    pub.publish("com.a", ["not retained"])
    pub.publish("com.c", ["not retained"])
    assert _retained_topics(router) == ["com.a", "com.b"]
    (event,) = _late_subscriber(router, "com.a")
    assert event.args == ["a"]
