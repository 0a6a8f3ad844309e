"""
The room core's exceptions: what can go wrong with a room operation.

Each carries the error URI the WAMP edge answers with (``uri``) and a short,
specific message (``str(e)``) that names what was wrong: the permission that
was missing, the field that was malformed. Transports map these once, at the
edge (WAMP error URIs here; Phoenix replies and HTTP statuses in their own
modules); the room core only raises them. The URIs are documented in
docs/wamp-api.md.
"""

from __future__ import annotations


class RoomError(Exception):
    """A room operation was refused; ``str(self)`` is safe to show a client."""

    uri = "hubsd.error.room"

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NoSuchRoom(RoomError):
    """No room has this sid (or the value cannot be a sid)."""

    uri = "hubsd.error.no_such_room"


class RoomClosed(RoomError):
    """The room is closed (entry mode ``deny``): nobody may enter."""

    uri = "hubsd.error.room_closed"


class RoomFull(RoomError):
    """Every seat of the room is taken (held seats of reconnecting members count)."""

    uri = "hubsd.error.room_full"


class JoinDenied(RoomError):
    """Entry refused: no valid invite, kicked recently, or not allowed to enter."""

    uri = "hubsd.error.join_denied"


class NotJoined(RoomError):
    """The session has not joined this room."""

    uri = "hubsd.error.not_joined"


class NotPermitted(RoomError):
    """The member lacks ``permission``; the message names it."""

    uri = "hubsd.error.not_permitted"

    def __init__(self, permission: str, message: str | None = None) -> None:
        RoomError.__init__(self, message or f"not permitted: {permission}")
        self.permission = permission


class NoSuchMember(RoomError):
    """No member of this room has that session id."""

    uri = "hubsd.error.no_such_member"


class InvalidPayload(RoomError):
    """A request's payload is malformed; the message names the field."""

    uri = "hubsd.error.invalid_payload"


class InvalidToken(RoomError):
    """
    A token was refused. ``reason`` is one of ``expired``, ``signature``,
    ``audience``, ``malformed``, ``revoked`` or ``room`` (bound to another room).
    """

    uri = "hubsd.error.invalid_token"

    def __init__(self, reason: str, message: str | None = None) -> None:
        RoomError.__init__(self, message or f"invalid token: {reason}")
        self.reason = reason


class RateLimited(RoomError):
    """The member sends faster than the room's limits allow."""

    uri = "hubsd.error.rate_limited"


#: Every error class, for the documentation test and the edge's mapping.
ALL_ERRORS: tuple[type[RoomError], ...] = (
    NoSuchRoom,
    RoomClosed,
    RoomFull,
    JoinDenied,
    NotJoined,
    NotPermitted,
    NoSuchMember,
    InvalidPayload,
    InvalidToken,
    RateLimited,
)
