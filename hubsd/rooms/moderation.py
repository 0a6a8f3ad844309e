"""
What owners and moderators may do, to members and to the room itself.

Kicks (scoped to the room and durable: a kicked session or account may not
rejoin for C{kick_duration}), mutes, blocks between two members, promotion
to moderator, the room's settings (with the evictions a stricter entry mode
calls for) and closing. Every operation checks its permission through
L{hubsd.rooms.permissions} first and returns the notices members must get.
These are methods of L{hubsd.rooms.room.LiveRoom}; they live here so that
the rules of moderation are in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hubsd.rooms.errors import InvalidPayload, NotPermitted
from hubsd.rooms.notice import Notice
from hubsd.rooms.permissions import Roles, require
from hubsd.rooms.presence import is_empty
from hubsd.rooms.seats import Seats

if TYPE_CHECKING:
    from hubsd.rooms.seats import Member

#: The settings fields a room update may change.
SETTING_FIELDS = (
    "name",
    "description",
    "scene_url",
    "entry_mode",
    "member_permissions",
    "room_size",
    "public",
)


class Moderation(Seats):
    """The moderation operations of a live room (part of L{hubsd.rooms.room.LiveRoom})."""

    # -- moderation -----------------------------------------------------------

    def _check_over(self, actor: Member, target: Member, permission: str) -> None:
        require(actor.permissions, permission)
        if target.session_id == actor.session_id:
            raise InvalidPayload("session_id: you cannot do that to yourself")
        t = target.roles
        if (t.owner or t.creator) and not (actor.roles.owner or actor.roles.creator):
            raise NotPermitted(permission, f"not permitted: {permission} on an owner")

    def kick(self, actor_id: str, target_id: object, reason: str = "") -> list[Notice]:
        """
        Remove a member (kick_users): it is told why, leaves, and may not
        rejoin with the same session (or account) for C{kick_duration}.
        """
        actor = self.member(actor_id)
        target = self.target(target_id)
        self._check_over(actor, target, "kick_users")
        until = self.clock() + self.settings.kick_duration
        self.kicks += 1
        self.bans[target.session_id] = until
        if target.account_id is not None:
            self.bans[f"account:{target.account_id}"] = until
        told = self._to(
            "kicked",
            {"session_id": target.session_id, "by": actor_id, "reason": reason},
            target.session_id,
        )
        return [told, *self.leave(target.session_id)]

    def remove_flooder(self, session_id: str) -> list[Notice]:
        """The server kicks a member that kept sending far over the rate limit."""
        self.flooders.discard(session_id)
        m = self.members.get(session_id)
        if m is None:
            return []
        until = self.clock() + self.settings.kick_duration
        self.kicks += 1
        self.bans[session_id] = until
        payload = {"session_id": session_id, "by": None, "reason": "sending too fast"}
        return [self._to("kicked", payload, session_id), *self.leave(session_id)]

    def mute(self, actor_id: str, target_id: object) -> list[Notice]:
        """Ask a member to turn its microphone off (mute_users)."""
        actor = self.member(actor_id)
        target = self.target(target_id)
        self._check_over(actor, target, "mute_users")
        notices = [
            self._to("muted", {"session_id": target.session_id, "by": actor_id}, target.session_id)
        ]
        if target.entered:
            # The SFU reads this flag to stop forwarding the member's audio.
            diff = self.presence.set_muted(target.session_id, True)
            if not is_empty(diff):
                notices.append(Notice("presence", diff))
        return notices

    def unmute(self, session_id: str) -> list[Notice]:
        """A muted member turns its microphone back on (only it may)."""
        m = self.member(session_id)
        if not m.entered:
            return []
        diff = self.presence.set_muted(session_id, False)
        return [] if is_empty(diff) else [Notice("presence", diff)]

    def block(self, actor_id: str, target_id: object, blocked: bool = True) -> list[Notice]:
        """
        C{actor} blocks (or unblocks) C{target}: from now on neither receives
        the other's room messages. Anyone may block anyone but itself.
        """
        actor = self.member(actor_id)
        target = self.target(target_id)
        if target.session_id == actor.session_id:
            raise InvalidPayload("session_id: you cannot block yourself")
        had = target.session_id in actor.blocks
        if blocked and not had:
            actor.blocks.add(target.session_id)
            self.block_relations += 1
        elif not blocked and had:
            actor.blocks.discard(target.session_id)
            self.block_relations -= 1
        return [
            self._to("blocked", {"session_id": actor_id, "blocked": blocked}, target.session_id)
        ]

    def blocked_with(self, session_id: str) -> list[str]:
        """Session ids in a block relation with C{session_id}, either way."""
        m = self.members.get(session_id)
        out = set(m.blocks) if m is not None else set()
        for other in self.members.values():
            if session_id in other.blocks:
                out.add(other.session_id)
        return sorted(out)

    def check_role_change(self, actor_id: str, target_id: object) -> Member:
        """@raise NotPermitted: unless the actor may promote/demote (update_roles)."""
        actor = self.member(actor_id)
        target = self.target(target_id)
        require(actor.permissions, "update_roles")
        if target.session_id == actor.session_id:
            raise InvalidPayload("session_id: you cannot change your own roles")
        return target

    def set_moderator(self, target_id: str, moderator: bool) -> list[Notice]:
        """Make a member a moderator or not (after L{check_role_change})."""
        target = self.target(target_id)
        if moderator:
            self.session_moderators.add(target.session_id)
        else:
            self.session_moderators.discard(target.session_id)
        r = target.roles
        target.roles = Roles(r.owner, r.creator, moderator, r.signed_in)
        told = self._to(
            "roles",
            {"session_id": target.session_id, "roles": target.roles.as_dict()},
            target.session_id,
        )
        return [*self._refresh_rights(target), told]

    # -- settings -------------------------------------------------------------

    def check_update(self, actor_id: str, fields: Mapping[str, Any]) -> None:
        """@raise NotPermitted, InvalidPayload: before the store is asked."""
        self.check_settings(self.member(actor_id).permissions, fields)

    def check_settings(self, permissions: Mapping[str, bool], fields: Mapping[str, Any]) -> None:
        """
        May someone with C{permissions} (a member's, or an owner's from outside
        the room) change C{fields}? Listing the room publicly is a promotion
        (update_hub_promotion: owners, not moderators), as in Hubs.

        @raise NotPermitted, InvalidPayload: before the store is asked.
        """
        require(permissions, "update_hub")
        if "public" in fields:
            require(permissions, "update_hub_promotion")
        unknown = set(fields) - set(SETTING_FIELDS)
        if unknown:
            raise InvalidPayload(f"unknown room setting(s): {', '.join(sorted(unknown))}")
        if not fields:
            raise InvalidPayload("nothing to update")
        size = fields.get("room_size")
        if size is not None and (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not 1 <= size <= self.settings.max_room_size
        ):
            raise InvalidPayload(f"room_size must be 1 to {self.settings.max_room_size}")

    def settings_changed(
        self, record: Any, stale: Iterable[str], actor_id: str | None
    ) -> list[Notice]:
        """
        The stored room changed: members are told which fields are stale,
        rights are recomputed, and members no longer allowed in are evicted
        (a change to ``invite`` evicts who came without an invite; ``deny``
        closes the room).
        """
        self.record = record
        stale = list(stale)
        notices = [Notice("refresh", {"stale_fields": stale, "session_id": actor_id})]
        if record.entry_mode == "deny":
            return notices + self.close()
        if "member_permissions" in stale or "entry_mode" in stale:
            for m in list(self.members.values()):
                notices += self._refresh_rights(m)
        if record.entry_mode == "invite":
            for m in list(self.members.values()):
                if not (m.invited or m.roles.owner or m.roles.creator):
                    payload = {
                        "session_id": m.session_id,
                        "by": actor_id,
                        "reason": "invitation required",
                    }
                    notices.append(self._to("kicked", payload, m.session_id))
                    notices += self.leave(m.session_id)
        return notices

    def check_close(self, actor_id: str) -> None:
        """@raise NotPermitted: unless the actor may close the room."""
        require(self.member(actor_id).permissions, "close_hub")

    def close(self) -> list[Notice]:
        """Close the room: everyone is told and leaves; nobody may enter."""
        self.closed = True
        notices = [Notice("closed", {"hub_sid": self.hub_sid})]
        for sid in list(self.members):
            notices += self.leave(sid)
        return notices
