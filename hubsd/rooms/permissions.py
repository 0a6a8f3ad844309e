"""
Who may do what in a room: the one place that decides.

Hubs' model (member permission bits, owner/creator roles, entry modes) with
hubsd's moderators added. Every privileged room procedure and every publish
on a room topic asks this module (through ``require`` or ``gate``); the WAMP
router's static role rules stay coarse and never grant room rights.

Member permission bits are stored per room as an integer; the hub
permissions (17 names) are what a member's presence meta and perms token
carry. Object permissions (the eight bits) are granted by the room's bit, or
to owners and moderators; owner actions to owners (and, except role changes,
closing and embedding, to moderators).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hubsd.rooms.errors import NotPermitted

#: Member permission bits (Hubs' order; stored as ``rooms.member_permissions``).
MEMBER_BITS: dict[str, int] = {
    "spawn_and_move_media": 1,
    "spawn_camera": 2,
    "spawn_drawing": 4,
    "pin_objects": 8,
    "spawn_emoji": 16,
    "fly": 32,
    "voice_chat": 64,
    "text_chat": 128,
}
ALL_MEMBER_BITS = sum(MEMBER_BITS.values())
#: Hubs' default for rooms of non-permissive sites: voice and text chat.
DEFAULT_MEMBER_PERMISSIONS = MEMBER_BITS["voice_chat"] | MEMBER_BITS["text_chat"]

#: Actions reserved to owners (and moderators where noted in MODERATOR_ACTIONS).
OWNER_ACTIONS = (
    "update_hub",
    "update_hub_promotion",
    "update_roles",
    "close_hub",
    "embed_hub",
    "kick_users",
    "mute_users",
    "amplify_audio",
)
#: What a moderator may do of the owner actions: moderate people and the
#: room's settings, but not close it, embed it or change roles.
MODERATOR_ACTIONS = frozenset({"update_hub", "kick_users", "mute_users", "amplify_audio"})

#: The 17 hub permissions, in the order Hubs lists them: entry, the owner
#: actions, then the object permissions (not in bit order).
HUB_PERMISSIONS: tuple[str, ...] = (
    "join_hub",
    *OWNER_ACTIONS,
    "spawn_camera",
    "spawn_drawing",
    "spawn_and_move_media",
    *(name for name in MEMBER_BITS if MEMBER_BITS[name] >= MEMBER_BITS["pin_objects"]),
)

#: First-sync template suffix -> permission needed (None: nothing needed).
_SPAWN_SUFFIXES: tuple[tuple[str, str | None], ...] = (
    ("-avatar", None),
    ("-media", "spawn_and_move_media"),
    ("-camera", "spawn_camera"),
    ("-drawing", "spawn_drawing"),
    ("-pen", "spawn_drawing"),
    ("-emoji", "spawn_emoji"),
)


@dataclass(frozen=True)
class Roles:
    """A member's roles in one room (computed by the server, never sent by clients)."""

    owner: bool = False
    creator: bool = False
    moderator: bool = False
    signed_in: bool = False

    def as_dict(self) -> dict[str, bool]:
        return {
            "owner": self.owner,
            "creator": self.creator,
            "moderator": self.moderator,
            "signed_in": self.signed_in,
        }


def roles_for(account_id: int | None, account_roles: Iterable[str], creator: bool) -> Roles:
    """
    The roles of someone holding C{account_roles} (the store's roles of its
    account in the room) who showed the room's creator token (C{creator}) or
    not. A creator is an owner; a seat may add a session moderator on top.
    """
    held = set(account_roles)
    return Roles(
        owner="owner" in held or "creator" in held or creator,
        creator="creator" in held or creator,
        moderator="moderator" in held,
        signed_in=account_id is not None,
    )


def bits_to_map(member_permissions: int) -> dict[str, bool]:
    """The room's member permission bits as a name -> bool map."""
    return {name: bool(member_permissions & bit) for name, bit in MEMBER_BITS.items()}


def map_to_bits(permissions: Mapping[str, object]) -> int:
    """
    A name -> bool map as bits; names missing are off (Hubs' channel
    semantics). Unknown names or non-bool values are refused.

    @raise ValueError: naming the bad entry.
    """
    bits = 0
    for name, value in permissions.items():
        if name not in MEMBER_BITS:
            raise ValueError(f"unknown member permission {name!r}")
        if not isinstance(value, bool):
            raise ValueError(f"member permission {name} must be true or false")
        if value:
            bits |= MEMBER_BITS[name]
    return bits


def permissions_for(roles: Roles, member_permissions: int, entry_mode: str) -> dict[str, bool]:
    """
    The 17 hub permissions of a member with C{roles} in a room whose member
    bits are C{member_permissions} and entry mode C{entry_mode}.
    """
    owner = roles.owner or roles.creator
    out: dict[str, bool] = {"join_hub": entry_mode != "deny" or owner}
    for action in OWNER_ACTIONS:
        out[action] = owner or (roles.moderator and action in MODERATOR_ACTIONS)
    for name, bit in MEMBER_BITS.items():
        out[name] = bool(member_permissions & bit) or owner or roles.moderator
    return {name: out[name] for name in HUB_PERMISSIONS}


def require(permissions: Mapping[str, bool], permission: str) -> None:
    """
    @raise NotPermitted: naming C{permission} unless C{permissions} grants it.
    """
    if not permissions.get(permission):
        raise NotPermitted(permission)


def spawn_permission(template: str) -> str | None | bool:
    """
    What a first-sync spawn of an entity with C{template} needs: None for
    nothing (avatars), a permission name, or False when such a template may
    never be spawned by a client (hubs-protocol.md 5.2).
    """
    for suffix, permission in _SPAWN_SUFFIXES:
        if template.endswith(suffix):
            return permission
    return False


def may_spawn(permissions: Mapping[str, bool], template: object) -> bool:
    """True if a member with C{permissions} may spawn C{template}."""
    if not isinstance(template, str):
        return False
    need = spawn_permission(template)
    if need is None:
        return True
    return isinstance(need, str) and bool(permissions.get(need))


def may_take(permissions: Mapping[str, bool], template: object) -> bool:
    """
    True if a member with C{permissions} may take ownership of an entity
    with C{template} from another member (to move it): the permission its
    template is spawned with (``-media``: ``spawn_and_move_media``, ...).
    Entities no member spawns (scene objects such as doors) and avatars
    (which only their creator updates, see L{hubsd.rooms.entities}) need
    none.
    """
    need = spawn_permission(template) if isinstance(template, str) else False
    return not isinstance(need, str) or bool(permissions.get(need))


#: Room topics members publish on (the server applies the relay rules).
MEMBER_TOPICS = frozenset({"naf", "chat"})
#: Room topics only the room core publishes on; members subscribe.
SERVER_TOPICS = frozenset(
    {"presence", "refresh", "closed", "pins", "kicked", "muted", "roles", "blocked"}
)


def may_use_topic(action: str, kind: str, entered: bool) -> bool:
    """
    The room gate for topic C{hubsd.room.<sid>.<kind>}, asked for a session
    that holds a seat in the room (anyone else is refused before this):
    members subscribe to every room topic once seated, and publish only on
    the member topics, once they have entered.
    """
    if action == "subscribe":
        return kind in MEMBER_TOPICS or kind in SERVER_TOPICS
    if action == "publish":
        return entered and kind in MEMBER_TOPICS
    return False
