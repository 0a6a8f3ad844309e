"""
Owner actions asked for from outside a room: no seat, only a credential.

The HTTP API changes and closes rooms for whoever shows the room's creator
token or an account token whose account holds a role in the room. Such a
caller is not a member, so it has no permissions of its own; L{RoomOwners}
works them out with the same rules a joining member's are worked out with
(L{hubsd.rooms.permissions.roles_for} and C{permissions_for}), then lets the
room's own checks decide (L{LiveRoom.check_settings}, C{close_hub}) and the
directory apply the change, store first, members told after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubsd.rooms.directory import RoomDirectory
from hubsd.rooms.permissions import Roles, permissions_for, require, roles_for


@dataclass(frozen=True)
class Credential:
    """What an outside caller showed: a room's creator token or a verified account."""

    creator_token: str | None = None
    account_id: int | None = None


@dataclass(frozen=True)
class Standing:
    """An outside caller's roles and permissions in one room."""

    roles: Roles
    permissions: dict[str, bool]


class RoomOwners:
    """Owner actions on the rooms of C{directory} for callers outside them."""

    def __init__(self, directory: RoomDirectory) -> None:
        self._directory = directory

    async def standing(self, record: Any, credential: Credential) -> Standing:
        """The caller's roles and permissions in the room of C{record}."""
        creator = self._directory.is_creator_token(record, credential.creator_token)
        held = await self._directory.account_roles(record, credential.account_id)
        roles = roles_for(credential.account_id, held, creator)
        return Standing(roles, permissions_for(roles, record.member_permissions, record.entry_mode))

    async def describe(self, hub_sid: object, credential: Credential) -> dict[str, Any]:
        """
        The room's public description; owners who may embed it (embed_hub)
        also get its embed token, everyone else C{embed_token: None}.
        """
        directory = self._directory
        record = await directory.record(hub_sid)
        standing = await self.standing(record, credential)
        out = await directory.describe(record.hub_sid)
        may_embed = standing.permissions.get("embed_hub", False)
        out["embed_token"] = directory.embed_token_for(record.hub_sid) if may_embed else None
        return out

    async def update(
        self, credential: Credential, hub_sid: object, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change the room's settings (update_hub; public listing needs
        update_hub_promotion); returns the new public description."""
        directory = self._directory
        record = await directory.record(hub_sid)
        standing = await self.standing(record, credential)
        values = dict(fields)
        room = await directory.live(record.hub_sid)
        try:
            room.check_settings(standing.permissions, values)
        except BaseException:
            directory.tell(room, [])  # unloads the room if nobody is in it
            raise
        record = await directory.apply_update(room, values, None)
        return directory.public(record, directory.rooms.get(record.hub_sid))

    async def close(self, credential: Credential, hub_sid: object) -> dict[str, Any]:
        """Close the room (close_hub): members are told and leave; returns the
        new public description."""
        directory = self._directory
        record = await directory.record(hub_sid)
        standing = await self.standing(record, credential)
        require(standing.permissions, "close_hub")
        room = await directory.live(record.hub_sid)
        record = await directory.apply_close(room)
        return directory.public(record, directory.rooms.get(record.hub_sid))
