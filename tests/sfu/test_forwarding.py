"""
Voice and video through the SFU, end to end: real aiortc peers in this
process, real DTLS/SRTP over loopback, the daemon's worker forwarding.
"""

from __future__ import annotations

from typing import Any

import pytest_twisted

from tests.sfu.harness import media_room, poll


@pytest_twisted.ensureDeferred
async def test_three_publishers_hear_each_other_byte_for_byte(daemon: Any, loop: Any) -> None:
    sid, (a, b, c) = await media_room(daemon, loop, 3)
    await a.publish(video=True)
    await b.publish()
    await c.publish()
    for m in (a, b, c):
        await poll(lambda m=m: m.events_of("connected"))
    for m in (a, b, c):
        for other in (a, b, c):
            if other is not m:
                await m.subscribe(other)
    # Each member hears both others: payloads identical to what they sent.
    for m in (a, b, c):
        for other in (a, b, c):
            if other is not m:
                await poll(lambda m=m, o=other: m.heard(o) >= 50, seconds=20)
    await poll(lambda: b.heard(a, "video") >= 10, seconds=20)
    # Never their own: nothing received matches the receiver's own payloads.
    for m in (a, b, c):
        assert m.publisher is not None
        for _, peer in m.subscriptions.values():
            assert not set(peer.received["audio"]) & m.publisher.sent
    # Nothing arrived that nobody sent (no re-encoding on the way).
    sent = set().union(*(m.publisher.sent for m in (a, b, c) if m.publisher))
    for m in (a, b, c):
        for _, peer in m.subscriptions.values():
            assert set(peer.received["audio"]) <= sent
    for m in (a, b, c):
        await m.close_peers()
