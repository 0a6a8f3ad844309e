"""
The ``auth:<key>`` channel: sign-in by e-mailed link, as the Hubs client uses it.

Every rule lives in L{hubsd.accounts.signin.SignIn}; this module maps
reticulum's auth channel onto it. A join waits on the key (L{SignIn.wait},
which limits waiters and joins per address); ``auth_request {email,
origin}`` asks for the link, once per channel (a second one is answered
``Already sent``); the link's page joins the same topic and pushes
``auth_verified {token, payload}`` (L{SignIn.verify}); every channel
waiting on the key then gets ``auth_credentials {credentials, payload}``.
An invalid link closes the verifying channel. Leaving, rejoining or
closing the socket stops the wait.

Link requests and verifications run beside the socket's other frames, not
ahead of them: an SMTP server taking seconds must not hold a hub channel's
traffic back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger

from hubsd.accounts.errors import InvalidLink, RateLimited, SignInError
from hubsd.phoenix import frames
from hubsd.phoenix.session import Channel

if TYPE_CHECKING:
    from hubsd.accounts.records import Credentials
    from hubsd.phoenix.frames import Frame
    from hubsd.phoenix.gateway import PhoenixGateway
    from hubsd.phoenix.session import PhoenixSession

log = Logger()

NOT_SET_UP = "e-mail sign-in is not set up on this server"


def _error(e: SignInError) -> dict[str, Any]:
    reply: dict[str, Any] = {"reason": e.code, "message": e.message}
    if isinstance(e, RateLimited):
        reply["retry_after"] = e.retry_after
    return reply


def address_of(session: PhoenixSession) -> str | None:
    """The socket's peer IP address, for the per-address limits."""
    address = session.transport_info.get("address")
    return address if isinstance(address, str) else None


def join(gw: PhoenixGateway, session: PhoenixSession, frame: Frame, key: str) -> None:
    """Join ``auth:<key>``: wait for the key's link to be used."""
    sign_in = gw.sign_in
    if sign_in is None:
        session.reply(frame, "error", {"reason": "not_supported", "message": NOT_SET_UP})
        return
    channel = Channel(frame.topic, frame.join_ref, None)

    def on_credentials(credentials: Credentials) -> None:
        channel.stop_waiting = None
        if session.closed or session.channels.get(channel.topic) is not channel:
            return
        payload = gw.auth_payloads.get(key, (None, None))[1]
        session.push(
            channel, "auth_credentials", {"credentials": credentials.token, "payload": payload}
        )

    try:
        channel.stop_waiting = sign_in.wait(key, on_credentials, address_of(session))
    except SignInError as e:
        session.reply(frame, "error", _error(e))
        return
    session.channels[frame.topic] = channel
    session.reply(frame, "ok", {"session_id": session.identity.session_id})


def handle_event(
    gw: PhoenixGateway, session: PhoenixSession, channel: Channel, frame: Frame
) -> None:
    """One client event on a joined auth channel."""
    key = channel.topic.partition(":")[2]
    if frame.event == "auth_request":
        if channel.link_requested:
            session.reply(frame, "error", {"reason": "already_sent", "message": "Already sent"})
            return
        channel.link_requested = True
        _detached(session, frame, _request(gw, session, channel, frame, key))
    elif frame.event == "auth_verified":
        _detached(session, frame, _verify(gw, session, channel, frame, key))
    else:
        session.reply(frame, "error", {"reason": "unknown_event", "message": frame.event})


def _detached(session: PhoenixSession, frame: Frame, coro: Any) -> None:
    def failed(f: Any) -> None:
        log.failure("Phoenix {event} failed", f, event=frame.event)
        if not session.closed:
            session.reply(frame, "error", {"reason": "internal error"})

    ensureDeferred(coro).addErrback(failed)


async def _request(
    gw: PhoenixGateway, session: PhoenixSession, channel: Channel, frame: Frame, key: str
) -> None:
    p = frame.payload
    assert gw.sign_in is not None
    try:
        await gw.sign_in.request_link(p.get("email"), p.get("origin", ""), key, address_of(session))
    except SignInError as e:
        # Nothing was sent: the channel may ask again.
        channel.link_requested = False
        if not session.closed:
            session.reply(frame, "error", _error(e))
        return
    if not session.closed:
        session.reply(frame, "ok", {})


async def _verify(
    gw: PhoenixGateway, session: PhoenixSession, channel: Channel, frame: Frame, key: str
) -> None:
    p = frame.payload
    assert gw.sign_in is not None
    payloads = gw.auth_payloads
    mine = object()
    # What the link's page sends along reaches the waiters with the credentials.
    payloads[key] = (mine, p.get("payload"))
    try:
        await gw.sign_in.verify(key, p.get("token"), address_of(session))
    except InvalidLink as e:
        if not session.closed:
            session.reply(frame, "error", _error(e))
            close(session, channel)
        return
    except SignInError as e:
        if not session.closed:
            session.reply(frame, "error", _error(e))
        return
    finally:
        if payloads.get(key, (None,))[0] is mine:
            del payloads[key]
    if not session.closed:
        session.reply(frame, "ok", {})


def stop(channel: Channel) -> None:
    """Stop the channel's wait (harmless if it ended already)."""
    stop_waiting, channel.stop_waiting = channel.stop_waiting, None
    if stop_waiting is not None:
        stop_waiting()


def close(session: PhoenixSession, channel: Channel) -> None:
    """Close the channel from the server's side (``phx_close``)."""
    stop(channel)
    if session.channels.get(channel.topic) is channel:
        del session.channels[channel.topic]
        session.write(
            frames.encode(channel.join_ref, channel.join_ref, channel.topic, frames.CLOSE, {})
        )
