"""
The ``hub:<sid>`` channel: reticulum's hub events mapped onto the room core.

Every rule lives in the room core: joins, presence and moderation are
L{RoomDirectory} calls (as the WAMP procedures make them), and ``naf``,
``nafr`` and ``message`` are publications on the room's topics through the
router, so the room gate and L{hubsd.rooms.relay} apply to them exactly as
to a WAMP member's; the ``sfu:*`` events are the SFU's operations
(L{hubsd.phoenix.media}). This module only translates shapes and names,
and answers with Phoenix replies. The list of events and their replies is in
docs/phoenix-api.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from twisted.internet.defer import Deferred

from hubsd.phoenix import media
from hubsd.phoenix.events import TOPICS
from hubsd.phoenix.frames import Frame
from hubsd.phoenix.hubobject import hub_object
from hubsd.phoenix.session import Channel
from hubsd.rooms.directory import Identity
from hubsd.rooms.errors import (
    InvalidPayload,
    InvalidToken,
    JoinDenied,
    NoSuchRoom,
    RoomClosed,
    RoomError,
    RoomFull,
)
from hubsd.sfu.errors import SfuError
from hubsd.wamp.codec import JsonCodec
from hubsd.wamp.payload import Payload

if TYPE_CHECKING:
    from hubsd.phoenix.gateway import PhoenixGateway
    from hubsd.phoenix.session import PhoenixSession

ROOM_TOPIC = "hubsd.room."
_JSON = JsonCodec()

#: Join refusals in the shapes the Hubs client tells apart (hubs src/hub.js).
_JOIN_ERRORS: dict[type[RoomError], tuple[str, str]] = {
    NoSuchRoom: ("not_found", "No such Hub"),
    RoomClosed: ("closed", "Hub no longer accessible"),
    JoinDenied: ("join_denied", "Join denied"),
    RoomFull: ("room_full", "Room full"),
}

#: events:* that set a presence flag: event -> (flag, value).
_FLAGS = {
    "events:entering": ("entering", True),
    "events:entering_cancelled": ("entering", False),
    "events:begin_recording": ("recording", True),
    "events:end_recording": ("recording", False),
    "events:raise_hand": ("hand_raised", True),
    "events:lower_hand": ("hand_raised", False),
    "events:begin_streaming": ("streaming", True),
    "events:end_streaming": ("streaming", False),
    "events:begin_typing": ("typing", True),
    "events:end_typing": ("typing", False),
}
#: Events hubsd accepts and has nothing to do for (statistics, support
#: calls, web push, favourites): no reply, as reticulum.
_IGNORED = frozenset(
    {"events:object_spawned", "events:request_support", "subscribe", "favorite", "unfavorite"}
)
#: Events of features hubsd does not have (yet): an error reply says so.
_UNSUPPORTED = {
    "oauth": "OAuth is not supported",
    "save_entity_state": "saved entity state is not supported; pin objects instead",
    "update_entity_state": "saved entity state is not supported; pin objects instead",
    "delete_entity_state": "saved entity state is not supported; pin objects instead",
    "revoke_invite": "invite codes are derived from the room and cannot be revoked",
    "get_host": (
        "this server has no Janus or dialog endpoint to assign: use the sfu:* events "
        "on this channel for voice and video"
    ),
    "block_naf": "block_naf is not supported",
    "unblock_naf": "block_naf is not supported",
}


class SignInNeedsRejoin(RoomError):
    """``sign_in``/``sign_out`` would change a seated member's account."""

    uri = "hubsd.error.not_supported"


def _error(e: RoomError | SfuError) -> dict[str, Any]:
    return {"reason": e.uri.rsplit(".", 1)[-1], "message": str(e)}


def _join_error(e: RoomError) -> dict[str, Any]:
    reason, message = _JOIN_ERRORS.get(type(e), (e.uri.rsplit(".", 1)[-1], str(e)))
    return {"reason": reason, "message": message, "detail": str(e)}


async def join(gw: PhoenixGateway, session: PhoenixSession, frame: Frame, sid: str) -> None:
    """Join the room: take a seat, subscribe to its topics, enter (lobby),
    reply as reticulum, then push ``presence_state`` (the client waits for it)."""
    payload = frame.payload
    profile, context = payload.get("profile"), payload.get("context")
    if not isinstance(profile, dict) or not isinstance(context, dict):
        session.reply(
            frame,
            "error",
            {"reason": "join crashed", "message": "profile and context are required"},
        )
        return
    d = gw.directory
    identity = session.identity
    auth_token = payload.get("auth_token")
    if auth_token is not None and auth_token != "":
        # Reticulum's join param: an account token makes the member that account.
        try:
            identity = Identity(identity.session_id, gw.tokens.verify_account(auth_token))
        except InvalidToken as e:
            session.reply(
                frame,
                "error",
                {"reason": "invalid_token", "message": "Sign in failed", "detail": str(e)},
            )
            return
    try:
        joined = await d.join(
            identity,
            session.session_id,
            sid,
            payload.get("hub_invite_id"),
            payload.get("creator_assignment_token"),
        )
    except RoomError as e:
        session.reply(frame, "error", _join_error(e))
        return
    if session.closed:
        # The socket went away while the room was loading: the seat it just
        # took is held (or freed) like any dropped connection's.
        d.connection_lost(identity, session.session_id)
        return
    channel = Channel(frame.topic, frame.join_ref, sid)
    channel.identity = identity
    for kind in TOPICS:
        session.subscribe(f"{ROOM_TOPIC}{sid}.{kind}")
    try:
        snapshot = await d.enter(identity, sid, profile, context, "lobby")
    except RoomError as e:
        await d.leave(identity, sid)
        session.reply(frame, "error", _join_error(e))
        return
    if session.closed:
        return
    session.channels[frame.topic] = channel
    session.reply(
        frame,
        "ok",
        {
            "hubs": [hub_object(joined["room"], gw.sfu() if gw.sfu else {})],
            "session_id": joined["session_id"],
            "session_token": joined["session_token"],
            "perms_token": joined["perms_token"],
            "subscriptions": {"web_push": False, "favorites": False},
            "hub_requires_oauth": False,
        },
    )
    session.push(channel, "presence_state", snapshot["presence"])
    for state in snapshot["entities"]:
        # The room's entities as first syncs, as their owners would send them.
        envelope = {"dataType": "u", "data": state, "from_session_id": state.get("owner")}
        session.push(channel, "naf", envelope)


async def leave(gw: PhoenixGateway, session: PhoenixSession, channel: Channel) -> None:
    """Leave the room for good (a ``phx_leave`` or a second join of the topic)."""
    assert channel.hub_sid is not None
    try:
        await gw.directory.leave(channel.identity or session.identity, channel.hub_sid)
    except RoomError:
        pass  # already removed (kicked, closed): nothing left to leave


def _publish(
    session: PhoenixSession, channel: Channel, kind: str, payload: Payload, ack: bool
) -> list[Any] | None:
    return session.publish(channel.room_topics[kind], payload, ack)


def _naf(session: PhoenixSession, channel: Channel, frame: Frame) -> None:
    raw = frame.raw_payload
    if raw is not None and raw.startswith(b"{"):
        # The client's own JSON text travels on: relayed to WAMP JSON members
        # and to Phoenix members without being encoded again.
        payload = Payload(_JSON, b"[]," + raw, 2, ([], frame.payload))
    else:
        payload = Payload.from_values([], frame.payload)
    _publish(session, channel, "naf", payload, False)


def _nafr(session: PhoenixSession, channel: Channel, frame: Frame) -> None:
    text = frame.payload.get("naf")
    if not isinstance(text, str):
        session.reply(
            frame, "error", {"reason": "invalid_payload", "message": "naf must be a string"}
        )
        return
    try:
        envelope = orjson.loads(text)
    except orjson.JSONDecodeError:
        envelope = None
    if not isinstance(envelope, dict):
        session.reply(
            frame, "error", {"reason": "invalid_payload", "message": "naf must hold a JSON object"}
        )
        return
    _publish(
        session, channel, "naf", Payload(_JSON, b"[]," + text.encode(), 2, ([], envelope)), False
    )


def _message(session: PhoenixSession, channel: Channel, frame: Frame) -> None:
    body = {k: frame.payload[k] for k in ("type", "body") if k in frame.payload}
    refused = _publish(session, channel, "chat", Payload.from_values([], body), True)
    if refused is not None:
        reason = refused[4].rsplit(".", 1)[-1]
        message = refused[5][0] if len(refused) > 5 and refused[5] else reason
        session.reply(frame, "error", {"reason": reason, "message": message})


def _target(frame: Frame) -> Any:
    target = frame.payload.get("session_id")
    if not isinstance(target, str):
        raise InvalidPayload("session_id must be a string")
    return target


def _room_call(
    gw: PhoenixGateway, session: PhoenixSession, channel: Channel, frame: Frame
) -> Callable[[], Awaitable[Any]] | None:
    """The room core call for a request event, None if the event is not one."""
    d, sid, p, ev = gw.directory, channel.hub_sid, frame.payload, frame.event
    me = channel.identity or session.identity
    if ev in _FLAGS:
        flag, value = _FLAGS[ev]
        return lambda: d.update_presence(me, sid, {flag: value})
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "events:entered": lambda: d.update_presence(
            me, sid, {"presence": "room", "entering": False}
        ),
        "events:profile_updated": lambda: d.update_presence(me, sid, {"profile": p.get("profile")}),
        "block": lambda: d.block(me, sid, _target(frame), True),
        "unblock": lambda: d.block(me, sid, _target(frame), False),
        "kick": lambda: d.kick(me, sid, _target(frame), ""),
        "mute": lambda: d.mute(me, sid, _target(frame)),
        # A hubsd addition: the SFU enforces a moderator's mute until the
        # member itself turns its microphone back on (reticulum has no such event).
        "unmute": lambda: d.unmute(me, sid),
        "add_owner": lambda: d.set_moderator(me, sid, _target(frame), True),
        "remove_owner": lambda: d.set_moderator(me, sid, _target(frame), False),
        "pin": lambda: d.pin(
            me, sid, p.get("id"), p.get("gltf_node"), p.get("file_id"), p.get("promotion_token")
        ),
        "unpin": lambda: d.unpin(me, sid, p.get("id")),
        "update_hub": lambda: d.update(me, sid, _hub_fields(p)),
        "update_scene": lambda: d.update(me, sid, {"scene_url": p.get("url")}),
        "close_hub": lambda: d.close(me, sid),
        "refresh_perms_token": lambda: d.perms_token(me, sid),
        "fetch_invite": lambda: _invite(gw, session, sid),
        "sign_in": lambda: _sign_in(gw, channel, p.get("token")),
        "sign_out": lambda: _sign_in(gw, channel, None),
        "list_entities": _no_entities,
        "unsubscribe": _no_subscriptions,
    }
    return calls.get(ev)


async def _no_entities() -> dict[str, Any]:
    return {"data": []}


async def _no_subscriptions() -> dict[str, Any]:
    return {"has_remaining_subscriptions": False}


async def _invite(gw: PhoenixGateway, session: PhoenixSession, sid: Any) -> dict[str, Any]:
    result = await gw.directory.invite(session.identity, sid)
    return {"hub_invite_id": result["invite"]}


async def _sign_in(gw: PhoenixGateway, channel: Channel, token: object) -> dict[str, Any]:
    """``sign_in {token}`` (or ``sign_out``, C{token} None) on a joined hub.

    The room core fixes a seat's account and roles when the seat is taken,
    and has no operation to change them for a seated member. So this
    answers ok only when nothing would change (the token's account is the
    seat's, or signing out an anonymous seat), with a fresh perms token;
    otherwise it refuses and says how: leave and join the hub channel again
    with ``auth_token`` (or without, to sign out).
    """
    assert channel.identity is not None
    account_id = None
    if token is not None:
        try:
            account_id = gw.tokens.verify_account(token)
        except InvalidToken as e:
            raise InvalidToken(e.reason, f"Sign in failed: {e}") from None
    if account_id != channel.identity.account_id:
        raise SignInNeedsRejoin(
            "this server cannot change who a seated member is: leave the hub channel and join "
            + ("it again with auth_token" if token is not None else "it again without auth_token")
        )
    return await gw.directory.perms_token(channel.identity, channel.hub_sid)


def _hub_fields(p: dict[str, Any]) -> dict[str, Any]:
    """update_hub's payload as room fields; the room core checks each value.
    Hubs also sends ``user_data`` (client feature flags), which hubsd does
    not store: it is left out rather than refusing the whole update."""
    names = {
        "name": "name",
        "description": "description",
        "member_permissions": "member_permissions",
        "room_size": "room_size",
        "entry_mode": "entry_mode",
        "allow_promotion": "public",
    }
    return {names[k]: v for k, v in p.items() if k in names}


#: Request events whose reticulum reply is empty: a reply is sent only on error.
_QUIET = frozenset(
    {*_FLAGS, "events:entered", "events:profile_updated", "block", "unblock", "kick", "mute"}
    | {"unmute"}
    | {"add_owner", "remove_owner", "unpin", "update_hub", "update_scene", "close_hub"}
)


async def _request(
    session: PhoenixSession, frame: Frame, call: Callable[[], Awaitable[Any]]
) -> None:
    try:
        result = await call()
    except (RoomError, SfuError) as e:
        session.reply(frame, "error", _error(e))
        return
    if frame.event not in _QUIET:
        session.reply(frame, "ok", result if isinstance(result, dict) else {})


def handle_event(
    gw: PhoenixGateway, session: PhoenixSession, channel: Channel, frame: Frame
) -> Deferred[Any] | None:
    """One client event on a joined hub channel."""
    ev = frame.event
    if ev == "naf":
        _naf(session, channel, frame)
    elif ev == "nafr":
        _nafr(session, channel, frame)
    elif ev == "message":
        _message(session, channel, frame)
    elif ev in _IGNORED:
        pass
    elif ev in _UNSUPPORTED:
        session.reply(frame, "error", {"reason": "not_supported", "message": _UNSUPPORTED[ev]})
    elif media.is_media_event(ev):
        sfu_call = media.call(gw, session, channel, frame)
        if sfu_call is None:
            session.reply(frame, "error", {"reason": "unknown_event", "message": ev})
            return None
        # Beside the socket's other frames, as WAMP calls are: a publish
        # waiting for the media worker must not hold the room's traffic back.
        return media.beside(session, session.run(frame, _request(session, frame, sfu_call)))
    else:
        call = _room_call(gw, session, channel, frame)
        if call is None:
            session.reply(frame, "error", {"reason": "unknown_event", "message": ev})
            return None
        return session.run(frame, _request(session, frame, call))
    return None
