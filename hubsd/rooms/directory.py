"""
Looking rooms up: what anyone who knows a room's sid may learn about it.

Protocol-free: plain values in, plain values out; ``NoSuchRoom`` when there
is no such room. The WAMP binding lives in ``hubsd.rooms.procedures``.
"""

from __future__ import annotations

import re
from typing import Any

from hubsd.storage.errors import NotFound

_SID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class NoSuchRoom(Exception):
    """No room has this sid (or the sid cannot be one)."""


class RoomDirectory:
    """Answers questions about rooms from an IRoomStore."""

    def __init__(self, store: Any) -> None:
        self._store = store

    async def describe(self, hub_sid: object) -> dict[str, Any]:
        """
        The public description of the room C{hub_sid}: what a client needs
        before entering (name, scene, entry mode, size, member permissions).
        Never the internal id, roles or accounts.

        @raise NoSuchRoom: unknown sid, or a value that cannot be a sid.
        """
        if not isinstance(hub_sid, str) or not _SID.match(hub_sid):
            raise NoSuchRoom(hub_sid)
        try:
            room = await self._store.get_room_by_sid(hub_sid)
        except NotFound:
            raise NoSuchRoom(hub_sid) from None
        return {
            "hub_sid": room.hub_sid,
            "name": room.name,
            "slug": room.slug,
            "scene_id": room.scene_id,
            "entry_mode": room.entry_mode,
            "room_size": room.room_size,
            "member_permissions": room.member_permissions,
        }
