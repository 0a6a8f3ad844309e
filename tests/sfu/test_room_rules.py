"""
The room's rules on media: blocks both ways, kicks, a moderator's mute,
publisher slots, the perms token, key frames for late subscribers and the
presence ``streaming`` flag. Real aiortc peers over loopback.
"""

from __future__ import annotations

import time
from typing import Any

import pytest_twisted

from tests.sfu.harness import (
    MediaMember,
    flowing,
    media_room,
    poll,
    refused,
    room_of,
    sleep,
    stays_silent,
)


async def pair(daemon: Any, loop: Any, video: bool = False) -> tuple[str, MediaMember, MediaMember]:
    sid, (a, b) = await media_room(daemon, loop, 2)
    await a.publish(video=video)
    await b.publish()
    await a.subscribe(b)
    await b.subscribe(a)
    await flowing(a, b)
    await flowing(b, a)
    return sid, a, b


@pytest_twisted.ensureDeferred
async def test_a_block_stops_media_both_ways_and_unblock_resumes_with_a_key_frame(
    daemon: Any, loop: Any
) -> None:
    sid, a, b = await pair(daemon, loop, video=True)
    await flowing(b, a, "video")
    await a.member.call("block", hub_sid=sid, session_id=b.session_id)
    await stays_silent(a, b)
    await stays_silent(b, a)
    await stays_silent(b, a, "video")
    _, peer = b.subscriptions[a.session_id]
    keyframes = len(peer.keyframes)
    unblocked_at = time.monotonic()
    await a.member.call("unblock", hub_sid=sid, session_id=b.session_id)
    await flowing(a, b)
    await flowing(b, a)
    await poll(lambda: len(peer.keyframes) > keyframes, seconds=5)
    assert peer.keyframes[-1] - unblocked_at < 1.0
    await a.close_peers()
    await b.close_peers()


@pytest_twisted.ensureDeferred
async def test_block_by_the_other_side_is_the_same(daemon: Any, loop: Any) -> None:
    sid, a, b = await pair(daemon, loop)
    await b.member.call("block", hub_sid=sid, session_id=a.session_id)
    await stays_silent(a, b)
    await stays_silent(b, a)
    await a.close_peers()
    await b.close_peers()


@pytest_twisted.ensureDeferred
async def test_a_kick_tears_the_members_media_down(daemon: Any, loop: Any) -> None:
    sid, (owner, b, c) = await media_room(daemon, loop, 3)
    for m in (owner, b, c):
        await m.publish()
    await owner.subscribe(b)
    await c.subscribe(b)
    await b.subscribe(owner)
    await flowing(owner, b)
    before = await daemon.sfu.stats()
    await owner.member.call("kick", hub_sid=sid, session_id=b.session_id)
    await stays_silent(owner, b)
    await stays_silent(c, b)
    # b's publisher and subscription are gone from the server, and with its
    # publisher the subscriptions of the others to it.
    after = await poll(lambda: _stats_below(daemon, before["handles"] - 3), seconds=10)
    assert after["publishers"] == before["publishers"] - 1
    for m in (owner, c):
        await poll(lambda m=m: m.events_of("unpublished") and m.events_of("closed"))
        gone = m.events_of("unpublished")
        assert [e["session_id"] for e in gone] == [b.session_id]
        assert gone[0]["reason"] == "kicked"
        assert [e["reason"] for e in m.events_of("closed")] == ["publisher_gone"]
    assert {e["reason"] for e in b.events_of("closed")} == {"kicked"}
    # The kicked member cannot come back with its still-unexpired token.
    e = await refused(b.sfu("join", hub_sid=sid, perms_token=b.member.joined["perms_token"]))
    assert e.error == "hubsd.sfu.error.not_joined"
    for m in (owner, b, c):
        await m.close_peers()


async def _stats_below(daemon: Any, handles: int) -> Any:
    stats = await daemon.sfu.stats()
    return stats if stats["handles"] <= handles else None


@pytest_twisted.ensureDeferred
async def test_a_moderator_mute_stops_forwarding_until_the_member_unmutes(
    daemon: Any, loop: Any
) -> None:
    sid, (owner, b, c) = await media_room(daemon, loop, 3)
    await b.publish()
    await owner.subscribe(b)
    await c.subscribe(b)
    await flowing(c, b)
    await owner.member.call("mute", hub_sid=sid, session_id=b.session_id)
    await stays_silent(c, b)
    await stays_silent(owner, b)
    # Nothing the muted member does with the SFU brings its voice back...
    await b.publish()
    await c.subscribe(b)
    await stays_silent(c, b)
    # ... only its own unmute.
    await b.member.call("unmute", hub_sid=sid)
    await flowing(c, b)
    for m in (owner, b, c):
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_a_late_subscriber_gets_a_key_frame_within_a_second(daemon: Any, loop: Any) -> None:
    sid, (a, b) = await media_room(daemon, loop, 2)
    await a.publish(video=True)
    await poll(lambda: a.events_of("connected"))
    await sleep(3)  # the publisher's first key frame is long gone
    subscribed = time.monotonic()
    peer = await b.subscribe(a)
    # The publisher's encoder makes no key frame unasked: without the PLI the
    # server sends when the leg comes up, this waits in vain.
    await poll(lambda: peer.first_video is not None, seconds=10)
    assert peer.first_video is not None
    # The very first video packet starts a key frame (nothing undecodable
    # before it). It comes about 0.12 s after the subscribe call (three runs
    # on the 2-core development machine, 2026-12-01, connection set-up
    # included); the bound here leaves room for a loaded machine.
    assert peer.keyframes and peer.keyframes[0] == peer.first_video
    assert peer.first_video - subscribed < 5.0
    await a.close_peers()
    await b.close_peers()


@pytest_twisted.ensureDeferred
async def test_publisher_slots_are_limited_and_full_says_so(daemon: Any, loop: Any) -> None:
    sid, media = await media_room(daemon, loop, 4)  # the daemon allows 3 publishers
    for m in media[:3]:
        await m.publish()
    e = await refused(media[3].publish())
    assert e.error == "hubsd.sfu.error.room_full"
    assert "full" in e.args[0]
    # Listening is never refused for size.
    await media[3].subscribe(media[0])
    await flowing(media[3], media[0])
    # A slot freed is a slot taken.
    await media[0].sfu("close", handle_id=media[0].publisher_handle)
    await media[3].publish()
    for m in media:
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_perms_tokens_that_are_not_this_members_for_this_room_are_refused(
    daemon: Any, loop: Any
) -> None:
    sid, (a, b) = await room_of(daemon, 2)
    other_sid, _ = await room_of(daemon, 1)
    await b.join(other_sid, "B elsewhere")
    tokens = daemon.rooms.tokens
    ma = MediaMember(a, loop, sid)
    expired = tokens.issue_perms(sid, a.session_id, None, {"join_hub": True}, lifetime=1)
    no_join = tokens.issue_perms(sid, a.session_id, None, {"voice_chat": True})
    other_room = b.joined["perms_token"]  # b's last join was the other room
    cases = {
        "garbage": "not-a-token",
        "another member's": tokens.issue_perms(sid, b.session_id, None, {"join_hub": True}),
        "other room": other_room,
        "no join_hub": no_join,
    }
    reasons = {}
    for name, token in cases.items():
        e = await refused(ma.join_media(token))
        reasons[name] = (e.error, e.args[0])
    await sleep(1.1)
    e = await refused(ma.join_media(expired))
    reasons["expired"] = (e.error, e.args[0])
    assert reasons == {
        "garbage": ("hubsd.sfu.error.invalid_token", "invalid perms token: malformed"),
        "another member's": (
            "hubsd.sfu.error.invalid_token",
            "invalid perms token: issued for another member",
        ),
        "other room": (
            "hubsd.sfu.error.invalid_token",
            "invalid perms token: issued for another room",
        ),
        "no join_hub": ("hubsd.sfu.error.not_permitted", "not permitted: join_hub"),
        "expired": ("hubsd.sfu.error.invalid_token", "invalid perms token: expired"),
    }
    # The member's own token works, and nothing above let it in before.
    e = await refused(ma.sfu("publish", hub_sid=sid, sdp="v=0"))
    assert e.error == "hubsd.sfu.error.not_joined"
    assert (await ma.join_media())["max_publishers"] == 3


@pytest_twisted.ensureDeferred
async def test_presence_streaming_follows_the_publisher(daemon: Any, loop: Any) -> None:
    sid, (a, b) = await media_room(daemon, loop, 2)
    room = daemon.rooms.directory.rooms[sid]
    assert not room.presence.get(a.session_id).get("streaming")
    await a.publish()
    await poll(lambda: room.presence.get(a.session_id).get("streaming"))
    await poll(lambda: b.events_of("publisher"))
    assert [e["session_id"] for e in b.events_of("publisher")] == [a.session_id]
    await a.sfu("close", handle_id=a.publisher_handle)
    await poll(lambda: not room.presence.get(a.session_id).get("streaming"))
    await poll(lambda: b.events_of("unpublished"))
    assert [e["session_id"] for e in b.events_of("unpublished")] == [a.session_id]
    # a itself is told of neither.
    assert not a.events_of("publisher") and not a.events_of("unpublished")
    await a.close_peers()


@pytest_twisted.ensureDeferred
async def test_media_news_reaches_only_the_members_it_concerns(daemon: Any, loop: Any) -> None:
    sid, (a, b, c) = await media_room(daemon, loop, 3)
    _, (stranger,) = await media_room(daemon, loop, 1)  # another room
    await c.member.call("block", hub_sid=sid, session_id=a.session_id)
    await a.publish()
    await poll(lambda: b.events_of("publisher"))
    await b.publish()
    await poll(lambda: c.events_of("publisher") and a.events_of("publisher"))
    await sleep(0.5)  # for anything that should not come
    assert [e["session_id"] for e in b.events_of("publisher")] == [a.session_id]
    # c blocked a: it hears of b only, and a hears of b only.
    assert [e["session_id"] for e in c.events_of("publisher")] == [b.session_id]
    assert [e["session_id"] for e in a.events_of("publisher")] == [b.session_id]
    assert not stranger.events.events
    # The join reply lists the same: what c may listen to.
    again = await c.sfu("join", hub_sid=sid, perms_token=c.member.joined["perms_token"])
    assert again["publishers"] == [{"session_id": b.session_id, "kinds": ["audio"]}]
    for m in (a, b):
        await m.close_peers()


@pytest_twisted.ensureDeferred
async def test_losing_voice_chat_ends_the_publisher(daemon: Any, loop: Any) -> None:
    sid, (owner, b) = await media_room(daemon, loop, 2)
    await owner.publish()
    await b.publish()
    await owner.subscribe(b)
    await flowing(owner, b)
    await owner.member.call("update", hub_sid=sid, member_permissions={"voice_chat": False})
    await poll(lambda: b.events_of("closed"))
    assert [e["reason"] for e in b.events_of("closed")] == ["not_permitted"]
    await stays_silent(owner, b)
    e = await refused(b.publish())
    assert e.error == "hubsd.sfu.error.not_permitted"
    # The owner keeps every right.
    assert not owner.events_of("closed") or all(
        x["reason"] == "publisher_gone" for x in owner.events_of("closed")
    )
    for m in (owner, b):
        await m.close_peers()
