"""
The SFU's operations, as every transport offers them.

L{Operations} is one table, operation name -> the L{Signalling} call, and one
way to call an entry with a client's arguments. The WAMP procedures
``hubsd.sfu.<name>`` (L{hubsd.sfu.wamp}) and the Phoenix hub channel's
``sfu:<name>`` events (L{hubsd.phoenix.media}) are both this table, so an
argument is accepted, or refused with L{InvalidPayload}, the same way on
both, and both reach the same L{Signalling} object.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from hubsd.rooms.errors import InvalidPayload
from hubsd.sfu.signalling import Signalling

#: The router topic of a room's SFU events is ``hubsd.sfu.<sid>.events``:
#: WAMP members subscribe to it, the Phoenix gateway subscribes a member's
#: socket to it, and the signalling publishes each event there to the
#: members it concerns only.
EVENTS_PREFIX = "hubsd.sfu."


def events_topic(hub_sid: str) -> str:
    return f"{EVENTS_PREFIX}{hub_sid}.events"


def events_room(uri: str) -> str | None:
    """The room sid of an events topic (L{events_topic}'s inverse), else None."""
    if not (uri.startswith(EVENTS_PREFIX) and uri.endswith(".events")):
        return None
    hub_sid = uri[len(EVENTS_PREFIX) : -len(".events")]
    return hub_sid if hub_sid and "." not in hub_sid else None


class Operations:
    """See module docstring. Each call takes the member's C{identity} and the
    C{connection} (router session id) it came on, then the client's arguments."""

    def __init__(self, signalling: Signalling) -> None:
        s = self.signalling = signalling
        self.table: dict[str, Callable[..., Any]] = {
            "join": lambda i, c, hub_sid, perms_token: s.join(i, c, hub_sid, perms_token),
            "publish": lambda i, c, hub_sid, sdp: s.publish(i, c, hub_sid, sdp),
            "subscribe": lambda i, c, hub_sid, session_id: s.subscribe(i, c, hub_sid, session_id),
            "answer": lambda i, c, handle_id, sdp: s.answer(i, c, handle_id, sdp),
            "trickle": lambda i, c, handle_id, candidate=None: s.trickle(
                i, c, handle_id, candidate
            ),
            "close": lambda i, c, handle_id: s.close(i, c, handle_id),
            "leave": lambda i, c, hub_sid: s.leave(i, c, hub_sid),
        }
        self._signatures = {name: inspect.signature(fn) for name, fn in self.table.items()}

    def takes_room(self, name: str) -> bool:
        """Whether operation C{name}'s first argument is the room's ``hub_sid``
        (the others name a handle, which knows its room)."""
        first = list(self._signatures[name].parameters)[2]
        return first == "hub_sid"

    async def call(
        self,
        name: str,
        identity: Any,
        connection: Any,
        args: tuple[Any, ...] | list[Any],
        kwargs: dict[str, Any],
        label: str | None = None,
    ) -> Any:
        """
        Run operation C{name} with the client's C{args} and C{kwargs}.

        Arguments that do not fit (missing, unknown, one given twice) raise
        L{InvalidPayload}, its message starting with C{label} (the name the
        client used; C{name} by default); refusals of the operation itself
        raise L{hubsd.sfu.errors.SfuError}.
        """
        fn = self.table[name]
        try:
            self._signatures[name].bind(identity, connection, *args, **kwargs)
        except TypeError as e:
            raise InvalidPayload(f"{label or name}: {e}") from None
        result = fn(identity, connection, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result
