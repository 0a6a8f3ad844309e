"""
The room core's WAMP procedures, registered by an in-process router session.

Room-core exceptions are mapped to error URIs here, once (documented in
docs/wamp.md):

- ``hubsd.room.describe(hub_sid)`` -> the room's public description;
  ``hubsd.error.no_such_room`` if there is none.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred

from hubsd.rooms.directory import NoSuchRoom, RoomDirectory
from hubsd.wamp.errors import WampError

NO_SUCH_ROOM = "hubsd.error.no_such_room"
INVALID_ARGUMENT = "wamp.error.invalid_argument"


def _describe(directory: RoomDirectory) -> Any:
    async def describe(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if len(args) != 1 or kwargs:
            raise WampError(INVALID_ARGUMENT, "expected exactly one argument: the room's sid")
        try:
            return await directory.describe(args[0])
        except NoSuchRoom:
            raise WampError(NO_SUCH_ROOM, "no room has that sid") from None

    return lambda *a, **kw: ensureDeferred(describe(*a, **kw))


def register_room_procedures(session: Any, directory: RoomDirectory) -> Deferred[Any]:
    """Register every room procedure on C{session} (a trusted LocalSession)."""
    return session.register("hubsd.room.describe", _describe(directory))
