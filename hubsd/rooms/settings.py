"""
The operator's settings for rooms (config section ``[rooms]``), typed.

The schema in L{hubsd.schema} declares every key with its default and
meaning; L{RoomSettings.fromConfig} only reshapes the validated values.
Tests build the dataclass directly with the limits they exercise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hubsd.rooms.permissions import DEFAULT_MEMBER_PERMISSIONS, MEMBER_BITS


class _Config(Protocol):
    def section(self, name: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class RoomSettings:
    """Limits and defaults of every room on this node (durations in seconds)."""

    default_room_size: int = 24
    max_room_size: int = 50
    default_member_permissions: int = DEFAULT_MEMBER_PERMISSIONS
    allow_anonymous_create: bool = True
    reconnect_grace: float = 15.0
    kick_duration: float = 600.0
    rate_messages: float = 60.0
    rate_bytes: float = 64 * 1024
    rate_burst: float = 2.0
    rate_kick_after: float = 10.0
    max_chat_length: int = 4096
    max_entities: int = 5000
    max_pinned: int = 1000
    max_profile_bytes: int = 2048
    perms_token_lifetime: float = 300.0
    session_token_lifetime: float = 86400.0

    @classmethod
    def fromConfig(cls, config: _Config) -> RoomSettings:
        """Settings from the daemon's validated config (section ``[rooms]``)."""
        s = config.section("rooms")
        bits = 0
        for name in s["default_member_permissions"]:
            bits |= MEMBER_BITS[name]
        return cls(
            default_room_size=int(s["default_room_size"]),
            max_room_size=int(s["max_room_size"]),
            default_member_permissions=bits,
            allow_anonymous_create=bool(s["allow_anonymous_create"]),
            reconnect_grace=float(s["reconnect_grace"]),
            kick_duration=float(s["kick_duration"]),
            rate_messages=float(s["rate_messages"]),
            rate_bytes=float(s["rate_bytes"]),
            rate_burst=float(s["rate_burst"]),
            rate_kick_after=float(s["rate_kick_after"]),
            max_chat_length=int(s["max_chat_length"]),
            max_entities=int(s["max_entities"]),
            max_pinned=int(s["max_pinned"]),
            max_profile_bytes=int(s["max_profile_bytes"]),
            perms_token_lifetime=float(s["perms_token_lifetime"]),
            session_token_lifetime=float(s["session_token_lifetime"]),
        )
