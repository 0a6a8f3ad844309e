"""
Bad input and failures: malformed SDP, unsupported codecs, ICE that never
completes, a member that vanishes, floods of subscriptions, foreign handles,
a media worker that dies. Each gives a clear error or event, and the worker
holds no more peer connections, UDP sockets, tasks or threads afterwards
than before.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet.defer import DeferredList, ensureDeferred

from tests.sfu import peers
from tests.sfu.conftest import own_daemon
from tests.sfu.harness import back_to, baseline, media_room, poll, refused

PCMU_ONLY = """v=0
o=- 1 1 IN IP4 127.0.0.1
s=-
t=0 0
m=audio 9 UDP/TLS/RTP/SAVPF 0
c=IN IP4 127.0.0.1
a=mid:0
a=sendonly
a=rtcp-mux
a=rtpmap:0 PCMU/8000
a=ice-ufrag:abcd
a=ice-pwd:abcdefghijklmnopqrstuv
a=fingerprint:sha-256 FINGERPRINT
a=setup:actpass
""".replace("FINGERPRINT", ":".join(["AB"] * 32))


@pytest_twisted.ensureDeferred
async def test_sdp_that_is_not_an_offer_hubsd_takes_is_refused_clearly(
    daemon: Any, loop: Any
) -> None:
    sid, (a,) = await media_room(daemon, loop, 1)
    before = await baseline(daemon)
    _, good = await loop.run(peers.publisher_offer(video=True))
    _, with_data = await loop.run(peers.publisher_offer(data=True))
    cases = {
        "garbage": ("nonsense", "hubsd.sfu.error.bad_sdp"),
        "empty": ("", "hubsd.sfu.error.bad_sdp"),
        "not text": (12, "hubsd.sfu.error.bad_sdp"),
        "huge": ("v=0\r\n" * 20000, "hubsd.sfu.error.bad_sdp"),
        "no opus": (PCMU_ONLY, "hubsd.sfu.error.unsupported_codec"),
        "no vp8": (good.replace("VP8/90000", "H264/90000"), "hubsd.sfu.error.unsupported_codec"),
        "two audio": (good + good[good.index("m=audio") :], "hubsd.sfu.error.bad_sdp"),
        "data channel": (with_data, "hubsd.sfu.error.bad_sdp"),
    }
    got = {}
    for name, (sdp, _) in cases.items():
        e = await refused(a.sfu("publish", hub_sid=sid, sdp=sdp))
        got[name] = e.error
        assert e.args and e.args[0], name
    assert got == {name: uri for name, (_, uri) in cases.items()}
    e = await refused(a.sfu("publish", hub_sid=sid, sdp=PCMU_ONLY))
    assert e.args[0] == "audio must be offered as opus"
    e = await refused(a.sfu("publish", hub_sid=sid, sdp=with_data))
    assert e.args[0].startswith("data channels are not relayed")
    e = await refused(a.sfu("publish", hub_sid=sid))
    assert e.error == "hubsd.error.invalid_payload"
    await back_to(daemon, before)


@pytest_twisted.ensureDeferred
async def test_foreign_and_unknown_handles_and_wrong_targets(daemon: Any, loop: Any) -> None:
    sid, (a, b) = await media_room(daemon, loop, 2)
    await a.publish()
    for call in (
        b.sfu("close", handle_id=a.publisher_handle),
        b.sfu("trickle", handle_id=a.publisher_handle, candidate=None),
        b.sfu("answer", handle_id="nope", sdp="v=0"),
        b.sfu("close", handle_id=["not", "a", "string"]),
    ):
        assert (await refused(call)).error == "hubsd.sfu.error.no_such_handle"
    for target in (a.session_id, b.session_id, "nobody", None):
        e = await refused(a.sfu("subscribe", hub_sid=sid, session_id=target))
        assert e.error == "hubsd.sfu.error.no_such_publisher"
    e = await refused(a.sfu("answer", handle_id=a.publisher_handle, sdp="v=0"))
    assert e.error == "hubsd.sfu.error.bad_request"
    e = await refused(a.sfu("trickle", handle_id=a.publisher_handle, candidate={"candidate": 5}))
    assert e.error == "hubsd.sfu.error.bad_request"
    e = await refused(b.sfu("join", hub_sid="nosuchroom", perms_token="x"))
    assert e.error == "hubsd.sfu.error.not_joined"
    await a.close_peers()


@pytest_twisted.ensureDeferred
async def test_ice_that_never_completes_times_out_and_frees_everything(
    daemon: Any, loop: Any
) -> None:
    sid, (a,) = await media_room(daemon, loop, 1)
    before = await baseline(daemon)
    peer, offer = await loop.run(peers.publisher_offer())
    reply = await a.sfu("publish", hub_sid=sid, sdp=offer)
    await loop.run(peers.close(peer))  # the answer is never applied
    await poll(lambda: a.events_of("closed"), seconds=15)  # the daemon's ice_timeout is 5 s
    assert a.events_of("closed") == [
        {"event": "closed", "handle_id": reply["handle_id"], "reason": "ice_timeout"}
    ]
    await back_to(daemon, before)


@pytest_twisted.ensureDeferred
async def test_a_vanished_member_is_dropped_by_consent_checks(tmp_path: Path, loop: Any) -> None:
    async with own_daemon(tmp_path, sfu="consent_interval = 200ms") as daemon:
        sid, (a, b) = await media_room(daemon, loop, 2)
        before = await baseline(daemon)
        await a.publish()
        peer = await b.subscribe(a)
        await poll(lambda: b.heard(a) > 5, seconds=20)
        await loop.run(peers.vanish(peer))
        await poll(lambda: b.events_of("closed"), seconds=20)
        assert [e["reason"] for e in b.events_of("closed")] == ["failed"]
        await a.sfu("close", handle_id=a.publisher_handle)
        await a.close_peers()
        await b.close_peers()
        await back_to(daemon, before)


@pytest_twisted.ensureDeferred
async def test_a_flood_of_subscriptions_is_bounded_and_leaves_nothing_behind(
    tmp_path: Path, loop: Any
) -> None:
    async with own_daemon(tmp_path, sfu="max_handles = 4") as daemon:
        sid, (a, b) = await media_room(daemon, loop, 2)
        before = await baseline(daemon)
        await a.publish()
        calls = [
            ensureDeferred(b.sfu("subscribe", hub_sid=sid, session_id=a.session_id))
            for _ in range(30)
        ]
        results = await DeferredList(calls, consumeErrors=True)
        errors = {r.value.error for ok, r in results if not ok}
        assert errors <= {"hubsd.sfu.error.too_many_handles", "hubsd.sfu.error.bad_request"}
        assert errors, "30 concurrent subscriptions were all taken with max_handles = 4"

        # One publisher; b keeps its last subscription (the others were
        # refused or replaced).
        async def settled() -> bool:
            return (await daemon.sfu.stats())["handles"] - before["handles"] <= 2

        await poll(settled, seconds=10)
        await b.sfu("leave", hub_sid=sid)
        await a.sfu("leave", hub_sid=sid)
        await a.close_peers()
        await back_to(daemon, before)


@pytest_twisted.ensureDeferred
async def test_a_crashed_worker_is_restarted_and_the_bus_is_unaffected(
    daemon: Any, loop: Any
) -> None:
    sid, (a, b) = await media_room(daemon, loop, 2)
    await a.publish()
    await b.subscribe(a)
    await poll(lambda: b.heard(a) > 5, seconds=20)
    worker = daemon.sfu.supervisor.workers[0]
    os.kill(worker.pid, signal.SIGKILL)
    await poll(lambda: a.events_of("closed") and b.events_of("closed"), seconds=10)
    assert [e["reason"] for e in a.events_of("closed")] == ["worker_restarted"]
    assert {e["reason"] for e in b.events_of("closed")} == {"worker_restarted"}
    # The room's messages never stopped.
    await a.member.call("update_presence", hub_sid=sid, presence="room")
    new = await poll(lambda: (w := daemon.sfu.supervisor.workers[0]) is not worker and w.alive)
    assert new
    await a.close_peers()
    await b.close_peers()
    b.subscriptions.clear()
    await a.publish()
    await b.subscribe(a)
    await poll(lambda: b.heard(a) > 5, seconds=20)
    assert (await daemon.sfu.stats())["restarts"] == 1
    await a.close_peers()
    await b.close_peers()


@pytest_twisted.ensureDeferred
async def test_concurrent_publishes_leave_one_publisher(daemon: Any, loop: Any) -> None:
    sid, (a,) = await media_room(daemon, loop, 1)
    before = await baseline(daemon)
    offers = [await loop.run(peers.publisher_offer()) for _ in range(5)]
    calls = [ensureDeferred(a.sfu("publish", hub_sid=sid, sdp=sdp)) for _, sdp in offers]
    results = await DeferredList(calls, consumeErrors=True)
    assert all(ok for ok, _ in results)

    async def one() -> bool:
        stats = await daemon.sfu.stats()
        return stats["handles"] == stats["publishers"] == before["handles"] + 1

    await poll(one, seconds=10)
    await a.sfu("leave", hub_sid=sid)
    for peer, _ in offers:
        await loop.run(peers.close(peer))
    await back_to(daemon, before)
