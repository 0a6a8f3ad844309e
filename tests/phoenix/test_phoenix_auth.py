"""
Sign-in by e-mailed link over Phoenix: the npm phoenix client (as the Hubs
client uses it) against a daemon in this process, whose links go to
Twisted's ESMTP server on loopback. The Node scenario reads the e-mailed
link from a small mailbox server of the test (it cannot see the SMTP
server's messages otherwise).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest_twisted
import treq
from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from hubsd.service import HubsdService
from tests.accounts.conftest import smtp
from tests.accounts.daemon import link_args, start
from tests.accounts.smtpserver import MailBox, SmtpServer
from tests.files.httpd import until
from tests.phoenix.nodeclient import run_scenario
from tests.phoenix.pyclient import connect, create_room

__all__ = ["smtp"]  # the accounts tests' ESMTP server on loopback, as a fixture here

EMAIL = "ann@example.org"


class _Links(Resource):
    """GET /<n>: the n-th e-mailed sign-in link, 404 until it came."""

    isLeaf = True

    def __init__(self, box: MailBox) -> None:
        super().__init__()
        self.box = box

    def render_GET(self, request: Request) -> bytes:
        try:
            message = self.box.messages[int(request.postpath[0])]
        except (IndexError, ValueError):
            request.setResponseCode(404)
            return b""
        return message.link().encode()


@pytest_twisted.async_yield_fixture
async def signing_in(tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[tuple[HubsdService, str]]:
    """A daemon that mails links to the test SMTP server, and the mailbox URL."""
    service, url = await start(
        tmp_path, "backend = sqlite", smtp.port, accounts="burst_per_address = 100"
    )
    service.test_port = urlsplit(url).port  # type: ignore[attr-defined]
    mailbox = reactor.listenTCP(0, Site(_Links(smtp.box)), interface="127.0.0.1")
    yield service, f"http://127.0.0.1:{mailbox.getHost().port}"
    await mailbox.stopListening()
    await service.stopService()


def _reason(reply: dict[str, Any]) -> Any:
    assert reply["status"] == "error", reply
    return reply["response"]["reason"]


@pytest_twisted.ensureDeferred
async def test_sign_in_by_link_over_phoenix(
    signing_in: tuple[HubsdService, str], smtp: SmtpServer
) -> None:
    service, mailbox = signing_in
    sid = (await create_room(service))["hub_sid"]
    out = await run_scenario(
        "phx_auth.js",
        {
            "base": f"ws://127.0.0.1:{service.test_port}",  # type: ignore[attr-defined]
            "mailbox": mailbox,
            "sid": sid,
            "email": EMAIL,
        },
    )
    assert out["joinA"]["status"] == "ok" and out["joinA"]["response"]["session_id"]
    assert out["request"] == {"status": "ok", "response": {}}
    assert out["again"] == {
        "status": "error",
        "response": {"reason": "already_sent", "message": "Already sent"},
    }
    # One e-mail, to the address, for the channel's key (the second request sent none).
    assert len(smtp.box.messages) == 1
    assert smtp.box.messages[0].rcpt_to == [EMAIL]
    assert out["link"]["origin"] == "hubs"
    # A wrong token: an error reply, the channel closed, nobody told.
    assert out["joinBad"]["status"] == "ok"
    assert _reason(out["badVerify"]) == "invalid_link"
    assert out["badClosed"] is True and out["credentialsAfterBad"] == 0
    # The right token: both channels on the topic get the same account token.
    assert out["verify"] == {"status": "ok", "response": {}}
    credentials = out["credentialsA"]
    assert credentials == out["credentialsVerify"]
    assert credentials["payload"] == "from-the-link"
    account_id = service.rooms.tokens.verify_account(credentials["credentials"])
    info = await service.accounts.whoami(credentials["credentials"])
    assert info.account_id == account_id
    assert _reason(out["reused"]) == "invalid_link"
    # Bad input.
    assert _reason(out["noEmail"]) == "invalid_request"
    assert _reason(out["badEmail"]) == "invalid_request"
    assert _reason(out["noSuchEvent"]) == "unknown_event"
    assert _reason(out["badKey"]) == "invalid_request"
    assert _reason(out["badHubToken"]) == "invalid_token"
    # The account token on hub channels: a join with it is signed in.
    assert out["hubJoin"]["status"] == "ok"
    me = out["hubJoin"]["response"]["session_id"]
    assert out["stateSignedIn"][me]["metas"][0]["roles"]["signed_in"] is True
    assert out["signInSame"]["status"] == "ok" and out["signInSame"]["response"]["perms_token"]
    signed_out = out["signOut"]
    assert _reason(signed_out) == "not_supported"
    assert "without auth_token" in signed_out["response"]["message"]
    assert out["anonJoin"]["status"] == "ok"
    signed_in = out["signInAnon"]
    assert _reason(signed_in) == "not_supported"
    assert "with auth_token" in signed_in["response"]["message"]
    assert _reason(out["signInForged"]) == "invalid_token"
    assert out["signOutAnon"]["status"] == "ok"
    # The sockets are gone: so are their waits (one channel still waited).
    await until(lambda: len(service.accounts.waiters) == 0)


@pytest_twisted.ensureDeferred
async def test_auth_channel_limits_and_leaving(tmp_path: Path) -> None:
    """Joins count against the per-address limit (an error reply with
    retry_after); without SMTP a link request says sign-in is not set up;
    a phx_leave or a second join stops the wait."""
    service, url = await start(tmp_path, "backend = sqlite", None, accounts="burst_per_address = 3")
    try:
        client = await connect(urlsplit(url).port or 0)
        first, second = f"auth:{uuid.uuid4()}", f"auth:{uuid.uuid4()}"
        assert (await client.request(first, "phx_join", {}))["status"] == "ok"
        assert len(service.accounts.waiters) == 1
        request = await client.request(first, "auth_request", {"email": "a@example.org"})
        assert request["response"]["reason"] == "sign_in_unavailable"
        assert "not set up" in request["response"]["message"]
        # A second join of the topic: the old wait ends, the new one counts.
        assert (await client.request(first, "phx_join", {}))["status"] == "ok"
        assert len(service.accounts.waiters) == 1
        assert (await client.request(first, "phx_leave", {}))["status"] == "ok"
        assert len(service.accounts.waiters) == 0
        limited = await client.request(second, "phx_join", {})
        assert limited["status"] == "error"
        assert limited["response"]["reason"] == "rate_limited"
        assert limited["response"]["retry_after"] >= 1
        assert len(service.accounts.waiters) == 0
        assert client.proto is not None
        client.proto.sendClose()
    finally:
        await service.stopService()


@pytest_twisted.ensureDeferred
async def test_a_link_used_on_the_http_page_signs_the_phoenix_channel_in(
    signing_in: tuple[HubsdService, str], smtp: SmtpServer
) -> None:
    """The e-mailed link opens hubsd's own confirmation page (no Phoenix on
    that side): its form's POST tells the waiting channel all the same."""
    service, _ = signing_in
    client = await connect(service.test_port)  # type: ignore[attr-defined]
    topic = f"auth:{uuid.uuid4()}"
    assert (await client.request(topic, "phx_join", {}))["status"] == "ok"
    request = await client.request(topic, "auth_request", {"email": EMAIL, "origin": "hubs"})
    assert request["status"] == "ok", request
    link, args = link_args(smtp)
    assert args["auth_topic"] == topic.partition(":")[2]
    response = await treq.post(link, data={k: args[k] for k in ("auth_topic", "auth_token")})
    assert response.code == 200, await response.text()
    pushed = await client.wait(lambda f: f[3] == "auth_credentials")
    assert pushed[2] == topic and pushed[4]["payload"] is None
    token = pushed[4]["credentials"]
    account = await service.store.get_account_by_email(EMAIL)
    assert service.rooms.tokens.verify_account(token) == account.account_id
    assert client.proto is not None
    client.proto.sendClose()
