"""
The hub channel's ``sfu:<name>`` events: the SFU's operations over Phoenix.

Event ``sfu:<name>`` is operation C{name} of L{hubsd.sfu.operations} (the
table the WAMP procedures ``hubsd.sfu.<name>`` are too), called on the same
L{hubsd.sfu.signalling.Signalling} with the channel's member and the socket's
router session as the connection, so every SFU rule (the perms token, the
seat, rights, slots, handles, SDP) is decided there, once for both
transports. The room is the channel's: operations on a room get the
channel's sid, and a payload naming ``hub_sid`` itself is refused like any
argument that does not fit.

Events come back the way room notices do: a successful ``sfu:join``
subscribes the socket, through the router, to the room's SFU events topic
(the SFU binding's gate decides, as for a WAMP member); the signalling
publishes each event to the sessions it concerns only, and L{push} makes it
the ``sfu:<event>`` push on the member's channel. Replies are
L{hubsd.phoenix.hub}'s; the requests run beside the socket's other frames,
at most L{MAX_BESIDE} at once (L{beside}). docs/phoenix-api.md lists the
events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from hubsd.sfu.errors import SfuError
from hubsd.sfu.operations import events_room, events_topic

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from hubsd.phoenix.frames import Frame
    from hubsd.phoenix.gateway import PhoenixGateway
    from hubsd.phoenix.session import Channel, PhoenixSession

#: The prefix of the SFU's client events and pushes on a hub channel.
EVENT = "sfu:"
#: SFU requests of one socket that may run beside its other frames. The
#: next one waits in the socket's line, and the frames after it with it
#: (up to ``[phoenix] max_pending_frames``), so one socket cannot have the
#: media worker answer an unbounded number of requests at once.
MAX_BESIDE = 16


def is_media_event(event: str) -> bool:
    return event.startswith(EVENT)


def call(
    gw: PhoenixGateway, session: PhoenixSession, channel: Channel, frame: Frame
) -> Callable[[], Awaitable[Any]] | None:
    """The SFU operation an ``sfu:<name>`` event asks for; None for no such operation."""
    name = frame.event[len(EVENT) :]
    ops = gw.media
    if ops is None:
        return _unavailable
    if name not in ops.table:
        return None
    hub_sid = channel.hub_sid
    me = channel.identity or session.identity
    args = (hub_sid,) if ops.takes_room(name) else ()

    async def run() -> Any:
        result = await ops.call(
            name, me, session.session_id, args, dict(frame.payload), label=frame.event
        )
        if name == "join":
            # Signalling.join does not wait for anything, so nothing can be
            # published between it and this subscription.
            assert hub_sid is not None
            session.subscribe(events_topic(hub_sid))
        return result

    return run


def beside(session: PhoenixSession, d: Deferred[Any]) -> Deferred[Any] | None:
    """Count C{d}, a running SFU request, against the socket's L{MAX_BESIDE};
    C{d} itself when the socket's later frames must wait for it, else None."""
    session.media_requests += 1

    def done(result: Any) -> Any:
        session.media_requests -= 1
        return result

    d.addBoth(done)
    return d if session.media_requests >= MAX_BESIDE else None


async def _unavailable() -> Any:
    raise SfuError("media_unavailable", "this server runs without voice and video")


def push_channel(topic: str) -> str | None:
    """The hub channel a router topic's SFU events go to, None if it is no SFU topic."""
    hub_sid = events_room(topic)
    return None if hub_sid is None else "hub:" + hub_sid


def push(kwargs: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The Phoenix push (event, payload) of one SFU event: ``sfu:<event>``
    with the event's other fields; None for a payload without an event name."""
    event = kwargs.get("event")
    if not isinstance(event, str):
        return None
    return EVENT + event, {k: v for k, v in kwargs.items() if k != "event"}
