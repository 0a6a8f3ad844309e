"""Autobahn (Twisted) clients doing pub/sub through hubsd's router."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.types import PublishOptions, SubscribeOptions
from twisted.internet.defer import Deferred

from tests.wamp.harness import Harness, timeout


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
        "com.example.topic", 1, b"\x00\xffbin", "x", {"k": [1.5]}, kw="v",
        options=PublishOptions(acknowledge=True),
    )
    args, kwargs = await timeout(got)
    assert args == (1, b"\x00\xffbin", "x", {"k": [1.5]})
    assert kwargs == {"kw": "v"}
