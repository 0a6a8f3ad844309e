"""
The values a room store keeps, and the rules every backend shares.

Records are frozen dataclasses: a store hands out values, never live rows.
Times are timezone-aware UTC ``datetime``s in every backend. The field rules
(entry modes, roles, which room fields may change) live here once, so the
memory, SQLite and PostgreSQL stores accept and refuse the same inputs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hubsd.storage.errors import InvalidValue

ENTRY_MODES = ("allow", "invite", "deny")
ROLES = ("owner", "creator", "moderator")

#: voice_chat | text_chat: reticulum's default for non-permissive sites
#: (hubs-protocol.md section 4.1).
DEFAULT_MEMBER_PERMISSIONS = 64 | 128
DEFAULT_ROOM_SIZE = 24
MAX_NAME_LENGTH = 64

#: The room fields C{update_room} may change.
UPDATABLE_ROOM_FIELDS = frozenset(
    {"name", "slug", "scene_id", "entry_mode", "member_permissions", "room_size"}
)

# Reticulum's id epoch (hubs-protocol.md section 7): ids stay comparable with
# imported ret0 ids and sort by creation time.
_ID_EPOCH_MS = 1505708441000
_ID_RANDOM_BITS = 23


@dataclass(frozen=True)
class Room:
    """A hub: its public identity and the settings members see."""

    hub_id: int
    hub_sid: str
    name: str
    slug: str
    scene_id: str | None
    entry_mode: str
    member_permissions: int
    room_size: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Account:
    """A signed-in identity. The e-mail address is kept only as L{hash_email}."""

    account_id: int
    email_hash: str
    created_at: datetime


@dataclass(frozen=True)
class RoomRole:
    """One role an account holds in one room."""

    hub_id: int
    account_id: int
    role: str


@dataclass(frozen=True)
class PinnedObject:
    """A networked object pinned to a room, with its glTF description."""

    hub_id: int
    object_id: str
    gltf: Mapping[str, Any] = field(hash=False)
    created_by: int | None
    updated_at: datetime


@dataclass(frozen=True)
class FileMeta:
    """What the store knows about an uploaded blob (the blob is elsewhere)."""

    file_id: str
    owner_account_id: int | None
    content_type: str
    size: int
    promoted: bool
    expires_at: datetime | None


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def hash_email(email: str) -> str:
    """
    The hex SHA-256 of the normalized (stripped, lower-cased) address, so
    C{" Ann@Example.org"} and C{"ann@example.org"} are the same account.
    """
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def new_id(now: float | None = None) -> int:
    """
    A 64-bit id that sorts by creation time: milliseconds since reticulum's
    epoch shifted left 23 bits, ORed with 23 random bits.
    """
    seconds = time.time() if now is None else now
    ms = int(seconds * 1000) - _ID_EPOCH_MS
    return (ms << _ID_RANDOM_BITS) | secrets.randbits(_ID_RANDOM_BITS)


def new_sid() -> str:
    """A 7-character URL-safe random room sid (40 random bits)."""
    return secrets.token_urlsafe(5)


def slugify(name: str) -> str:
    """A URL slug for a room name: lower-case ASCII words joined by dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def check_room_fields(fields: Mapping[str, Any]) -> None:
    """
    Refuse unknown room fields and bad values.

    @raise InvalidValue: naming the field and the value.
    """
    unknown = set(fields) - UPDATABLE_ROOM_FIELDS
    if unknown:
        raise InvalidValue(f"unknown room field(s): {', '.join(sorted(unknown))}")
    if "name" in fields:
        name = fields["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise InvalidValue(f"room name must be 1 to {MAX_NAME_LENGTH} characters: {name!r}")
    if "slug" in fields and not isinstance(fields["slug"], str):
        raise InvalidValue(f"room slug must be a string: {fields['slug']!r}")
    if "scene_id" in fields and not isinstance(fields["scene_id"], str | None):
        raise InvalidValue(f"scene_id must be a string or None: {fields['scene_id']!r}")
    if "entry_mode" in fields and fields["entry_mode"] not in ENTRY_MODES:
        raise InvalidValue(
            f"entry_mode must be one of {', '.join(ENTRY_MODES)}: {fields['entry_mode']!r}"
        )
    for key, top in (("member_permissions", 2**31 - 1), ("room_size", 2**31 - 1)):
        if key in fields:
            value = fields[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise InvalidValue(f"{key} must be a non-negative integer: {value!r}")


def check_role(role: str) -> None:
    """@raise InvalidValue: if C{role} is not one of L{ROLES}."""
    if role not in ROLES:
        raise InvalidValue(f"role must be one of {', '.join(ROLES)}: {role!r}")


def check_file(content_type: str, size: int) -> None:
    """@raise InvalidValue: for an empty content type or a negative size."""
    if not isinstance(content_type, str) or not content_type:
        raise InvalidValue(f"content_type must be a non-empty string: {content_type!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidValue(f"size must be a non-negative integer: {size!r}")


def room_defaults(
    name: str,
    slug: str | None,
    scene_id: str | None,
    entry_mode: str,
    member_permissions: int | None,
    room_size: int | None,
) -> dict[str, Any]:
    """
    The checked field values of a new room: the slug derived from the name
    when none is given, default permissions and size for C{None}.

    @raise InvalidValue: as L{check_room_fields}.
    """
    fields: dict[str, Any] = {
        "name": name,
        "slug": slugify(name) if slug is None else slug,
        "scene_id": scene_id,
        "entry_mode": entry_mode,
        "member_permissions": (
            DEFAULT_MEMBER_PERMISSIONS if member_permissions is None else member_permissions
        ),
        "room_size": DEFAULT_ROOM_SIZE if room_size is None else room_size,
    }
    check_room_fields(fields)
    return fields
