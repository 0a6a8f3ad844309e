"""
Who is in a room, as Hubs' clients expect to see it: one presence meta per
member, a full state for a joiner and Phoenix-shaped diffs for every change.

Pure: values in, diffs out; publishing them is the caller's business. The
shapes follow Phoenix.Presence (hubs-protocol.md section 3): a state is
``{session_id: {"metas": [meta]}}``, a diff ``{"joins": state, "leaves": state}``.
Phoenix's JS client applies a diff's joins and then removes its leaves *by
phx_ref*, so an update is a join of the new meta (fresh ``phx_ref``,
``phx_ref_prev`` = the old one) plus a leave of the old meta in one diff,
and a ``phx_ref`` is never used twice.

Metas are never changed in place once handed out (an update builds a new
one), so the caller may publish them as they are; it must not modify them.

What a member may set itself is checked here (``check_profile``,
``check_context``, ``check_flags``), each raising ``InvalidPayload`` that
names the field; roles and permissions come only from the server
(``Presence.set_roles``), since clients authorize each other's networked
objects by them.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import unicodedata
from collections.abc import Mapping
from typing import Any, TypedDict

from hubsd.rooms.errors import InvalidPayload, NoSuchMember
from hubsd.rooms.permissions import HUB_PERMISSIONS, Roles

Meta = dict[str, Any]


class Entry(TypedDict):
    """One member in a state or a diff."""

    metas: list[Meta]


class Diff(TypedDict):
    """A Phoenix ``presence_diff`` payload."""

    joins: dict[str, Entry]
    leaves: dict[str, Entry]


#: Largest profile object (its JSON, UTF-8) unless a room is given another.
DEFAULT_MAX_PROFILE_BYTES = 2048
MAX_DISPLAY_NAME = 64
MAX_AVATAR_ID = 256
#: The two presence states of Hubs: in the lobby, or entered into the room.
PRESENCE_STATES = ("lobby", "room")
#: Context flags a client reports at join; anything else it sends is dropped.
CONTEXT_FLAGS = ("mobile", "embed", "hmd")
#: Boolean meta fields a member sets itself (absent from a meta until first set).
MEMBER_FLAGS = ("streaming", "recording", "hand_raised", "typing")
#: Fields only the server sets; a member sending them is refused, not ignored.
SERVER_FIELDS = frozenset({"roles", "permissions", "phx_ref", "phx_ref_prev", "muted", "context"})

# phx_refs: a random prefix per process (refs of an earlier run are never met
# again) and one counter for every room of the process.
_REF_PREFIX = secrets.token_hex(4)
_ref_counter = itertools.count(1)
_B32 = "0123456789abcdefghijklmnopqrstuv"


def _next_ref() -> str:
    n = next(_ref_counter)
    digits = []
    while n:
        n, d = divmod(n, 32)
        digits.append(_B32[d])
    return _REF_PREFIX + "".join(reversed(digits))


def _field(name: object) -> str:
    """A client-supplied field name, short enough to quote in an error."""
    text = name if isinstance(name, str) else repr(name)
    return text if len(text) <= 40 else text[:40] + "..."


def _json_size(key: str, value: object) -> int:
    """Bytes of C{value} as JSON; InvalidPayload naming C{key} if it has none."""
    try:
        return len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except ValueError:
        # lone surrogates, NaN, integers too long to print
        raise InvalidPayload(f"profile.{_field(key)} cannot be encoded as JSON") from None


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def check_profile(obj: object, max_bytes: int = DEFAULT_MAX_PROFILE_BYTES) -> dict[str, Any]:
    """
    A member's profile, checked: an object with ``displayName`` (a string of
    1 to 64 characters after stripping, no control characters; stored
    stripped), ``avatarId`` (a string of at most 256 characters, or null, or
    absent) and other keys of the client's (strings mapping to JSON
    scalars), at most C{max_bytes} as JSON. Returns a new dict.

    @raise InvalidPayload: naming the field that is wrong.
    """
    if not isinstance(obj, Mapping):
        raise InvalidPayload("profile must be an object")
    # Sized while checked, so a huge profile is refused before it is all read.
    size = 1
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise InvalidPayload("profile keys must be strings")
        if key == "displayName":
            if not isinstance(value, str):
                raise InvalidPayload("profile.displayName must be a string")
            value = value.strip()
            if not value:
                raise InvalidPayload("profile.displayName must not be empty")
            if len(value) > MAX_DISPLAY_NAME:
                raise InvalidPayload(
                    f"profile.displayName is longer than {MAX_DISPLAY_NAME} characters"
                )
            if _has_control(value):
                raise InvalidPayload("profile.displayName must not contain control characters")
        elif key == "avatarId":
            if value is not None and not isinstance(value, str):
                raise InvalidPayload("profile.avatarId must be a string")
            if value is not None and len(value) > MAX_AVATAR_ID:
                raise InvalidPayload(f"profile.avatarId is longer than {MAX_AVATAR_ID} characters")
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidPayload(f"profile.{_field(key)} must be a finite number")
        elif value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidPayload(f"profile.{_field(key)} must be a string, number, boolean or null")
        # A string longer than the limit needs no encoding to be refused.
        if len(key) > max_bytes or (isinstance(value, str) and len(value) > max_bytes):
            size = max_bytes + 1
        else:
            size += _json_size(key, key) + 1 + _json_size(key, value) + 1
        if size > max_bytes:
            raise InvalidPayload(f"profile is larger than {max_bytes} bytes")
        out[key] = value
    if "displayName" not in out:
        raise InvalidPayload("profile.displayName is missing")
    return out


def check_context(obj: object) -> dict[str, bool]:
    """
    A member's context as sent at join: ``mobile``, ``embed`` and ``hmd``,
    each true or false (false when absent); other keys are dropped (the
    server sets ``entering`` itself). None stands for an empty context.

    @raise InvalidPayload: naming the field that is wrong.
    """
    if obj is None:
        obj = {}
    if not isinstance(obj, Mapping):
        raise InvalidPayload("context must be an object")
    out: dict[str, bool] = {}
    for name in CONTEXT_FLAGS:
        value = obj.get(name, False)
        if not isinstance(value, bool):
            raise InvalidPayload(f"context.{name} must be true or false")
        out[name] = value
    return out


def check_flags(
    changes: object, max_profile_bytes: int = DEFAULT_MAX_PROFILE_BYTES
) -> dict[str, Any]:
    """
    The changes a member asks for its own meta, checked: ``presence``
    ("lobby" or "room"), ``profile`` (see L{check_profile}), ``streaming``,
    ``recording``, ``hand_raised``, ``typing`` and ``entering`` (true or
    false). Returns them as a new dict.

    @raise InvalidPayload: naming the field that is wrong, unknown, or only
        the server's to set (roles, permissions, ...).
    """
    if not isinstance(changes, Mapping):
        raise InvalidPayload("presence changes must be an object")
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "presence":
            if value not in PRESENCE_STATES:
                raise InvalidPayload('presence must be "lobby" or "room"')
        elif name == "profile":
            value = check_profile(value, max_profile_bytes)
        elif name in MEMBER_FLAGS or name == "entering":
            if not isinstance(value, bool):
                raise InvalidPayload(f"{name} must be true or false")
        elif name in SERVER_FIELDS:
            raise InvalidPayload(f"{name} is set by the server, not by members")
        else:
            raise InvalidPayload(f"unknown presence field {_field(name)!r}")
        out[name] = value
    return out


def _empty() -> Diff:
    return {"joins": {}, "leaves": {}}


def is_empty(diff: Diff) -> bool:
    """True if C{diff} changes nothing (and need not be published)."""
    return not diff["joins"] and not diff["leaves"]


def merge(*diffs: Diff) -> Diff:
    """
    One diff with the effect of C{diffs} applied in order by Phoenix's
    client (joins, then leaves by phx_ref), e.g. to publish a role change
    of every member at once.
    """
    out = _empty()
    for diff in diffs:
        _extend(out["joins"], diff["joins"])
        _extend(out["leaves"], diff["leaves"])
    return out


def _extend(into: dict[str, Entry], entries: dict[str, Entry]) -> None:
    for sid, entry in entries.items():
        into.setdefault(sid, {"metas": []})["metas"].extend(entry["metas"])


def _roles_dict(roles: Roles | Mapping[str, bool]) -> dict[str, bool]:
    if isinstance(roles, Roles):
        return roles.as_dict()
    unknown = set(roles) - set(Roles().as_dict())
    if unknown:
        raise ValueError(f"roles: unknown {sorted(unknown)}")
    return Roles(**{k: bool(v) for k, v in roles.items()}).as_dict()


def _permissions_dict(permissions: Mapping[str, bool]) -> dict[str, bool]:
    unknown = set(permissions) - set(HUB_PERMISSIONS)
    missing = set(HUB_PERMISSIONS) - set(permissions)
    if unknown or missing:
        raise ValueError(f"permissions: unknown {sorted(unknown)}, missing {sorted(missing)}")
    return {name: bool(permissions[name]) for name in HUB_PERMISSIONS}


class Presence:
    """
    The presence of one room: one meta per member (keyed by session id; two
    tabs are two sessions), a state for joiners, a diff for each change.
    Counts of members in the room and in the lobby are kept as it goes.
    """

    def __init__(self, max_profile_bytes: int = DEFAULT_MAX_PROFILE_BYTES) -> None:
        self.max_profile_bytes = max_profile_bytes
        self._metas: dict[str, Meta] = {}
        self._in_room = 0

    def __len__(self) -> int:
        return len(self._metas)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._metas

    def join(self, session_id: str, meta_fields: Mapping[str, Any]) -> Diff:
        """
        Add member C{session_id} and return the diff announcing it.

        C{meta_fields}: ``profile`` (the client's, checked with
        L{check_profile}), ``context`` (the client's or absent, checked with
        L{check_context}), ``roles`` (a L{Roles}), ``permissions`` (the 17
        hub permissions, from ``permissions.permissions_for``) and optionally
        ``presence`` (default "lobby", as Hubs starts every member).

        @raise InvalidPayload: the client's profile or context is malformed.
        @raise ValueError: the member is already present, or the server's
            fields are missing or malformed (a bug of the caller).
        """
        if session_id in self._metas:
            raise ValueError(f"session {session_id} is already present")
        unknown = set(meta_fields) - {"profile", "context", "roles", "permissions", "presence"}
        if unknown:
            raise ValueError(f"unknown meta fields {sorted(unknown)}")
        if "roles" not in meta_fields or "permissions" not in meta_fields:
            raise ValueError("a meta needs the server's roles and permissions")
        if "profile" not in meta_fields:
            raise InvalidPayload("profile is missing")
        presence = meta_fields.get("presence", "lobby")
        if presence not in PRESENCE_STATES:
            raise InvalidPayload('presence must be "lobby" or "room"')
        meta: Meta = {
            "presence": presence,
            "profile": check_profile(meta_fields["profile"], self.max_profile_bytes),
            "context": check_context(meta_fields.get("context")),
            "roles": _roles_dict(meta_fields["roles"]),
            "permissions": _permissions_dict(meta_fields["permissions"]),
            "phx_ref": _next_ref(),
        }
        self._metas[session_id] = meta
        self._in_room += presence == "room"
        return {"joins": {session_id: {"metas": [meta]}}, "leaves": {}}

    def update(self, session_id: str, /, **changes: object) -> Diff:
        """
        Apply the member's own C{changes} (checked with L{check_flags}) and
        return the diff: the new meta joined, the old one left. ``entering``
        true sets ``context.entering``, false removes it; entering the room
        (``presence="room"``) removes it too, as Hubs' ``events:entered``
        does. Changes that change nothing give an empty diff.

        @raise InvalidPayload: a change is malformed or not the member's.
        @raise NoSuchMember: C{session_id} is not present.
        """
        checked = check_flags(changes, self.max_profile_bytes)
        old = self._get(session_id)
        meta = dict(old)
        entering = checked.pop("entering", None)
        if checked.get("presence") == "room" and entering is None:
            entering = False
        if entering is not None and entering != old["context"].get("entering", False):
            context = dict(old["context"])
            if entering:
                context["entering"] = True
            else:
                del context["entering"]
            meta["context"] = context
        meta.update(checked)
        return self._replace(session_id, old, meta)

    def set_roles(self, session_id: str, roles: Roles, permissions: Mapping[str, bool]) -> Diff:
        """
        Set the member's server-computed C{roles} and C{permissions} (after
        a promotion, a sign-in, a change of the room's member permissions)
        and return the diff; an empty one if nothing changed.

        @raise NoSuchMember: C{session_id} is not present.
        """
        old = self._get(session_id)
        meta = dict(old)
        meta["roles"] = _roles_dict(roles)
        meta["permissions"] = _permissions_dict(permissions)
        return self._replace(session_id, old, meta)

    def set_muted(self, session_id: str, muted: bool) -> Diff:
        """
        Mark the member muted or not (a moderator's mute, a server decision)
        and return the diff; an empty one if nothing changed.

        @raise NoSuchMember: C{session_id} is not present.
        """
        old = self._get(session_id)
        meta = dict(old)
        meta["muted"] = bool(muted)
        return self._replace(session_id, old, meta)

    def leave(self, session_id: str) -> Diff:
        """
        Remove the member and return the diff with its last meta left. A
        session that is not present gives an empty diff (a leave and a
        dropped connection may both report the same departure).
        """
        old = self._metas.pop(session_id, None)
        if old is None:
            return _empty()
        self._in_room -= old["presence"] == "room"
        return {"joins": {}, "leaves": {session_id: {"metas": [old]}}}

    def get(self, session_id: str) -> Meta | None:
        """The member's current meta (read-only), or None if not present."""
        return self._metas.get(session_id)

    def state(self) -> dict[str, Entry]:
        """The whole presence, as Phoenix's ``presence_state`` payload."""
        return {sid: {"metas": [meta]} for sid, meta in self._metas.items()}

    def counts(self) -> tuple[int, int]:
        """(members in the room, members in the lobby), as Hubs counts them."""
        return self._in_room, len(self._metas) - self._in_room

    def _get(self, session_id: str) -> Meta:
        try:
            return self._metas[session_id]
        except KeyError:
            raise NoSuchMember(f"no member {_field(session_id)!r} in this room") from None

    def _replace(self, session_id: str, old: Meta, meta: Meta) -> Diff:
        """Publish C{meta} as the member's new meta, unless it equals C{old}."""
        meta.pop("phx_ref_prev", None)
        meta.pop("phx_ref", None)
        unchanged = dict(old)
        unchanged.pop("phx_ref_prev", None)
        unchanged.pop("phx_ref", None)
        if meta == unchanged:
            return _empty()
        meta["phx_ref"] = _next_ref()
        meta["phx_ref_prev"] = old["phx_ref"]
        self._metas[session_id] = meta
        self._in_room += (meta["presence"] == "room") - (old["presence"] == "room")
        return {
            "joins": {session_id: {"metas": [meta]}},
            "leaves": {session_id: {"metas": [old]}},
        }
