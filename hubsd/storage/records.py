"""
The values a room store keeps, and the rules every backend shares.

Records are frozen dataclasses: a store hands out values, never live rows.
Times are timezone-aware UTC ``datetime``s in every backend. The field rules
(entry modes, roles, which room fields may change, what a pinned object may
be) live here once, so the memory, SQLite and PostgreSQL stores accept and
refuse the same inputs with the same messages.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from hubsd.storage.errors import InvalidValue

ENTRY_MODES = ("allow", "invite", "deny")
ROLES = ("owner", "creator", "moderator")

#: voice_chat | text_chat: reticulum's default for non-permissive sites
#: (hubs-protocol.md section 4.1).
DEFAULT_MEMBER_PERMISSIONS = 64 | 128
DEFAULT_ROOM_SIZE = 24
MAX_NAME_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 64000
MAX_SCENE_URL_LENGTH = 2048
#: Pinned object ids are networked-aframe networkIds (the naf rules use the same bound).
MAX_OBJECT_ID_LENGTH = 128
MAX_FILE_ID_LENGTH = 128
#: The most rooms one C{list_public_rooms} call returns.
MAX_PUBLIC_ROOMS = 1000

#: The room fields C{update_room} may change.
UPDATABLE_ROOM_FIELDS = frozenset(
    {
        "name",
        "slug",
        "scene_id",
        "scene_url",
        "description",
        "entry_mode",
        "member_permissions",
        "room_size",
        "public",
        "creator_token_hash",
    }
)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A JSON \u0000 escape, not an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")

# Reticulum's id epoch (hubs-protocol.md section 7): ids stay comparable with
# imported ret0 ids and sort by creation time.
_ID_EPOCH_MS = 1505708441000
_ID_RANDOM_BITS = 23


@dataclass(frozen=True)
class Room:
    """
    A hub: its public identity and the settings members see.

    @ivar scene_id: A scene known to the server, or None.
    @ivar scene_url: A custom glTF/scene URL (http or https), or None.
    @ivar description: Free text shown before entering, "" if none.
    @ivar public: Whether L{hubsd.interfaces.IRoomStore.list_public_rooms}
        lists the room.
    @ivar creator_token_hash: L{hash_token} of the creator-assignment token,
        or None; the token itself is never stored.
    """

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
    description: str = ""
    scene_url: str | None = None
    public: bool = False
    creator_token_hash: str | None = None


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
    """
    A networked object pinned to a room, with its glTF description.

    @ivar object_id: The object's networkId.
    @ivar file_id: The uploaded file the object shows, or None. A link only:
        the store does not check it against its file records.
    """

    hub_id: int
    object_id: str
    gltf: Mapping[str, Any] = field(hash=False)
    created_by: int | None
    updated_at: datetime
    file_id: str | None = None


@dataclass(frozen=True)
class FileMeta:
    """What the store knows about an uploaded blob (the blob is elsewhere)."""

    file_id: str
    owner_account_id: int | None
    content_type: str
    size: int
    promoted: bool
    expires_at: datetime | None
    #: SHA-256 hex (L{hash_token}) of the token that lets a pin promote the
    #: file, or None: only its owner can then promote it.
    promotion_token_hash: str | None = None


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def hash_email(email: str) -> str:
    """
    The hex SHA-256 of the normalized (stripped, lower-cased) address, so
    C{" Ann@Example.org"} and C{"ann@example.org"} are the same account.

    @raise InvalidValue: if C{email} is not a string of valid Unicode.
    """
    if not isinstance(email, str):
        raise InvalidValue("email must be a string")
    check_text("email", email)
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def hash_token(token: str) -> str:
    """
    The hex SHA-256 of a secret token (e.g. a room's creator-assignment
    token): what a store keeps in its place, compared on presentation.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


def check_text(what: str, value: str) -> None:
    """
    Refuse text no database can keep alike: PostgreSQL refuses NUL
    characters and lone surrogates (which a JSON parser may well produce
    from C{"\\ud800"}), where SQLite would store them.

    @raise InvalidValue: naming C{what}.
    """
    if "\x00" in value:
        raise InvalidValue(f"{what} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{what} must be valid Unicode (no lone surrogates)") from None


def check_room_fields(fields: Mapping[str, Any]) -> None:
    """
    Refuse unknown room fields and bad values.

    @raise InvalidValue: naming the field (and the value where it is short).
    """
    unknown = set(fields) - UPDATABLE_ROOM_FIELDS
    if unknown:
        raise InvalidValue(f"unknown room field(s): {', '.join(sorted(unknown))}")
    _check_settings(fields)
    for key in ("name", "slug", "scene_id", "description"):
        if isinstance(fields.get(key), str):
            check_text(key, fields[key])


def _check_settings(fields: Mapping[str, Any]) -> None:
    if "name" in fields:
        name = fields["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise InvalidValue(f"room name must be 1 to {MAX_NAME_LENGTH} characters: {name!r}")
    if "slug" in fields and not isinstance(fields["slug"], str):
        raise InvalidValue(f"room slug must be a string: {fields['slug']!r}")
    if "scene_id" in fields and not isinstance(fields["scene_id"], str | None):
        raise InvalidValue(f"scene_id must be a string or None: {fields['scene_id']!r}")
    if "scene_url" in fields:
        _check_scene_url(fields["scene_url"])
    if "description" in fields:
        description = fields["description"]
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            # Never quote the value: it may be 64000 characters long.
            raise InvalidValue(
                f"description must be a string of at most {MAX_DESCRIPTION_LENGTH} characters"
            )
    if "entry_mode" in fields and fields["entry_mode"] not in ENTRY_MODES:
        raise InvalidValue(
            f"entry_mode must be one of {', '.join(ENTRY_MODES)}: {fields['entry_mode']!r}"
        )
    for key, top in (("member_permissions", 2**31 - 1), ("room_size", 2**31 - 1)):
        if key in fields:
            value = fields[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise InvalidValue(f"{key} must be a non-negative integer: {value!r}")
    if "public" in fields and not isinstance(fields["public"], bool):
        raise InvalidValue(f"public must be True or False: {fields['public']!r}")
    if "creator_token_hash" in fields:
        digest = fields["creator_token_hash"]
        if digest is not None and not (isinstance(digest, str) and _SHA256_HEX.fullmatch(digest)):
            # A wrong value here may be the token itself: never quote it.
            raise InvalidValue(
                "creator_token_hash must be None or 64 lower-case hex digits (a SHA-256)"
            )


def _check_scene_url(url: object) -> None:
    if url is None:
        return
    if not isinstance(url, str) or not url or len(url) > MAX_SCENE_URL_LENGTH:
        raise InvalidValue(
            f"scene_url must be None or a URL of 1 to {MAX_SCENE_URL_LENGTH} characters"
        )
    # No spaces or control characters (NUL, lone surrogates): handed to clients as is.
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidValue(f"scene_url must not contain spaces or control characters: {url!r}")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidValue(f"scene_url is not a valid URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidValue(f"scene_url must be an absolute http or https URL: {url!r}")


def check_limit(limit: object) -> int:
    """
    The checked C{limit} of L{hubsd.interfaces.IRoomStore.list_public_rooms}.

    @raise InvalidValue: unless it is an integer from 0 to L{MAX_PUBLIC_ROOMS}.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PUBLIC_ROOMS:
        raise InvalidValue(f"limit must be an integer from 0 to {MAX_PUBLIC_ROOMS}: {limit!r}")
    return limit


def check_pin(object_id: object, gltf: object, file_id: object) -> str:
    """
    Refuse a pinned object the room core must never have accepted: an id
    that cannot be a networkId, a glTF that is not a JSON object, a bad file id.

    @return: C{gltf} as compact JSON text: what every backend stores, so all
        of them hand back the same value (tuples become lists, and so on).
    @raise InvalidValue: naming the field.
    """
    if not isinstance(object_id, str) or not 1 <= len(object_id) <= MAX_OBJECT_ID_LENGTH:
        raise InvalidValue(
            f"pinned object id must be a networkId of 1 to {MAX_OBJECT_ID_LENGTH} characters"
        )
    if file_id is not None and (
        not isinstance(file_id, str) or not 1 <= len(file_id) <= MAX_FILE_ID_LENGTH
    ):
        raise InvalidValue(f"file_id must be None or 1 to {MAX_FILE_ID_LENGTH} characters")
    check_text("pinned object id", object_id)
    if file_id is not None:
        check_text("file_id", file_id)
    if not isinstance(gltf, Mapping):
        raise InvalidValue(f"gltf must be a JSON object, not {type(gltf).__name__}")
    try:
        # NaN and infinities are not JSON (PostgreSQL refuses them): no backend keeps them.
        document = json.dumps(
            dict(gltf), separators=(",", ":"), allow_nan=False, ensure_ascii=False
        )
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidValue(f"gltf must be a JSON object: {e}") from None
    # Strings inside follow the rule of every text a store keeps (no NUL, no
    # lone surrogate). Unescaped (ensure_ascii off), a lone surrogate stays in
    # the text, and only control characters are written as \u escapes.
    check_text("gltf", document)
    if _JSON_NUL.search(document):
        raise InvalidValue("gltf must not contain NUL characters")
    return document


def check_role(role: str) -> None:
    """@raise InvalidValue: if C{role} is not one of L{ROLES}."""
    if role not in ROLES:
        raise InvalidValue(f"role must be one of {', '.join(ROLES)}: {role!r}")


def check_moment(what: str, moment: object) -> None:
    """@raise InvalidValue: unless C{moment} is a timezone-aware datetime."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidValue(f"{what} must be a timezone-aware datetime: {moment!r}")


def check_file(
    file_id: str,
    content_type: str,
    size: int,
    expires_at: datetime | None,
    promotion_token_hash: str | None = None,
) -> None:
    """
    @raise InvalidValue: for a file id that is not 1 to 128 characters, an
        empty content type, text with NUL or lone surrogates, a size outside
        0 to 2**63 - 1, an expiry that is not None or an aware datetime, a
        promotion token hash that is not None or 64 lower-case hex digits.
    """
    if promotion_token_hash is not None and not (
        isinstance(promotion_token_hash, str) and _SHA256_HEX.fullmatch(promotion_token_hash)
    ):
        raise InvalidValue("promotion_token_hash must be None or 64 lower-case hex digits")
    if not isinstance(file_id, str) or not 1 <= len(file_id) <= MAX_FILE_ID_LENGTH:
        raise InvalidValue(f"file_id must be 1 to {MAX_FILE_ID_LENGTH} characters")
    check_text("file_id", file_id)
    if not isinstance(content_type, str) or not content_type:
        raise InvalidValue(f"content_type must be a non-empty string: {content_type!r}")
    check_text("content_type", content_type)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**63:
        raise InvalidValue(f"size must be an integer from 0 to 2**63 - 1: {size!r}")
    if expires_at is not None:
        check_moment("expires_at", expires_at)


def room_defaults(
    name: str,
    slug: str | None,
    scene_id: str | None,
    entry_mode: str,
    member_permissions: int | None,
    room_size: int | None,
    description: str = "",
    scene_url: str | None = None,
    public: bool = False,
    creator_token_hash: str | None = None,
) -> dict[str, Any]:
    """
    The checked field values of a new room: the slug derived from the name
    when none is given, default permissions and size for C{None}.

    @raise InvalidValue: as L{check_room_fields}.
    """
    fields: dict[str, Any] = {
        "name": name,
        "slug": slugify(name) if isinstance(name, str) and slug is None else slug,
        "scene_id": scene_id,
        "entry_mode": entry_mode,
        "member_permissions": (
            DEFAULT_MEMBER_PERMISSIONS if member_permissions is None else member_permissions
        ),
        "room_size": DEFAULT_ROOM_SIZE if room_size is None else room_size,
        "description": description,
        "scene_url": scene_url,
        "public": public,
        "creator_token_hash": creator_token_hash,
    }
    check_room_fields(fields)
    return fields
