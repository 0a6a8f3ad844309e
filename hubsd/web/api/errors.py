"""
How the room core's refusals and the store's outages answer over HTTP: one table.

Every L{hubsd.rooms.errors.RoomError} class has a status here (a test checks
that C{ALL_ERRORS} is covered); the JSON code is the tail of the error's URI
(``hubsd.error.no_such_room`` -> ``no_such_room``), the message the room
core's own words, which are safe to show a client.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from hubsd.rooms.errors import (
    InvalidPayload,
    InvalidToken,
    JoinDenied,
    NoSuchMember,
    NoSuchRoom,
    NotJoined,
    NotPermitted,
    RateLimited,
    RoomClosed,
    RoomError,
    RoomFull,
)
from hubsd.storage.errors import StorageUnavailable
from hubsd.web.http import HttpError

T = TypeVar("T")

#: Room error class -> HTTP status.
ROOM_ERROR_STATUS: dict[type[RoomError], int] = {
    NoSuchRoom: 404,
    NoSuchMember: 404,
    NotPermitted: 403,
    JoinDenied: 403,
    NotJoined: 403,
    InvalidToken: 401,
    InvalidPayload: 422,
    RoomClosed: 409,
    RoomFull: 409,
    RateLimited: 429,
}


def http_error(error: RoomError) -> HttpError:
    """The HTTP answer to a room error (400 for a RoomError the table does not name)."""
    status = 400
    for kind in type(error).__mro__:
        if kind in ROOM_ERROR_STATUS:
            status = ROOM_ERROR_STATUS[kind]
            break
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return HttpError(status, error.uri.rsplit(".", 1)[-1], str(error), headers=headers)


async def answer(work: Awaitable[T]) -> T:
    """Await C{work}, turning room errors and storage outages into L{HttpError}s."""
    try:
        return await work
    except RoomError as e:
        raise http_error(e) from None
    except StorageUnavailable:
        raise HttpError(
            503,
            "storage_unavailable",
            "the room store is not reachable; try again later",
            headers={"Retry-After": "5"},
        ) from None
