"""
The networked entities of one room, as the server keeps them (pure: no I/O).

An `EntityTable` holds, per networkId, what networked-aframe (NAF) clients
hold about an entity: owner, creator, lastOwnerTime, template, persistent,
parent and its latest full state (the first sync's components merged with
every accepted later update: a non-null value replaces, keys accumulate),
plus ``created_by``, the session that sent the creating sync.

Ownership (hubs-protocol.md 5.5, and networked-aframe's
``networked.js``/``NetworkEntities.js`` as read for this module): a NAF
client applies an incoming sync to an entity it knows unless the sync's
lastOwnerTime is older than its own, or equal with a smaller owner id (so
on a tie the greater id wins). It records a new lastOwnerTime only when the
owner changes; an update from the same owner leaves it alone. The table
applies exactly that rule, and in addition accepts a sync only when its
(resulting) owner is the sender itself (a member may take ownership for
itself, never hand it to another), and a sync for an avatar only from the
member that created it (Hubs' receivers check that too; here it also means
nobody can take another's avatar to have its updates dropped). An accepted
sync is relayed carrying exactly the table's (lastOwnerTime, owner) after
it, so what members are delivered never decreases under the rule, and a
member that applies it (and, after a refused take, the correction ``naf``
sends back) agrees with the table as soon as the messages in flight to it
have arrived; tests/rooms/test_ownership_convergence.py checks this with
stale views, forged syncs and NAF's -1 start of remote copies.

When a member leaves, NAF clients delete every entity it created (or owned
without a creator) unless the entity is persistent; for persistent ones all
remaining clients call takeOwnership and the tie rule picks the winner.
`member_left` removes the same non-persistent entities (with their
descendants, which leave the page with their parent) and leaves the owner of
the persistent ones as it is: NAF clients keep the leaver as owner until a
take wins, so the table must too, or a take that ties with the leaver's id
would be accepted here and refused by the clients.

Callers pass syncs that passed `hubsd.rooms.naf`'s checks: the table does
not validate again. It may fill in or stamp fields of the sync dict it is
given (see `EntityTable.apply`) and keeps references to component values,
so decoded payloads must not be mutated after being handed over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubsd.rooms.permissions import may_take

_MISSING: Any = object()


class Decision:
    """
    The table's answer to one sync: ``accepted`` (relay it), ``changed``
    (the sync dict was rewritten: stamped or completed) and, for a refused
    sync, ``reason``: ``"not_owner"``, ``"unknown"``, ``"full"`` or
    ``"denied"``. The instances are the module constants below; compare
    with ``is`` or read the attributes.
    """

    __slots__ = ("accepted", "changed", "reason")

    def __init__(self, accepted: bool, changed: bool, reason: str | None) -> None:
        self.accepted = accepted
        self.changed = changed
        self.reason = reason

    def __repr__(self) -> str:
        return f"Decision(accepted={self.accepted}, changed={self.changed}, reason={self.reason})"


ACCEPTED = Decision(True, False, None)
ACCEPTED_CHANGED = Decision(True, True, None)
DROP_NOT_OWNER = Decision(False, False, "not_owner")
DROP_UNKNOWN = Decision(False, False, "unknown")
DROP_FULL = Decision(False, False, "full")
DROP_DENIED = Decision(False, False, "denied")


class Entity:
    """What the server knows of one networked entity (mutable; owned by its table)."""

    __slots__ = (
        "network_id",
        "owner",
        "creator",
        "created_by",
        "last_owner_time",
        "template",
        "persistent",
        "parent",
        "components",
        "creator_only",
    )

    def __init__(
        self,
        network_id: str,
        owner: str,
        creator: str,
        created_by: str,
        last_owner_time: float,
        template: str,
        persistent: bool,
        parent: str | None,
        components: dict[str, Any],
    ) -> None:
        self.network_id = network_id
        self.owner = owner
        self.creator = creator
        self.created_by = created_by
        self.last_owner_time = last_owner_time
        self.template = template
        self.persistent = persistent
        self.parent = parent
        self.components = components
        # Hubs' receivers accept avatar updates only from the avatar's
        # creator (hubs-protocol.md 5.4); the table enforces it, so nobody
        # can take another member's avatar and silence its updates.
        self.creator_only = template.endswith("-avatar") and not template.endswith(
            "-waypoint-avatar"
        )

    def sync(self, first: bool = True) -> dict[str, Any]:
        """The entity as one full NAF sync (components copied, values shared)."""
        return {
            "networkId": self.network_id,
            "owner": self.owner,
            "creator": self.creator,
            "lastOwnerTime": self.last_owner_time,
            "template": self.template,
            "persistent": self.persistent,
            "parent": self.parent,
            "components": dict(self.components),
            "isFirstSync": first,
        }


class EntityTable:
    """
    The entities of one room, in creation order, at most ``max_entities``;
    the merged state of one entity keeps at most ``max_components`` keys
    (later new keys are relayed but not kept).

    Counters for metrics (ints, only ever increase): ``dropped_not_owner``
    (a sync or ``r`` from a member that is not the owner under the rule),
    ``dropped_unknown`` (an update or ``r`` for an entity the room does not
    have), ``dropped_full`` (a create beyond ``max_entities``),
    ``dropped_denied`` (a spawn without the permission, counted by ``naf``, or
    a take without it),
    ``dropped_first_sync_in_um`` (whole ``um`` messages; counted by ``naf``).
    """

    def __init__(self, max_entities: int = 5000, max_components: int = 1024) -> None:
        if max_entities < 1:
            raise ValueError("max_entities must be at least 1")
        self.max_entities = max_entities
        self.max_components = max_components
        self._entities: dict[str, Entity] = {}
        # parent networkId -> ids of entities created with that parent, so
        # that removing an entity removes its descendants (as on the page).
        self._children: dict[str, set[str]] = {}
        self.dropped_not_owner = 0
        self.dropped_unknown = 0
        self.dropped_full = 0
        self.dropped_denied = 0
        self.dropped_first_sync_in_um = 0

    def __len__(self) -> int:
        return len(self._entities)

    def __contains__(self, network_id: object) -> bool:
        return network_id in self._entities

    def get(self, network_id: str) -> Entity | None:
        """The entity with C{network_id}, or None (do not mutate it)."""
        return self._entities.get(network_id)

    def counters(self) -> dict[str, int]:
        """The drop counters by name, for metrics."""
        return {
            "dropped_not_owner": self.dropped_not_owner,
            "dropped_unknown": self.dropped_unknown,
            "dropped_full": self.dropped_full,
            "dropped_denied": self.dropped_denied,
            "dropped_first_sync_in_um": self.dropped_first_sync_in_um,
        }

    def apply(
        self,
        sender: str,
        sync: dict[str, Any],
        permissions: Mapping[str, bool] | None = None,
    ) -> Decision:
        """
        Apply one entity sync (the ``data`` of a ``u`` or an element of a
        ``um``'s ``d``) sent by session C{sender}; spawn permission was
        checked by the caller.

        - A first sync of a non-persistent entity (``persistent`` not true)
          is stamped: ``owner`` := sender, ``creator`` := sender (or the
          entity's known creator when it exists: a replay cannot re-create
          someone else's entity under the sender's name).
        - Unknown entity: a first sync, or any sync with ``persistent`` true,
          creates it (``dropped_full`` beyond the limit); anything else is
          ``dropped_unknown``.
        - Known entity (first syncs are replays, applied as updates): the
          sync's owner must be the sender (absent: the sender, who must
          then be the known owner), and its lastOwnerTime (absent: the
          known one) later than the known one, or equal with owner >= the
          known owner; otherwise ``dropped_not_owner``. An avatar (template ending in
          ``-avatar``, except ``-waypoint-avatar``) takes syncs from the
          member that created it only. On acceptance a new owner records
          the new lastOwnerTime, a ``persistent`` bool replaces the known
          one (NAF clients do the same), components are merged; an owner's
          sync with a lastOwnerTime other than the recorded one is relayed
          with the recorded one (the time changes only with the owner).
        - With C{permissions} (the sender's), taking a known entity from
          another owner, or creating one with a persistent sync (taking
          over a pinned object nobody holds), needs what
          L{hubsd.rooms.permissions.may_take} says (``-media``:
          ``spawn_and_move_media``); otherwise ``dropped_denied``. Without
          them no take is checked (the caller decided).
        - Missing ``owner``/``lastOwnerTime``/``components`` of an accepted
          sync are filled in (sender, known time or -1 for a create, ``{}``):
          NAF receivers need them.

        @return: a `Decision`; ``changed`` when the sync dict was modified.
        """
        entity = self._entities.get(sync["networkId"])
        persistent = sync.get("persistent")
        changed = False
        if persistent is not True and sync.get("isFirstSync") is True:
            creator = sender if entity is None else entity.creator
            if sync.get("owner") != sender or sync.get("creator") != creator:
                sync["owner"] = sender
                sync["creator"] = creator
                changed = True
        elif entity is None and persistent is not True:
            self.dropped_unknown += 1
            return DROP_UNKNOWN

        owner = sync.get("owner", _MISSING)
        if owner is _MISSING:
            if entity is not None and entity.owner != sender:
                self.dropped_not_owner += 1
                return DROP_NOT_OWNER
            owner = sync["owner"] = sender
            changed = True
        elif owner != sender:
            self.dropped_not_owner += 1
            return DROP_NOT_OWNER

        if entity is None:
            if (
                persistent is True
                and permissions is not None
                and not may_take(permissions, sync.get("template"))
            ):
                self.dropped_denied += 1
                return DROP_DENIED
            return self._create(sender, sync, changed)

        if entity.creator_only and sender != entity.created_by:
            self.dropped_not_owner += 1
            return DROP_NOT_OWNER
        known_time = entity.last_owner_time
        time = sync.get("lastOwnerTime", _MISSING)
        if time is _MISSING:
            time = sync["lastOwnerTime"] = known_time
            changed = True
        if time < known_time or (time == known_time and owner < entity.owner):
            self.dropped_not_owner += 1
            return DROP_NOT_OWNER
        if owner != entity.owner:
            if permissions is not None and not may_take(permissions, entity.template):
                self.dropped_denied += 1
                return DROP_DENIED
            entity.owner = owner
            entity.last_owner_time = time
        elif time != known_time:
            # Same owner, another time: NAF clients keep their recorded time,
            # but one that took the entity meanwhile would read this sync as
            # a newer take. Relay the recorded time, so that what is relayed
            # always is the table's state.
            sync["lastOwnerTime"] = known_time
            changed = True
        if persistent is not None and persistent is not entity.persistent:
            entity.persistent = persistent
        components = sync.get("components")
        if components is None:
            sync["components"] = {}
            changed = True
        elif components:
            merged = entity.components
            for key, value in components.items():
                if key in merged:
                    if value is not None:
                        merged[key] = value
                elif len(merged) < self.max_components:
                    # (a cap, so that a stream of new keys cannot grow one
                    # entity's state without bound; the sync is still relayed)
                    merged[key] = value
        return ACCEPTED_CHANGED if changed else ACCEPTED

    def _create(self, sender: str, sync: dict[str, Any], changed: bool) -> Decision:
        if len(self._entities) >= self.max_entities:
            self.dropped_full += 1
            return DROP_FULL
        network_id = sync["networkId"]
        time = sync.get("lastOwnerTime", _MISSING)
        if time is _MISSING:
            # NAF's value for "never owned", so any real take beats it.
            time = sync["lastOwnerTime"] = -1
            changed = True
        components = sync.get("components")
        if components is None:
            components = sync["components"] = {}
            changed = True
        creator = sync.get("creator")
        parent = sync.get("parent")
        self._entities[network_id] = Entity(
            network_id,
            sender,
            creator if creator else sender,
            sender,
            time,
            sync.get("template") or "",
            sync.get("persistent") is True,
            parent,
            dict(components),
        )
        if parent is not None:
            self._children.setdefault(parent, set()).add(network_id)
        return ACCEPTED_CHANGED if changed else ACCEPTED

    def remove(self, sender: str, network_id: str, is_moderator: bool = False) -> bool:
        """
        An ``r`` for C{network_id} from C{sender}: accepted (True, the entity
        and its descendants removed) only from the entity's current owner,
        the session that created it, or a moderator; otherwise False and
        counted (``dropped_unknown`` or ``dropped_not_owner``).
        """
        entity = self._entities.get(network_id)
        if entity is None:
            self.dropped_unknown += 1
            return False
        if not (is_moderator or sender == entity.owner or sender == entity.created_by):
            self.dropped_not_owner += 1
            return False
        self._remove(network_id, [])
        return True

    def _remove(self, network_id: str, removed: list[str]) -> None:
        stack = [network_id]
        while stack:
            current = stack.pop()
            entity = self._entities.pop(current, None)
            if entity is None:
                continue
            removed.append(current)
            if entity.parent is not None:
                siblings = self._children.get(entity.parent)
                if siblings is not None:
                    siblings.discard(current)
                    if not siblings:
                        del self._children[entity.parent]
            stack.extend(self._children.pop(current, ()))

    def snapshot(self) -> list[dict[str, Any]]:
        """
        The room's entities for a late joiner: one full sync per entity
        (``isFirstSync`` true, merged components, current owner, creator and
        lastOwnerTime), in creation order. O(entities).
        """
        return [entity.sync() for entity in self._entities.values()]

    def state(self, network_id: str) -> dict[str, Any] | None:
        """One entity as a full non-first sync (what a corrected member applies), or None."""
        entity = self._entities.get(network_id)
        return None if entity is None else entity.sync(first=False)

    def member_left(self, session_id: str) -> tuple[list[str], list[dict[str, Any]]]:
        """
        C{session_id} left the room (for good: not while its reconnect grace
        runs). Entities it created are removed
        with their descendants unless persistent; the persistent ones stay
        as they are for the remaining members to take over (NAF's rule, see
        the module docstring).

        @return: (removed networkIds, in removal order; full syncs of the
            persistent entities now waiting for a new owner).
        """
        doomed: list[str] = []
        handed_over: list[dict[str, Any]] = []
        for entity in self._entities.values():
            # NAF also takes "owned with no creator"; the table always has a
            # creator (the sender when the creating sync named none).
            if entity.creator == session_id:
                if entity.persistent:
                    handed_over.append(entity.sync(first=False))
                else:
                    doomed.append(entity.network_id)
        removed: list[str] = []
        for network_id in doomed:
            self._remove(network_id, removed)
        return removed, handed_over
