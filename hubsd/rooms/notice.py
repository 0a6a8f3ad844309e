"""
What a room operation returns: the L{Notice}s its members must be told.

The room core decides and says who must learn what; the transport side
(the WAMP binding today) publishes each notice on the room's topic of that
kind. A frozen value, so a notice can be handed on without copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Notice:
    """
    Something members must be told: C{kind} names the room topic it goes to
    (``presence``, ``refresh``, ``closed``, ``pins``, ``kicked``, ``muted``,
    ``roles``, ``blocked``), C{to} the member session ids (None: everyone).
    Kind ``left`` is not published: it tells the transport that the
    connections in it no longer belong to the room (their subscriptions to
    its topics end).
    """

    kind: str
    payload: Mapping[str, Any]
    to: tuple[str, ...] | None = None
    #: The connections of C{to}, resolved when the notice was made (a kicked
    #: member is gone from the room by the time its notice is delivered).
    connections: tuple[Any, ...] = ()
