"""The gateway's plain-value parts: the outgoing queue's priority, hub objects, push shapes."""

from __future__ import annotations

from typing import Any

import orjson
from twisted.internet.defer import Deferred, succeed

from hubsd.phoenix import media
from hubsd.phoenix.events import PhoenixEvents
from hubsd.phoenix.hubobject import hub_object, janus_room_id
from hubsd.phoenix.session import PhoenixOutgoing
from hubsd.wamp.codec import JsonCodec
from hubsd.wamp.payload import Payload
from hubsd.wamp.router import RouterStats


class Transport:
    def __init__(self) -> None:
        self.data: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def writeSequence(self, seq: list[bytes]) -> None:
        self.data.extend(seq)


def outgoing() -> tuple[PhoenixOutgoing, Transport]:
    t = Transport()
    return PhoenixOutgoing(t, 1000, 10_000, RouterStats(), lambda why: None), t  # type: ignore[arg-type]


def test_a_heartbeat_reply_overtakes_queued_room_traffic() -> None:
    out, t = outgoing()
    out.pauseProducing()  # the socket is full: room traffic queues
    for i in range(3):
        out.write(b"naf%d" % i, key=("sub", i))
    out.write_first(b"heartbeat")
    assert t.data == []
    out.resumeProducing()
    assert t.data == [b"heartbeat", b"naf0", b"naf1", b"naf2"]
    assert out.queued_bytes == 0


def test_write_first_when_not_paused_sends_at_once() -> None:
    out, t = outgoing()
    out.write_first(b"hb")
    assert t.data == [b"hb"]


ROOM: dict[str, Any] = {
    "hub_sid": "abc123",
    "name": "Room",
    "slug": "room",
    "description": "d",
    "scene_id": None,
    "scene_url": None,
    "entry_mode": "allow",
    "room_size": 24,
    "member_permissions": {"text_chat": True},
    "public": False,
    "member_count": 2,
    "lobby_count": 1,
}


def test_scene_null_and_topics_are_never_both_there() -> None:
    plain = hub_object(ROOM)
    assert "scene" in plain and plain["scene"] is None and "topics" not in plain
    custom = hub_object({**ROOM, "scene_url": "https://example.org/s.glb"})
    assert "scene" not in custom
    (topic,) = custom["topics"]
    assert topic["topic_id"] == "abc123/room"
    assert topic["assets"] == [{"asset_type": "gltf_bundle", "src": "https://example.org/s.glb"}]
    assert topic["janus_room_id"] == janus_room_id("abc123") < 2**53
    assert plain["member_count"] == 2 and plain["lobby_count"] == 1


def frame(
    enc: PhoenixEvents, kind: str, kwargs: dict[str, Any], prefix: str = "hubsd.room."
) -> Any:
    data = enc.event(f"{prefix}abc123.{kind}", 1, 2, {}, Payload.from_values([], kwargs))
    if not data:
        return None
    return orjson.loads(data[2:] if data[1] < 126 else data[4:])


def test_room_notices_become_the_pushes_hubs_reads() -> None:
    enc = PhoenixEvents(lambda sid: ROOM if sid == "abc123" else None)
    assert frame(enc, "naf", {"dataType": "u", "data": {}})[:4] == [None, None, "hub:abc123", "naf"]
    assert frame(enc, "chat", {"type": "chat"})[3] == "message"
    assert frame(enc, "presence", {"joins": {}, "leaves": {}})[3] == "presence_diff"
    refresh = frame(enc, "refresh", {"room": ROOM, "stale_fields": ["name"], "session_id": "s"})
    assert refresh[3] == "hub_refresh" and refresh[4]["hubs"][0]["hub_id"] == "abc123"
    closed = frame(enc, "closed", {"hub_sid": "abc123"})
    assert closed[4]["hubs"][0]["entry_mode"] == "deny"
    assert closed[4]["stale_fields"] == ["entry_mode"]
    assert frame(enc, "muted", {"session_id": "t", "by": "o"})[3:] == [
        "mute",
        {"session_id": "t", "by": "o"},
    ]
    assert frame(enc, "roles", {"session_id": "t", "roles": {}})[3:] == ["permissions_updated", {}]
    assert frame(enc, "blocked", {"session_id": "o", "blocked": True})[3] == "block"
    assert frame(enc, "blocked", {"session_id": "o", "blocked": False})[3] == "unblock"
    pin = frame(enc, "pins", {"pinned": {"object_id": "x", "gltf": {}, "pinned_by": "o"}})
    assert pin[3:] == ["pin", {"object_id": "x", "gltf_node": {}, "pinned_by": "o"}]
    # Nothing for a room no longer loaded, or for topics that are not a room's.
    assert (
        PhoenixEvents(lambda sid: None).event(
            "hubsd.room.x.closed", 1, 2, {}, Payload.from_values([], {})
        )
        == b""
    )
    assert enc.event("other.topic", 1, 2, {}, Payload.from_values([], {})) == b""


def test_a_json_payload_is_copied_not_encoded() -> None:
    enc = PhoenixEvents(lambda sid: None)
    raw = b'[],{"dataType":"u","data":{"x":1.50}}'
    payload = Payload(JsonCodec(), raw, 2, None)
    data = enc.event("hubsd.room.abc123.naf", 1, 2, {}, payload)
    # 1.50 would be 1.5 after a decode and encode: the bytes are the client's.
    assert data.endswith(b',{"dataType":"u","data":{"x":1.50}}]')


def test_sfu_events_become_sfu_pushes_on_the_rooms_channel() -> None:
    enc = PhoenixEvents(lambda sid: None)
    news = {"event": "publisher", "session_id": "s", "kinds": ["audio"]}
    assert frame(enc, "events", news, "hubsd.sfu.") == [
        None,
        None,
        "hub:abc123",
        "sfu:publisher",
        {"session_id": "s", "kinds": ["audio"]},
    ]
    closed = {"event": "closed", "handle_id": "h", "reason": "kicked"}
    assert frame(enc, "events", closed, "hubsd.sfu.")[3:] == [
        "sfu:closed",
        {"handle_id": "h", "reason": "kicked"},
    ]
    # No event name, another topic of the SFU's, a sid with a dot: nothing.
    assert frame(enc, "events", {"session_id": "s"}, "hubsd.sfu.") is None
    assert frame(enc, "other", news, "hubsd.sfu.") is None
    empty = Payload.from_values([], news)
    assert enc.event("hubsd.sfu.a.b.events", 1, 2, {}, empty) == b""
    assert enc.event("hubsd.sfu..events", 1, 2, {}, empty) == b""


class Socket:
    media_requests = 0


def test_sfu_requests_past_the_bound_wait_in_the_sockets_line() -> None:
    socket: Any = Socket()
    running = [Deferred[None]() for _ in range(media.MAX_BESIDE)]
    # Those under the bound run beside the socket's frames...
    assert [media.beside(socket, d) for d in running[:-1]] == [None] * (media.MAX_BESIDE - 1)
    # ...the one that reaches it holds the later frames back until it ends.
    assert media.beside(socket, running[-1]) is running[-1]
    running[0].callback(None)
    assert socket.media_requests == media.MAX_BESIDE - 1
    # One that is answered at once never counts.
    assert media.beside(socket, succeed(None)) is None
    assert socket.media_requests == media.MAX_BESIDE - 1
    for d in running[1:]:
        d.callback(None)
    assert socket.media_requests == 0
