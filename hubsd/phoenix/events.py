"""
Room traffic as Phoenix pushes: the L{EventEncoder} every Phoenix member shares.

The broker calls L{PhoenixEvents.event} once per publication and
subscription for all Phoenix receivers (they share this one encoder) and
writes the same bytes to each, so a room message is encoded to its Phoenix
frame once. Pushes go out with a null join_ref, as Phoenix's own
broadcasts do (the JS client accepts them on whichever join of the topic
is current).

The SFU's events (a member's own, each published to the members it
concerns only) become ``sfu:<event>`` pushes (L{hubsd.phoenix.media}).

Events whose shape Phoenix clients read unchanged (``naf``, ``message``,
``presence_diff``) reuse the publication's JSON text when it has one: a
WAMP JSON publisher's kwargs, or a Phoenix publisher's payload, are
copied into the frame without being decoded or encoded again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from hubsd.phoenix import frames, media
from hubsd.phoenix.hubobject import hub_object
from hubsd.wamp.payload import Payload
from hubsd.wamp.wire import websocket_frame

ROOM_TOPIC = "hubsd.room."

#: Room topic kind -> the Phoenix event its notices become (unchanged shape).
SAME_SHAPE = {"naf": "naf", "chat": "message", "presence": "presence_diff"}
#: The kind of the SFU's events topic (L{hubsd.phoenix.media}).
SFU_KIND = "sfu"
#: The room topics a Phoenix member of a room subscribes to. ``kicked`` is
#: not among them: a kick closes the socket (L{hubsd.phoenix.session}).
TOPICS = ("naf", "chat", "presence", "refresh", "closed", "pins", "muted", "roles", "blocked")


def _kwargs_text(payload: Payload) -> bytes:
    """The kwargs object as JSON text, copied from the raw slice if possible."""
    raw = payload.raw
    if raw is not None and payload.serializer == "json" and raw.startswith(b"[],{"):
        return raw[3:]
    return orjson.dumps(payload.kwargs or {})


class PhoenixEvents:
    """
    Encodes room notices and relayed traffic for Phoenix sockets.

    C{room_description(sid)} gives the room core's current public
    description of a loaded room (None if unloaded): ``closed`` notices
    carry only the sid, and the client needs the whole hub object.
    """

    def __init__(
        self,
        room_description: Callable[[str], Mapping[str, Any] | None],
        sfu: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self._describe = room_description
        self._sfu = sfu
        self._topics: dict[str, tuple[str, str] | None] = {}

    def _parse(self, topic: str) -> tuple[str, str] | None:
        parsed = self._topics.get(topic, False)
        if parsed is False:
            parsed = None
            if topic.startswith(ROOM_TOPIC):
                rest = topic[len(ROOM_TOPIC) :].split(".")
                if len(rest) == 2:
                    parsed = ("hub:" + rest[0], rest[1])
            else:
                channel = media.push_channel(topic)
                if channel is not None:
                    parsed = (channel, SFU_KIND)
            if len(self._topics) > 65536:
                self._topics.clear()
            self._topics[topic] = parsed
        return parsed  # type: ignore[return-value]

    def event(
        self,
        topic: str,
        subscription: int,
        publication: int,
        details: dict[str, Any],
        payload: Payload,
    ) -> bytes:
        """The websocket frame of this publication for Phoenix members, or
        b"" when Phoenix clients have no such event."""
        parsed = self._parse(topic)
        if parsed is None:
            return b""
        channel, kind = parsed
        event = SAME_SHAPE.get(kind)
        if event is not None:
            text = frames.push_raw(channel, event, _kwargs_text(payload))
        else:
            converted = self._convert(channel[4:], kind, payload.kwargs or {})
            if converted is None:
                return b""
            text = frames.push_raw(channel, converted[0], orjson.dumps(converted[1]))
        return websocket_frame(text, False)

    def _sfu_info(self) -> Mapping[str, Any]:
        return self._sfu() if self._sfu is not None else {}

    def _convert(
        self, sid: str, kind: str, kw: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """(event, payload) of the Hubs push for a notice, None for none."""
        if kind == SFU_KIND:
            return media.push(kw)
        if kind == "refresh":
            room = kw.get("room")
            if not isinstance(room, Mapping):
                return None
            return "hub_refresh", {
                "hubs": [hub_object(room, self._sfu_info())],
                "session_id": kw.get("session_id"),
                "stale_fields": list(kw.get("stale_fields") or ()),
            }
        if kind == "closed":
            room = self._describe(sid)
            if room is None:
                return None
            # Closing is a refresh with entry_mode deny for Hubs (it exits).
            hub = hub_object({**room, "entry_mode": "deny"}, self._sfu_info())
            return "hub_refresh", {
                "hubs": [hub],
                "session_id": None,
                "stale_fields": ["entry_mode"],
            }
        if kind == "pins":
            pinned = kw.get("pinned")
            if isinstance(pinned, Mapping):
                return "pin", {
                    "object_id": pinned.get("object_id"),
                    "gltf_node": pinned.get("gltf"),
                    "pinned_by": pinned.get("pinned_by"),
                }
            unpinned = kw.get("unpinned")
            if isinstance(unpinned, Mapping):
                return "unpin", {
                    "object_id": unpinned.get("object_id"),
                    "unpinned_by": unpinned.get("unpinned_by"),
                }
            return None
        if kind == "muted":
            # ``by`` is a hubsd addition (who muted), which Hubs ignores.
            return "mute", {"session_id": kw.get("session_id"), "by": kw.get("by")}
        if kind == "roles":
            return "permissions_updated", {}
        if kind == "blocked":
            return ("block" if kw.get("blocked") else "unblock"), {
                "session_id": kw.get("session_id")
            }
        return None
