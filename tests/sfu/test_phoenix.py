"""
The SFU from the Phoenix gateway's hub channel (``sfu:*`` events and
pushes), end to end: real aiortc peers signalling over real Phoenix
websockets to the daemon in this process, the media worker forwarding,
WAMP and Phoenix members in one room.
"""

from __future__ import annotations

from typing import Any

import pytest_twisted

from tests.sfu import peers
from tests.sfu.harness import (
    MediaMember,
    PhoenixRefused,
    back_to,
    baseline,
    flowing,
    phoenix_member,
    poll,
    refused,
    room_of,
    sleep,
    stays_silent,
)


async def mixed_room(daemon: Any, loop: Any, phoenix: int) -> tuple[str, MediaMember, list[Any]]:
    """A room with its WAMP owner and C{phoenix} Phoenix members, all joined to the media."""
    sid, (owner,) = await room_of(daemon, 1)
    w = MediaMember(owner, loop, sid)
    await w.join_media()
    ps = [await phoenix_member(daemon, loop, sid, f"Phoenix {i}") for i in range(phoenix)]
    for p in ps:
        await p.join_media()
    return sid, w, ps


def own_payloads_only(m: MediaMember, senders: list[MediaMember]) -> None:
    """Everything C{m} received was sent by one of C{senders}, none by itself."""
    sent = set().union(*(s.publisher.sent for s in senders if s.publisher))
    for _, peer in m.subscriptions.values():
        assert set(peer.received["audio"]) <= sent
        if m.publisher is not None:
            assert not set(peer.received["audio"]) & m.publisher.sent


@pytest_twisted.ensureDeferred
async def test_a_phoenix_member_publishes_and_another_hears_it_byte_for_byte(
    daemon: Any, loop: Any
) -> None:
    sid, w, (a, b) = await mixed_room(daemon, loop, 2)
    await a.publish()
    await poll(lambda: a.events_of("connected"))
    assert a.events_of("connected") == [{"handle_id": a.publisher_handle}]
    # The news reaches b on its hub channel, as a push.
    await poll(lambda: b.events_of("publisher"))
    assert b.events_of("publisher") == [{"session_id": a.session_id, "kinds": ["audio"]}]
    joined = await b.sfu("join", perms_token=b.joined["perms_token"])
    assert joined["publishers"] == [{"session_id": a.session_id, "kinds": ["audio"]}]
    assert joined["codecs"] == {"audio": "opus/48000/2", "video": "VP8/90000"}
    await b.subscribe(a)
    await poll(lambda: b.heard(a) >= 50, seconds=20)
    own_payloads_only(b, [a])
    assert not a.events_of("publisher")  # never told of itself
    # The SFU keeps the publisher's presence flag: every member sees it stream.
    streaming = [
        d["joins"][a.session_id]["metas"][0].get("streaming")
        for d in b.client.pushes("presence_diff")
        if a.session_id in d["joins"]
    ]
    assert streaming and streaming[-1] is True
    for m in (a, b):
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_a_wamp_member_and_a_phoenix_member_hear_each_other(daemon: Any, loop: Any) -> None:
    sid, w, (p,) = await mixed_room(daemon, loop, 1)
    await w.publish()
    await p.publish()
    await poll(lambda: w.events_of("publisher") and p.events_of("publisher"))
    assert [e["session_id"] for e in w.events_of("publisher")] == [p.session_id]
    assert [e["session_id"] for e in p.events_of("publisher")] == [w.session_id]
    await w.subscribe(p)
    await p.subscribe(w)
    await poll(lambda: w.heard(p) >= 50 and p.heard(w) >= 50, seconds=20)
    own_payloads_only(w, [p])
    own_payloads_only(p, [w])
    for m in (w, p):
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_bad_sfu_requests_get_an_error_reply_with_a_reason(daemon: Any, loop: Any) -> None:
    sid, (owner,) = await room_of(daemon, 1)
    w = MediaMember(owner, loop, sid)
    await w.join_media()
    p = await phoenix_member(daemon, loop, sid, "Phoenix")
    _, offer = await loop.run(peers.publisher_offer())
    before = await baseline(daemon)

    async def reason(procedure: str, **payload: Any) -> Any:
        e = await refused(p.sfu(procedure, **payload), PhoenixRefused)
        assert isinstance(e.message, str) and e.message, e.response
        return e.reason

    # Before joining the room's media.
    assert await reason("publish", sdp=offer) == "not_joined"
    assert await reason("subscribe", session_id=w.session_id) == "not_joined"
    # Perms tokens: garbage, and another member's (the WAMP owner's).
    assert await reason("join", perms_token="not a token") == "invalid_token"
    assert await reason("join", perms_token=owner.joined["perms_token"]) == "invalid_token"
    assert await reason("join") == "invalid_payload"
    await p.join_media()
    # Malformed SDP.
    assert await reason("publish", sdp="v=0\r\nnonsense") == "bad_sdp"
    assert await reason("publish", sdp=12) == "bad_sdp"
    # Unknown members and handles; the WAMP owner does not publish yet.
    assert await reason("subscribe", session_id="nobody") == "no_such_publisher"
    assert await reason("subscribe", session_id=w.session_id) == "no_such_publisher"
    assert await reason("subscribe", session_id=p.session_id) == "no_such_publisher"
    assert await reason("answer", handle_id="nope", sdp=offer) == "no_such_handle"
    assert await reason("trickle", handle_id="nope", candidate=None) == "no_such_handle"
    assert await reason("close", handle_id="nope") == "no_such_handle"
    # Arguments that do not fit; the room is the channel's.
    assert await reason("publish") == "invalid_payload"
    assert await reason("publish", sdp=offer, extra=1) == "invalid_payload"
    raw = await p.request("sfu:publish", {"hub_sid": sid, "sdp": offer})
    assert raw["status"] == "error" and raw["response"]["reason"] == "invalid_payload"
    unknown = await p.request("sfu:teleport", {})
    assert unknown["response"] == {"reason": "unknown_event", "message": "sfu:teleport"}
    host = await p.request("get_host", {})
    assert host["status"] == "error" and host["response"]["reason"] == "not_supported"
    assert "sfu:" in host["response"]["message"]
    # Nothing was left behind, and the socket and its media still work.
    await back_to(daemon, before)
    await w.publish()
    await p.subscribe(w)
    await poll(lambda: p.heard(w) >= 10, seconds=20)
    for m in (w, p):
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_leaving_and_closing_the_socket_free_the_peer_connections(
    daemon: Any, loop: Any
) -> None:
    sid, w, (a, b, c) = await mixed_room(daemon, loop, 3)
    before = await baseline(daemon)
    await a.publish()
    await poll(lambda: a.events_of("connected"))
    for m in (w, b, c):
        await m.subscribe(a)
    for m in (w, b, c):
        await poll(lambda m=m: m.heard(a) >= 10, seconds=20)
    stats = await daemon.sfu.stats()
    assert stats["handles"] == before["handles"] + 4
    # sfu:leave ends b's subscription; b is no longer told about a.
    assert await b.sfu("leave") == {}
    await poll(lambda: _handles(daemon, before["handles"] + 3))
    # Leaving the hub channel ends c's media with its seat.
    reply = await c.client.request(c.topic, "phx_leave", {})
    assert reply["status"] == "ok"
    await poll(lambda: _handles(daemon, before["handles"] + 2))
    # a's socket closes without a word: its publisher goes, and w, still
    # listening, is told.
    assert a.client.proto is not None
    a.client.proto.dropConnection()
    await poll(lambda: w.events_of("unpublished"), seconds=10)
    assert w.events_of("unpublished") == [
        {"event": "unpublished", "session_id": a.session_id, "reason": "left"}
    ]
    assert [e["reason"] for e in w.events_of("closed")] == ["publisher_gone"]
    await back_to(daemon, before)
    assert not b.events_of("unpublished") and not b.events_of("closed")
    for m in (w, a, b, c):
        await m.close_peers()


async def _handles(daemon: Any, n: int) -> bool:
    stats = await daemon.sfu.stats()
    return bool(stats["handles"] == n and len(daemon.sfu_signalling.signalling.handles) == n)


@pytest_twisted.ensureDeferred
async def test_hub_channel_blocks_and_kicks_act_on_media(daemon: Any, loop: Any) -> None:
    sid, w, (a, b) = await mixed_room(daemon, loop, 2)
    for m in (w, a, b):
        await m.publish()
    for listener, speaker in ((a, b), (b, a), (w, a)):
        await listener.subscribe(speaker)
        await flowing(listener, speaker)
    # A block on the hub channel (the room core's) silences both ways.
    a.client.push(a.topic, "block", {"session_id": b.session_id})
    await stays_silent(a, b)
    await stays_silent(b, a)
    await flowing(w, a)  # others are not affected
    a.client.push(a.topic, "unblock", {"session_id": b.session_id})
    await flowing(a, b)
    await flowing(b, a)
    # The WAMP owner kicks a: a is told its handles ended for a kick before
    # its socket closes (1000), and those listening to it are told why.
    await w.member.call("kick", hub_sid=sid, session_id=a.session_id)
    await poll(lambda: a.client.close is not None, seconds=10)
    assert a.client.close is not None and a.client.close[0] == 1000
    assert a.events_of("closed") and {e["reason"] for e in a.events_of("closed")} == {"kicked"}
    for m in (w, b):
        await poll(lambda m=m: m.events_of("unpublished"))
        gone = m.events_of("unpublished")
        assert [(e["session_id"], e["reason"]) for e in gone] == [(a.session_id, "kicked")]
    assert [e["reason"] for e in b.events_of("closed")] == ["publisher_gone"]
    await stays_silent(b, a)
    for m in (w, a, b):
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_a_muted_phoenix_member_is_heard_again_once_it_sends_unmute(
    daemon: Any, loop: Any
) -> None:
    sid, w, (p,) = await mixed_room(daemon, loop, 1)
    await p.publish()
    await w.subscribe(p)
    await flowing(w, p)
    await w.member.call("mute", hub_sid=sid, session_id=p.session_id)
    await p.client.wait(lambda f: f[3] == "mute")
    await stays_silent(w, p)
    ref = p.client.push(p.topic, "unmute", {})  # quiet: a reply only if refused
    await flowing(w, p)
    assert not [f for f in p.client.frames if f[1] == ref]
    for m in (w, p):
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_sfu_pushes_reach_only_the_members_they_concern(daemon: Any, loop: Any) -> None:
    sid, w, (a, b) = await mixed_room(daemon, loop, 2)
    seated_only = await phoenix_member(daemon, loop, sid, "No media")
    other_sid, _ = await room_of(daemon, 1)
    elsewhere = await phoenix_member(daemon, loop, other_sid, "Away")
    await elsewhere.join_media()
    b.client.push(b.topic, "block", {"session_id": a.session_id})
    await sleep(0.3)
    await a.publish()
    await poll(lambda: w.events_of("publisher"))
    await sleep(0.5)  # for anything that should not come
    assert [e["session_id"] for e in w.events_of("publisher")] == [a.session_id]
    assert not b.events_of("publisher")  # in a block relation with a
    assert not a.events_of("publisher")
    for m in (seated_only, elsewhere):
        assert not [f for f in m.client.frames if f[3].startswith("sfu:")]
    await a.close_peers()


@pytest_twisted.ensureDeferred
async def test_a_flood_of_sfu_requests_is_answered_and_the_socket_stays(
    daemon: Any, loop: Any
) -> None:
    sid, w, (p,) = await mixed_room(daemon, loop, 1)
    await p.publish()
    bad = {"handle_id": p.publisher_handle, "candidate": {"candidate": "candidate:x"}}
    # More than run beside at once (hubsd.phoenix.media.MAX_BESIDE): the rest
    # wait in the socket's line, and every one is answered.
    refs = [p.client.push(p.topic, "sfu:trickle", bad) for _ in range(40)]
    chat = p.client.push(p.topic, "message", {"type": "chat", "body": "still here"})
    for ref in refs:
        reply = await p.client.wait(lambda f, ref=ref: f[1] == ref and f[3] == "phx_reply")
        assert reply[4]["status"] == "error", reply
        assert reply[4]["response"]["reason"] == "bad_request"
    await p.client.wait(lambda f: f[3] == "message" and f[4].get("body") == "still here")
    assert not [f for f in p.client.frames if f[1] == chat]  # chat is answered only if refused
    assert p.client.close is None
    await poll(lambda: p.events_of("connected"))
    await w.subscribe(p)
    await poll(lambda: w.heard(p) >= 10, seconds=20)
    for m in (w, p):
        await m.close_peers()
