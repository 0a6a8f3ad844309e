"""
Signalling paths not covered elsewhere: trickled candidates (an offer without
any, its candidates sent one by one; the server also learns the peer's
address from its checks, so this proves the path, not that ICE needed it),
and a WAMP session that ends.
"""

from __future__ import annotations

import re
from typing import Any

import pytest_twisted

from tests.sfu import peers
from tests.sfu.harness import media_room, poll, refused


@pytest_twisted.ensureDeferred
async def test_trickled_candidates_are_taken_and_bad_ones_refused(daemon: Any, loop: Any) -> None:
    sid, (a, b) = await media_room(daemon, loop, 2)
    peer, offer = await loop.run(peers.publisher_offer())
    lines = re.findall(r"^a=candidate:(.*?)\r?$", offer, re.M)
    mid = re.search(r"^a=mid:(\S+)", offer, re.M)
    assert lines and mid
    bare = re.sub(r"^a=(candidate:.*|end-of-candidates)\r?\n", "", offer, flags=re.M)
    assert "a=candidate" not in bare
    reply = await a.sfu("publish", hub_sid=sid, sdp=bare)
    for line in lines:
        candidate = {"candidate": "candidate:" + line, "sdpMid": mid.group(1), "sdpMLineIndex": 0}
        await a.sfu("trickle", handle_id=reply["handle_id"], candidate=candidate)
    await a.sfu("trickle", handle_id=reply["handle_id"], candidate=None)
    await loop.run(peers.accept_answer(peer, reply["sdp"]))
    a.publisher, a.publisher_handle = peer, reply["handle_id"]
    await poll(lambda: a.events_of("connected"), seconds=15)
    await b.subscribe(a)
    await poll(lambda: b.heard(a) > 5, seconds=20)
    e = await refused(
        a.sfu("trickle", handle_id=reply["handle_id"], candidate={"candidate": "candidate:x"})
    )
    assert e.error == "hubsd.sfu.error.bad_request"
    await a.close_peers()
    await b.close_peers()


@pytest_twisted.ensureDeferred
async def test_a_session_that_ends_takes_its_media_with_it(daemon: Any, loop: Any) -> None:
    sid, (a, b) = await media_room(daemon, loop, 2)
    await a.publish()
    await b.subscribe(a)
    await poll(lambda: b.heard(a) > 5, seconds=20)
    a.member.leave()  # WAMP GOODBYE, no SFU call
    await poll(lambda: b.events_of("unpublished"), seconds=10)
    assert b.events_of("unpublished") == [
        {"event": "unpublished", "session_id": a.session_id, "reason": "left"}
    ]
    assert [e["reason"] for e in b.events_of("closed")] == ["publisher_gone"]

    async def empty() -> bool:
        return (await daemon.sfu.stats())["handles"] == 0

    await poll(empty, seconds=10)
    await a.close_peers()
    await b.close_peers()


@pytest_twisted.ensureDeferred
async def test_events_topics_are_for_seated_members_and_only_the_server_publishes(
    daemon: Any, loop: Any
) -> None:
    from autobahn.wamp.types import PublishOptions

    from tests.wamp.harness import Inbox, timeout

    sid, (a,) = await media_room(daemon, loop, 1)
    other_sid, (b,) = await media_room(daemon, loop, 1)
    e = await refused(timeout(b.member.client.subscribe(Inbox(), f"hubsd.sfu.{sid}.events")))
    assert e.error == "wamp.error.not_authorized"
    e = await refused(
        timeout(
            a.member.client.publish(
                f"hubsd.sfu.{sid}.events",
                event="publisher",
                session_id="forged",
                options=PublishOptions(acknowledge=True),
            )
        )
    )
    assert e.error == "wamp.error.not_authorized"
    e = await refused(timeout(a.member.client.register(lambda: None, "hubsd.sfu.join")))
    assert e.error == "wamp.error.not_authorized"


@pytest_twisted.ensureDeferred
async def test_a_second_connection_of_the_member_takes_its_media_over(
    daemon: Any, loop: Any
) -> None:
    from tests.rooms.wampclient import connect
    from tests.sfu.harness import MediaMember

    sid, (a, b) = await media_room(daemon, loop, 2)
    await a.publish()
    await b.subscribe(a)
    await poll(lambda: b.heard(a) > 5, seconds=20)
    again = await connect(daemon.test_port, ticket=a.member.session_token)
    await again.join(sid, "Owner again")
    await poll(lambda: b.events_of("unpublished"), seconds=10)
    assert b.events_of("unpublished")[0]["reason"] == "left"
    # The old connection's handles are gone; it cannot use them or rejoin.
    e = await refused(a.sfu("close", handle_id=a.publisher_handle))
    assert e.error == "hubsd.sfu.error.no_such_handle"
    e = await refused(a.sfu("join", hub_sid=sid, perms_token=a.member.joined["perms_token"]))
    assert e.error == "hubsd.sfu.error.not_joined"
    # The new one publishes and b hears it.
    a2 = MediaMember(again, loop, sid)
    await a2.join_media()
    await a2.publish()
    await b.subscribe(a2)
    await poll(lambda: b.heard(a2) > 5, seconds=20)
    for m in (a, a2, b):
        await m.close_peers()
