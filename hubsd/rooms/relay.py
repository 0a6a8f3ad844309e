"""
What happens to a member's publication on a room topic: the relay rules.

Called by the WAMP binding's publish hook (and later the Phoenix gateway)
for every publication on ``hubsd.room.<sid>.naf`` and ``.chat``, after the
room gate let the member publish there. Each publication is:

1. rate limited per member (messages and bytes per second): over the limit
   it is dropped and counted, and a member far over it for long is kicked;
2. checked for its shape (a malformed envelope is an error naming the field);
3. put through the rules of its topic: networked-object rules
   (L{hubsd.rooms.naf}, L{hubsd.rooms.entities}) or chat rules (below);
4. stamped with the sender's session id, which the server alone sets (a
   client-supplied ``from_session_id``/``session_id`` never survives);
5. kept from members in a block relation with the sender.

The rules decide; the hook only rewrites the payload when they changed it.
"""

from __future__ import annotations

from typing import Any

from hubsd.rooms import naf
from hubsd.rooms.errors import InvalidPayload, RateLimited, RoomError
from hubsd.rooms.permissions import require
from hubsd.rooms.room import LiveRoom, Member

#: Chat message types and the permission each needs.
CHAT_TYPES = {
    "chat": "text_chat",
    "image": "text_chat",
    "photo": "spawn_camera",
    "video": "spawn_camera",
}
MAX_MEDIA_URL = 2048
#: The key of the sender's session id in a relayed NAF envelope.
SENDER = "from_session_id"


class Dropped(RoomError):
    """A publication the rules drop (counted); acknowledged publishes get this error."""

    uri = "hubsd.error.dropped"


def _payload_size(pub: Any) -> int:
    raw = pub.payload.raw
    return len(raw) if raw is not None else 256


def _limit(room: LiveRoom, member: Member, pub: Any) -> None:
    if member.limiter.allow(_payload_size(pub)):
        return
    room.dropped_rate += 1
    if member.limiter.should_kick():
        room.flooders.add(member.session_id)
    raise RateLimited("rate limit exceeded: publication dropped")


def _exclude_blocked(room: LiveRoom, member: Member, pub: Any) -> None:
    if room.block_relations:
        others = room.blocked_with(member.session_id)
        if others:
            pub.exclude = room.connections(others)


def relay(room: LiveRoom, member: Member, kind: str, pub: Any) -> Any:
    """
    Apply the rules of topic C{kind} to C{pub} from C{member}.

    @return: a Payload or (args, kwargs) to relay instead (the hook
        protocol of the router).
    @raise RoomError: to refuse it (the publisher gets the error if it asked
        for an acknowledgement; the rest of the room sees nothing).
    """
    _limit(room, member, pub)
    kwargs = pub.kwargs
    if not isinstance(kwargs, dict) or pub.args:
        raise InvalidPayload("publish the envelope as keyword arguments only")
    if kind == "naf":
        out, changed = relay_naf(room, member, kwargs)
        _exclude_blocked(room, member, pub)
        if not changed and len(kwargs) == 2 and "data" in kwargs and "dataType" in kwargs:
            # Untouched {dataType, data}: only the sender is added, spliced
            # into the bytes as they came (no re-encoding on the hot path).
            spliced = pub.payload.with_kwarg_first(SENDER, member.session_id, out)
            if spliced is not None:
                return spliced
        return [], out
    elif kind == "chat":
        out = relay_chat(room, member, kwargs)
        pub.exclude_me = False
    else:  # the gate lets members publish only on the topics above
        raise InvalidPayload(f"members cannot publish on {kind}")
    _exclude_blocked(room, member, pub)
    return [], out


def relay_naf(
    room: LiveRoom, member: Member, envelope: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """
    A networked-aframe envelope, checked and arbitrated (L{naf.inspect}):
    the kwargs to relay, and whether the rules changed the client's data
    (False: it is relayed exactly as sent, the sender added). States that
    correct the sender's wrong claims of ownership are queued in
    C{room.corrections} for the sender alone.
    """
    if not member.entered:
        raise Dropped("enter the room before sending networked objects")
    roles = member.roles
    verdict = naf.inspect(
        envelope,
        member.session_id,
        member.permissions,
        room.entities,
        is_moderator=roles.moderator or roles.owner or roles.creator,
    )
    if verdict.corrections:
        room.corrections.append((member.session_id, list(verdict.corrections)))
    if not verdict.relay:
        raise Dropped(f"dropped: {verdict.reason or 'refused by the room rules'}")
    return naf.outgoing(verdict, member.session_id), verdict.changed


def relay_chat(room: LiveRoom, member: Member, message: dict[str, Any]) -> dict[str, Any]:
    """A chat message, checked (type, permission, length); the kwargs to relay."""
    kind = message.get("type")
    permission = CHAT_TYPES.get(kind) if isinstance(kind, str) else None
    if permission is None:
        raise InvalidPayload(f"type must be one of {', '.join(CHAT_TYPES)}")
    require(member.permissions, permission)
    body = message.get("body")
    if kind == "chat":
        limit = room.settings.max_chat_length
        if not isinstance(body, str) or not body.strip():
            raise InvalidPayload("body must be a non-empty string")
        if len(body) > limit:
            raise InvalidPayload(f"body is longer than {limit} characters")
    else:
        src = body.get("src") if isinstance(body, dict) else None
        if not isinstance(src, str) or not 0 < len(src) <= MAX_MEDIA_URL:
            raise InvalidPayload(f"body.src must be a URL of at most {MAX_MEDIA_URL} characters")
        body = {"src": src}
    return {"type": kind, "body": body, "session_id": member.session_id}
