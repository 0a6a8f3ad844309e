"""
The Hubs "hub object": a room as the Hubs client reads it (join reply,
``hub_refresh``), built from the room core's public room description.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

#: What the SFU part of a hub object says while no SFU host is configured.
NO_SFU: Mapping[str, Any] = {"host": None, "port": None, "turn": {"enabled": False}}


def janus_room_id(hub_sid: str) -> int:
    """The top 53 bits of SHA-256(hub sid), as reticulum derives the SFU room id."""
    return int.from_bytes(hashlib.sha256(hub_sid.encode()).digest()[:8], "big") >> 11


def hub_object(room: Mapping[str, Any], sfu: Mapping[str, Any] = NO_SFU) -> dict[str, Any]:
    """
    The hub object for C{room} (L{hubsd.rooms.directory.RoomDirectory.public}).

    A room with a custom scene URL has no ``scene`` key and a ``topics``
    entry whose glTF bundle is that URL; any other room has ``scene: null``
    (hubsd keeps no scene listings), which the client reads as "show the
    loading environment". The client tells the two apart by the key's
    presence, so it is either absent or null, never both.
    """
    sid = room["hub_sid"]
    out: dict[str, Any] = {
        "hub_id": sid,
        "name": room["name"],
        "description": room.get("description"),
        "user_data": None,
        "slug": room["slug"],
        "allow_promotion": bool(room.get("public")),
        "entry_code": 0,
        "entry_mode": room["entry_mode"],
        "host": sfu.get("host"),
        "port": sfu.get("port"),
        "turn": sfu.get("turn", {"enabled": False}),
        "member_permissions": dict(room["member_permissions"]),
        "room_size": room["room_size"],
        "member_count": room.get("member_count", 0),
        "lobby_count": room.get("lobby_count", 0),
        "embed_token": None,
    }
    scene_url = room.get("scene_url")
    if scene_url:
        out["topics"] = [
            {
                "topic_id": f"{sid}/{room['slug']}",
                "janus_room_id": janus_room_id(sid),
                "assets": [{"asset_type": "gltf_bundle", "src": scene_url}],
            }
        ]
    else:
        out["scene"] = None
    return out
