"""
Sign-in by magic link over real HTTP (treq) against the in-process daemon,
on SQLite and PostgreSQL, with Twisted's ESMTP server on loopback taking the
e-mails: the link page, single use, expiry, wrong tokens, limits, malformed
input, an SMTP server that is down, admins and who-am-I.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import treq
from twisted.internet.task import Clock

from hubsd.service import HubsdService
from hubsd.storage.errors import NotFound
from tests.accounts.daemon import get, link_args, post_json, start, storage_for
from tests.accounts.smtpserver import SmtpServer
from tests.conftest import free_port
from tests.wamp.harness import timeout

TOPIC = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_TOPIC = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

Start = Callable[..., Any]


@pytest.fixture(params=["sqlite", "postgres"])
def daemon(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Starts a daemon on this test's storage: C{await daemon(smtp_port, accounts_keys)}."""
    storage = storage_for(request)
    started: list[HubsdService] = []

    async def make(smtp_port: int | None, accounts: str = "") -> tuple[HubsdService, str]:
        service, url = await start(tmp_path / str(len(started)), storage, smtp_port, accounts)
        started.append(service)
        return service, url

    yield make
    for service in started:
        pytest_twisted.blockon(service.stopService())


async def sign_in(url: str, smtp: SmtpServer, email: str, topic: str) -> dict[str, Any]:
    """Ask for a link, take it from the mailbox, use it with JSON: the credentials."""
    before = len(smtp.box.messages)
    status, body, _ = await post_json(
        f"{url}/api/v1/accounts/sign_in", {"email": email, "topic": topic}
    )
    assert (status, body) == (202, {"status": "sent", "topic": topic})
    await smtp.box.wait_for(before + 1)
    _, args = link_args(smtp)
    status, credentials, _ = await post_json(
        f"{url}/api/v1/accounts/verify", {"topic": topic, "token": args["auth_token"]}
    )
    assert status == 200, credentials
    return dict(credentials)


@pytest_twisted.ensureDeferred
async def test_sign_in_by_magic_link_through_the_page(daemon: Start, smtp: SmtpServer) -> None:
    service, url = await daemon(smtp.port, "burst_per_address = 20")
    heard: list[Any] = []
    service.accounts.wait(TOPIC, heard.append)
    status, body, _ = await post_json(
        f"{url}/api/v1/accounts/sign_in",
        {"email": "Ann@Example.org", "topic": TOPIC, "origin": "hubs"},
    )
    assert (status, body) == (202, {"status": "sent", "topic": TOPIC})
    (mail,) = await smtp.box.wait_for(1)
    assert mail.rcpt_to == ["Ann@Example.org"]
    link, args = link_args(smtp)
    assert link.startswith(f"{url}/api/v1/accounts/verify?")
    assert args["auth_topic"] == TOPIC and args["auth_origin"] == "hubs"
    # Opening the link (as a mail scanner would, too) uses nothing up.
    for _ in range(2):
        status, page, headers = await get(link)
        assert status == 200
        assert headers.getRawHeaders("content-type") == ["text/html; charset=utf-8"]
        assert "default-src 'none'" in headers.getRawHeaders("content-security-policy")[0]
        text = page.decode()
        assert '<form method="post">' in text and args["auth_token"] in text
        assert f"Sign in to 127.0.0.1:{url.rsplit(':', 1)[1]}" in text
    assert heard == []
    response = await timeout(
        treq.post(
            link,
            data={"auth_topic": args["auth_topic"], "auth_token": args["auth_token"]},
        )
    )
    page = (await timeout(treq.content(response))).decode()
    assert response.code == 200 and "You are signed in" in page
    assert "is signed in now" in page
    assert len(heard) == 1 and args["auth_token"] not in page
    account = await service.store.get_account_by_email("ann@example.org")
    assert heard[0].account_id == account.account_id
    # The link is used up: the page and the JSON answer say so.
    response = await timeout(treq.post(link, data=dict(args)))
    page = (await timeout(treq.content(response))).decode()
    assert response.code == 403 and "may have been used or have expired" in page
    status, body, _ = await post_json(
        f"{url}/api/v1/accounts/verify", {"topic": TOPIC, "token": args["auth_token"]}
    )
    assert status == 403 and body["error"]["code"] == "invalid_link"
    status, page, _ = await get(f"{url}/api/v1/accounts/verify?auth_topic={TOPIC}")
    assert status == 400 and b"This link is incomplete" in page
    # A link whose asking page is gone still signs in, and the page says so.
    await post_json(
        f"{url}/api/v1/accounts/sign_in", {"email": "ann@example.org", "topic": OTHER_TOPIC}
    )
    await smtp.box.wait_for(2)
    link, args = link_args(smtp)
    response = await timeout(treq.post(link, data=dict(args)))
    page = (await timeout(treq.content(response))).decode()
    assert response.code == 200 and "no page was waiting for this link" in page


@pytest_twisted.ensureDeferred
async def test_a_json_sign_in_gives_an_account_token_who_am_i_accepts(
    daemon: Start, smtp: SmtpServer
) -> None:
    service, url = await daemon(smtp.port, "admins = boss@example.org")
    ann = await sign_in(url, smtp, "ann@example.org", TOPIC)
    account = await service.store.get_account_by_email("ann@example.org")
    assert ann["account_id"] == str(account.account_id) and ann["is_admin"] is False
    status, body, _ = await get(
        f"{url}/api/v1/accounts/me", Authorization=f"Bearer {ann['credentials']}"
    )
    me = json.loads(body)
    assert status == 200 and me["account_id"] == ann["account_id"] and me["is_admin"] is False
    assert datetime.fromisoformat(me["created_at"]) == account.created_at
    boss = await sign_in(url, smtp, "Boss@example.org", OTHER_TOPIC)
    assert boss["is_admin"] is True
    status, body, _ = await get(
        f"{url}/api/v1/accounts/me", Authorization=f"bearer {boss['credentials']}"
    )
    assert status == 200 and b'"is_admin":true' in body


@pytest_twisted.ensureDeferred
async def test_who_am_i_refuses_what_is_not_a_valid_account_token(
    daemon: Start, smtp: SmtpServer
) -> None:
    service, url = await daemon(smtp.port)
    session = service.rooms.tokens.issue_session("f" * 36)
    gone = service.rooms.tokens.issue_account(4242)
    for headers, code in [
        ({}, "not_signed_in"),
        ({"Authorization": "Basic YTpi"}, "bad_authorization"),
        ({"Authorization": "Bearer not.a.token"}, "not_signed_in"),
        ({"Authorization": f"Bearer {session}"}, "not_signed_in"),
        ({"Authorization": f"Bearer {gone}"}, "not_signed_in"),
    ]:
        status, body, response_headers = await get(f"{url}/api/v1/accounts/me", **headers)
        assert status == 401, headers
        assert json.loads(body)["error"]["code"] == code
        if code == "not_signed_in":
            assert response_headers.getRawHeaders("www-authenticate") == ['Bearer realm="hubsd"']


@pytest_twisted.ensureDeferred
async def test_an_expired_or_wrong_link_is_refused(daemon: Start, smtp: SmtpServer) -> None:
    service, url = await daemon(smtp.port, "link_lifetime = 10m\nburst_per_address = 50")
    clock = Clock()
    clock.advance(time.time())
    service.accounts.clock = clock
    await post_json(f"{url}/api/v1/accounts/sign_in", {"email": "ann@example.org", "topic": TOPIC})
    await smtp.box.wait_for(1)
    _, args = link_args(smtp)
    token = args["auth_token"]
    verify = f"{url}/api/v1/accounts/verify"
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    for body in [
        {"topic": TOPIC, "token": wrong},
        {"topic": OTHER_TOPIC, "token": token},
        {"topic": TOPIC, "token": token + "0"},
        {"topic": TOPIC},
    ]:
        status, answer, _ = await post_json(verify, body)
        assert (status, answer["error"]["code"]) == (403, "invalid_link"), body
    status, answer, _ = await post_json(verify, {"topic": "x", "token": token})
    assert (status, answer["error"]["code"]) == (400, "invalid_request")
    clock.advance(600)
    status, answer, _ = await post_json(verify, {"topic": TOPIC, "token": token})
    assert (status, answer["error"]["code"]) == (403, "invalid_link")
    with pytest.raises(NotFound):
        await service.store.get_account_by_email("ann@example.org")


@pytest_twisted.ensureDeferred
async def test_malformed_requests_are_4xx_and_send_nothing(daemon: Start, smtp: SmtpServer) -> None:
    _, url = await daemon(smtp.port)
    start_url = f"{url}/api/v1/accounts/sign_in"
    for body, code in [
        ({"email": "not an address"}, "invalid_request"),
        ({"email": "ann@example.org\r\nBcc: eve@example.org"}, "invalid_request"),
        ({}, "invalid_request"),
        ({"email": "ann@example.org", "topic": "short"}, "invalid_request"),
        ({"email": "ann@example.org", "origin": "<b>"}, "invalid_request"),
        (["ann@example.org"], "invalid_request"),
    ]:
        status, answer, _ = await post_json(start_url, body)
        assert (status, answer["error"]["code"]) == (400, code), body
    response = await timeout(treq.post(start_url, b"email=ann@example.org"))
    assert response.code == 415
    await timeout(treq.content(response))
    response = await timeout(
        treq.post(start_url, b"{" * 5000, headers={"Content-Type": "application/json"})
    )
    assert response.code == 413
    await timeout(treq.content(response))
    response = await timeout(
        treq.post(start_url, b"{nope", headers={"Content-Type": "application/json"})
    )
    assert response.code == 400
    await timeout(treq.content(response))
    assert smtp.box.messages == []


@pytest_twisted.ensureDeferred
async def test_too_many_requests_from_one_address_get_429(daemon: Start, smtp: SmtpServer) -> None:
    _, url = await daemon(smtp.port, "rate_per_address = 0.01\nburst_per_address = 2")
    start_url = f"{url}/api/v1/accounts/sign_in"
    for n in range(2):
        status, _, _ = await post_json(start_url, {"email": f"user{n}@example.org"})
        assert status == 202
    status, answer, headers = await post_json(start_url, {"email": "user9@example.org"})
    assert (status, answer["error"]["code"]) == (429, "rate_limited")
    assert headers.getRawHeaders("retry-after") == ["100"]
    # Link uses share the bucket.
    status, answer, _ = await post_json(
        f"{url}/api/v1/accounts/verify", {"topic": TOPIC, "token": "0" * 64}
    )
    assert status == 429
    assert len(await smtp.box.wait_for(2)) == 2


@pytest_twisted.ensureDeferred
async def test_an_smtp_server_that_is_down_is_a_503_and_nothing_is_kept(daemon: Start) -> None:
    service, url = await daemon(free_port())
    status, answer, _ = await post_json(
        f"{url}/api/v1/accounts/sign_in", {"email": "ann@example.org", "topic": TOPIC}
    )
    assert status == 503
    assert answer["error"] == {
        "code": "sign_in_unavailable",
        "message": re.sub(r"\s+", " ", answer["error"]["message"]),
    }
    assert answer["error"]["message"].startswith("the e-mail could not be sent through 127.0.0.1:")
    far = datetime.now(UTC) + timedelta(days=3650)
    assert await service.store.delete_expired_login_tokens(far) == 0
    with pytest.raises(NotFound):
        await service.store.get_account_by_email("ann@example.org")


@pytest_twisted.ensureDeferred
async def test_without_an_smtp_server_sign_in_is_a_503(daemon: Start) -> None:
    _, url = await daemon(None)
    status, answer, _ = await post_json(
        f"{url}/api/v1/accounts/sign_in", {"email": "ann@example.org"}
    )
    assert (status, answer["error"]["code"]) == (503, "sign_in_unavailable")
    assert answer["error"]["message"] == "sign-in by e-mail is not set up on this server"


@pytest_twisted.ensureDeferred
async def test_the_link_token_is_in_no_log_line(
    daemon: Start, smtp: SmtpServer, log_text: list[str]
) -> None:
    _, url = await daemon(smtp.port)
    await post_json(f"{url}/api/v1/accounts/sign_in", {"email": "ann@example.org", "topic": TOPIC})
    await smtp.box.wait_for(1)
    link, args = link_args(smtp)
    status, _, _ = await get(link)
    assert status == 200
    response = await timeout(treq.post(link, data=dict(args)))
    await timeout(treq.content(response))
    assert response.code == 200
    # The test's own SMTP server logs what it receives; the daemon must not.
    logged = "\n".join(line for line in log_text if "'ESMTP," not in line)
    assert "/api/v1/accounts/verify?..." in logged  # the access log is in the log
    assert args["auth_token"] not in logged
    assert "ann@example.org" not in logged.lower()


@pytest_twisted.ensureDeferred
async def test_other_methods_and_paths_are_json_errors(daemon: Start, smtp: SmtpServer) -> None:
    _, url = await daemon(smtp.port)
    status, body, headers = await get(f"{url}/api/v1/accounts/sign_in")
    assert status == 405 and json.loads(body)["error"]["code"] == "method_not_allowed"
    assert headers.getRawHeaders("allow") == ["POST"]
    status, body, _ = await post_json(f"{url}/api/v1/accounts/me", {})
    assert status == 405
    status, body, _ = await get(f"{url}/api/v1/accounts/me/more")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
