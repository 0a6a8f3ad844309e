"""Backpressure over a real websocket: the router pauses, queues and limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_twisted

from hubsd.wamp.settings import RouterSettings
from tests.wamp.harness import OPEN_ROLE, Harness, Inbox, timeout

LIMITED = RouterSettings(
    realms=("realm1",),
    roles=(OPEN_ROLE,),
    outgoing_soft_limit=50_000,
    outgoing_hard_limit=400_000,
    droppable_topics=("com.pos",),
    overload_lag=0.0,  # backpressure alone: no load shedding in these tests
)


@pytest_twisted.async_yield_fixture
async def limited() -> AsyncIterator[Harness]:
    h = Harness(LIMITED)
    yield h
    await h.close()


@pytest_twisted.ensureDeferred
async def test_flooded_reliable_subscriber_is_disconnected_past_hard_limit(
    limited: Harness,
) -> None:
    client = await limited.connect("msgpack")
    await client.subscribe(lambda *a: None, "com.flood")
    core = limited.router.attach_local_session("realm1", "core", "trusted")
    blob = "z" * 20_000
    # All in one reactor turn: the client cannot read meanwhile. The kernel's
    # socket buffers take the first megabytes; then the router's own queue
    # fills up to the hard limit (bounded: at most 40 MB are offered).
    for i in range(2000):
        core.publish("com.flood", [i, blob])
        if limited.router.stats.slow_disconnects:
            break
    assert limited.router.stats.slow_disconnects == 1
    await timeout(client.left)


@pytest_twisted.ensureDeferred
async def test_flooded_droppable_subscriber_keeps_latest_and_stays(limited: Harness) -> None:
    client = await limited.connect("json")
    inbox = Inbox()
    await client.subscribe(inbox, "com.pos")
    core = limited.router.attach_local_session("realm1", "core", "trusted")
    blob = "p" * 20_000
    for i in range(1000):  # more than the kernel's socket buffers hold
        core.publish("com.pos", [i, blob])
    stats = limited.router.stats
    assert stats.slow_disconnects == 0
    assert stats.events_superseded > 0
    core.publish("com.pos", ["last"])
    events: list[Any] = await inbox.wait(1)
    while events[-1][0][0] != "last":
        events = await inbox.wait(len(events) + 1)
    delivered = [e[0][0] for e in events]
    assert delivered == sorted(delivered[:-1], key=int) + ["last"]
    # What the kernel buffered arrives; the rest was superseded down to one.
    assert len(delivered) < 1001
