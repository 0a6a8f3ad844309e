"""
Pinned objects: who may pin and unpin, and what members are told.

The store keeps pinned objects (they survive restarts and are part of
every late joiner's snapshot); these rules run before the store is asked
and after it committed. Methods of L{hubsd.rooms.room.LiveRoom}.
"""

from __future__ import annotations

from typing import Any

from hubsd.rooms.errors import InvalidPayload
from hubsd.rooms.notice import Notice
from hubsd.rooms.permissions import require
from hubsd.rooms.seats import Seats

#: Longest pinned object id (a networked-aframe networkId).
MAX_OBJECT_ID = 128


class Pins(Seats):
    """The pin operations of a live room (part of L{hubsd.rooms.room.LiveRoom})."""

    # -- pins -----------------------------------------------------------------

    def check_pin(self, actor_id: str, object_id: object, gltf: object) -> None:
        """@raise NotPermitted, InvalidPayload: before the store is asked."""
        require(self.member(actor_id).permissions, "pin_objects")
        if not isinstance(object_id, str) or not 0 < len(object_id) <= 128:
            raise InvalidPayload("object_id must be a string of 1 to 128 characters")
        if not isinstance(gltf, dict):
            raise InvalidPayload("gltf must be an object")
        if object_id not in self.pinned and len(self.pinned) >= self.settings.max_pinned:
            raise InvalidPayload(f"this room already has {self.settings.max_pinned} pinned objects")

    def pinned_added(self, pinned: Any, by: str) -> list[Notice]:
        self.pinned[pinned.object_id] = pinned
        payload = {
            "object_id": pinned.object_id,
            "gltf": dict(pinned.gltf),
            "file_id": pinned.file_id,
            "pinned_by": by,
        }
        return [Notice("pins", {"pinned": payload})]

    def check_unpin(self, actor_id: str, object_id: object) -> str:
        require(self.member(actor_id).permissions, "pin_objects")
        if not isinstance(object_id, str) or object_id not in self.pinned:
            raise InvalidPayload(f"object_id: no pinned object {object_id!r}")
        return object_id

    def pinned_removed(self, object_id: str, by: str) -> list[Notice]:
        self.pinned.pop(object_id, None)
        return [Notice("pins", {"unpinned": {"object_id": object_id, "unpinned_by": by}})]
