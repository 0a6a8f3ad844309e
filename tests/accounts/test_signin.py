"""
The sign-in core (L{hubsd.accounts.signin.SignIn}) over each real store and
a real SMTP server on loopback, with time from a controllable Clock: a link
works once, not after its expiry, not with a wrong token or topic; limits;
nothing left behind when the e-mail fails; admins; waiters.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from hubsd.accounts.errors import (
    BadRequest,
    InvalidLink,
    NotSignedIn,
    RateLimited,
    TimedOut,
    Unavailable,
)
from hubsd.accounts.mailer import Mailer, SmtpSettings
from hubsd.accounts.records import Credentials
from hubsd.accounts.settings import AccountSettings
from hubsd.accounts.signin import SignIn
from hubsd.rooms.keys import KeyRing
from hubsd.rooms.tokens import Tokens
from hubsd.storage.errors import NotFound
from tests.accounts.smtpserver import SmtpServer
from tests.conftest import free_port
from tests.storage.helpers import failure_of

TOPIC = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_TOPIC = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest.fixture(scope="module")
def tokens() -> Tokens:
    return Tokens(KeyRing.generate())


def make(store: Any, tokens: Tokens, port: int, **settings: Any) -> tuple[SignIn, Clock]:
    clock = Clock()
    clock.advance(time.time())
    values: dict[str, Any] = {
        "public_origin": "https://hubs.example.org",
        "burst_per_address": 100,
        "links_per_email_per_hour": 100,
        "links_per_minute": 1000,
    }
    values.update(settings)
    smtp = SmtpSettings("127.0.0.1", port, "none", "hubs@example.org", timeout=10.0)
    sign_in = SignIn(
        store, tokens, AccountSettings(**values), reactor, clock, Mailer(smtp, reactor)
    )
    return sign_in, clock


def link_of(smtp: SmtpServer, n: int = -1) -> dict[str, str]:
    link = smtp.box.messages[n].link()
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://hubs.example.org/api/v1/accounts/verify"
    )
    return {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


async def no_link_is_kept(store: Any) -> None:
    far = datetime.now(UTC) + timedelta(days=3650)
    assert await store.delete_expired_login_tokens(far) == 0


@pytest_twisted.ensureDeferred
async def test_a_link_signs_in_once_and_makes_the_account(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, _ = make(store, tokens, smtp.port)
    heard: list[Credentials] = []
    sign_in.wait(TOPIC, heard.append)
    assert await sign_in.request_link(" Ann@Example.org ", "hubs", TOPIC, "192.0.2.1") == TOPIC
    (mail,) = await smtp.box.wait_for(1)
    assert mail.rcpt_to == ["Ann@Example.org"]
    assert mail.message["Subject"] == "Your sign-in link for hubs.example.org"
    args = link_of(smtp)
    assert args["auth_topic"] == TOPIC and args["auth_origin"] == "hubs"
    credentials = await sign_in.verify(TOPIC, args["auth_token"], "192.0.2.2")
    assert heard == [replace(credentials, told=0)] and credentials.told == 1
    assert not credentials.is_admin
    account = await store.get_account_by_email("ann@example.org")
    assert tokens.verify_account(credentials.token) == account.account_id
    assert credentials.account_id == account.account_id
    assert len(sign_in.waiters) == 0
    error = await failure_of(sign_in.verify(TOPIC, args["auth_token"]), InvalidLink)
    assert "used or have expired" in str(error)
    # A second sign-in finds the same account.
    await sign_in.request_link("ann@example.org", "", OTHER_TOPIC)
    await smtp.box.wait_for(2)
    again = await sign_in.verify(OTHER_TOPIC, link_of(smtp)["auth_token"])
    assert again.account_id == account.account_id and again.token != credentials.token


@pytest_twisted.ensureDeferred
async def test_a_topic_is_made_when_none_is_given(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, _ = make(store, tokens, smtp.port)
    topic = await sign_in.request_link("ann@example.org")
    await smtp.box.wait_for(1)
    assert link_of(smtp)["auth_topic"] == topic and len(topic) == 36
    assert link_of(smtp)["auth_origin"] == ""


@pytest_twisted.ensureDeferred
async def test_an_expired_link_is_refused(store: Any, tokens: Tokens, smtp: SmtpServer) -> None:
    sign_in, clock = make(store, tokens, smtp.port, link_lifetime=600.0)
    await sign_in.request_link("ann@example.org", "", TOPIC)
    await sign_in.request_link("bob@example.org", "", OTHER_TOPIC)
    await smtp.box.wait_for(2)
    ann, bob = link_of(smtp, 0), link_of(smtp, 1)
    clock.advance(599)
    await sign_in.verify(TOPIC, ann["auth_token"])
    clock.advance(1)
    await failure_of(sign_in.verify(OTHER_TOPIC, bob["auth_token"]), InvalidLink)
    await failure_of(store.get_account_by_email("bob@example.org"), NotFound)


@pytest_twisted.ensureDeferred
async def test_a_wrong_token_or_topic_is_refused_and_the_link_still_works(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, _ = make(store, tokens, smtp.port)
    await sign_in.request_link("ann@example.org", "", TOPIC)
    await smtp.box.wait_for(1)
    token = link_of(smtp)["auth_token"]
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    for topic, guess in [
        (TOPIC, wrong),
        (TOPIC, token.upper()),
        (TOPIC, token[:-1]),
        (TOPIC, None),
        (TOPIC, 12),
        (OTHER_TOPIC, token),
    ]:
        await failure_of(sign_in.verify(topic, guess), InvalidLink)
    for topic in ("short", None, TOPIC + "/x"):
        await failure_of(sign_in.verify(topic, token), BadRequest)
    assert (await sign_in.verify(TOPIC, token)).account_id > 0


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ann",
        "ann@",
        "@example.org",
        "ann@localhost",
        "ann@example..org",
        "ann@-example.org",
        "ann@@example.org",
        "ann smith@example.org",
        "ann@example.org\r\nBcc: eve@example.org",
        "<ann@example.org>",
        '"ann"@example.org',
        "änn@example.org",
        "ann@[127.0.0.1]",
        "ann@10.0.0.1",
        "a" * 65 + "@example.org",
        "ann@" + "e" * 250 + ".org",
        None,
        12,
        ["ann@example.org"],
    ],
)
@pytest_twisted.ensureDeferred
async def test_malformed_addresses_are_refused_and_nothing_is_sent(
    email: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    from hubsd.storage.memory import MemoryRoomStore

    store = MemoryRoomStore()
    sign_in, _ = make(store, tokens, smtp.port)
    error = await failure_of(sign_in.request_link(email, "", TOPIC), BadRequest)
    assert "email must be" in str(error)
    await no_link_is_kept(store)
    assert smtp.box.messages == []


@pytest_twisted.ensureDeferred
async def test_bad_topics_and_origins_are_refused(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, _ = make(store, tokens, smtp.port)
    for topic in ("x" * 15, "x" * 129, "a b c d e f g h i j", 5):
        await failure_of(sign_in.request_link("ann@example.org", "", topic), BadRequest)
    for origin in ("x" * 65, "<script>", 5):
        await failure_of(sign_in.request_link("ann@example.org", origin, TOPIC), BadRequest)
    await no_link_is_kept(store)


@pytest_twisted.ensureDeferred
async def test_requests_are_limited_per_address_per_email_and_in_all(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, clock = make(
        store,
        tokens,
        smtp.port,
        rate_per_address=0.5,
        burst_per_address=2,
        links_per_email_per_hour=2,
        links_per_minute=4,
    )
    await sign_in.request_link("ann@example.org", "", None, "192.0.2.1")
    await sign_in.request_link("bob@example.org", "", None, "192.0.2.1")
    limited = await failure_of(
        sign_in.request_link("carol@example.org", "", None, "192.0.2.1"), RateLimited
    )
    assert limited.retry_after == 2 and "this address" in str(limited)
    # Link uses and waits count against the same address.
    await failure_of(sign_in.verify(TOPIC, "0" * 64, "192.0.2.1"), RateLimited)
    with pytest.raises(RateLimited):
        sign_in.wait(TOPIC, lambda c: None, "192.0.2.1")
    await failure_of(sign_in.wait_for(TOPIC, address="192.0.2.1"), RateLimited)
    assert len(sign_in.waiters) == 0
    await sign_in.request_link("ann@example.org", "", None, "192.0.2.2")
    per_email = await failure_of(
        sign_in.request_link("ann@example.org", "", None, "192.0.2.3"), RateLimited
    )
    assert "for this address" in str(per_email)
    await sign_in.request_link("dave@example.org", "", None, "192.0.2.4")
    everyone = await failure_of(
        sign_in.request_link("erin@example.org", "", None, "192.0.2.5"), RateLimited
    )
    assert str(everyone).startswith("too many sign-in links;")
    assert len(await smtp.box.wait_for(4)) == 4
    clock.advance(60)
    await sign_in.request_link("erin@example.org", "", None, "192.0.2.1")
    assert len(await smtp.box.wait_for(5)) == 5


@pytest_twisted.ensureDeferred
async def test_a_mail_that_cannot_be_sent_leaves_nothing_behind(store: Any, tokens: Tokens) -> None:
    sign_in, _ = make(store, tokens, free_port())
    heard: list[Credentials] = []
    sign_in.wait(TOPIC, heard.append)
    error = await failure_of(sign_in.request_link("ann@example.org", "", TOPIC), Unavailable)
    assert "could not be sent" in str(error)
    await no_link_is_kept(store)
    await failure_of(store.get_account_by_email("ann@example.org"), NotFound)
    assert heard == []


@pytest_twisted.ensureDeferred
async def test_without_smtp_sign_in_is_unavailable(store: Any, tokens: Tokens) -> None:
    sign_in = SignIn(store, tokens, AccountSettings(), reactor)
    assert not sign_in.enabled
    error = await failure_of(sign_in.request_link("ann@example.org", "", TOPIC), Unavailable)
    assert str(error) == "sign-in by e-mail is not set up on this server"


@pytest_twisted.ensureDeferred
async def test_admins_are_the_configured_addresses(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, _ = make(store, tokens, smtp.port, admins=("Boss@Example.org", "root@example.org"))
    await sign_in.request_link("boss@example.ORG", "", TOPIC)
    await sign_in.request_link("ann@example.org", "", OTHER_TOPIC)
    await smtp.box.wait_for(2)
    boss = await sign_in.verify(TOPIC, link_of(smtp, 0)["auth_token"])
    ann = await sign_in.verify(OTHER_TOPIC, link_of(smtp, 1)["auth_token"])
    assert (boss.is_admin, ann.is_admin) == (True, False)
    assert (await sign_in.whoami(boss.token)).is_admin
    me = await sign_in.whoami(ann.token)
    assert (me.account_id, me.is_admin) == (ann.account_id, False)
    assert sign_in.account_of(ann.token) == ann.account_id
    for bad in ("", "x.y.z", None, tokens.issue_session("not-an-account")):
        with pytest.raises(NotSignedIn):
            sign_in.account_of(bad)
        await failure_of(sign_in.whoami(bad), NotSignedIn)
    gone = tokens.issue_account(12345)
    error = await failure_of(sign_in.whoami(gone), NotSignedIn)
    assert str(error) == "this account no longer exists"


@pytest_twisted.ensureDeferred
async def test_without_sign_up_only_known_addresses_get_a_link(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, _ = make(store, tokens, smtp.port, allow_sign_up=False)
    assert await sign_in.request_link("ann@example.org", "", TOPIC) == TOPIC
    await no_link_is_kept(store)
    await store.create_account("bob@example.org")
    await sign_in.request_link("bob@example.org", "", OTHER_TOPIC)
    (mail,) = await smtp.box.wait_for(1)
    assert mail.rcpt_to == ["bob@example.org"]
    bob = await sign_in.verify(OTHER_TOPIC, link_of(smtp)["auth_token"])
    assert bob.account_id == (await store.get_account_by_email("bob@example.org")).account_id
    await failure_of(store.get_account_by_email("ann@example.org"), NotFound)


@pytest_twisted.ensureDeferred
async def test_a_wait_times_out_or_is_cancelled_and_waiters_are_bounded(
    store: Any, tokens: Tokens, smtp: SmtpServer
) -> None:
    sign_in, clock = make(store, tokens, smtp.port, max_waiters=2, link_lifetime=300.0)
    waited = sign_in.wait_for(TOPIC)
    cancelled = sign_in.wait_for(OTHER_TOPIC)
    await failure_of(sign_in.wait_for("t" * 20), Unavailable)
    with pytest.raises(Unavailable):
        sign_in.wait("u" * 20, lambda c: None)
    cancelled.cancel()
    cancelled.addErrback(lambda f: None)
    assert len(sign_in.waiters) == 1
    clock.advance(300)
    error = await failure_of(waited, TimedOut)
    assert "in time" in str(error) and len(sign_in.waiters) == 0
    with pytest.raises(BadRequest):
        sign_in.wait("short", lambda c: None)
    # A wait that is told.
    told = sign_in.wait_for(TOPIC)
    await sign_in.request_link("ann@example.org", "", TOPIC)
    await smtp.box.wait_for(1)
    credentials = await sign_in.verify(TOPIC, link_of(smtp)["auth_token"])
    assert (await told).token == credentials.token and credentials.told == 1
    assert not clock.getDelayedCalls()


class Recording:
    """A store whose sweeps are kept, to await the sweeper's work."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.sweeps: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def delete_expired_login_tokens(self, now: datetime) -> Any:
        removed: Deferred[int] = Deferred()

        def keep(count: int) -> int:
            removed.callback(count)
            return count

        self.sweeps.append(removed)
        return self.store.delete_expired_login_tokens(now).addCallback(keep)


@pytest_twisted.ensureDeferred
async def test_expired_links_are_swept(store: Any, tokens: Tokens, smtp: SmtpServer) -> None:
    recording = Recording(store)
    sign_in, clock = make(recording, tokens, smtp.port, link_lifetime=60.0)
    sign_in.start()
    try:
        await sign_in.request_link("ann@example.org", "", TOPIC)
        clock.advance(59)
        assert recording.sweeps == []
        clock.advance(1)  # the link's expiry, and the sweep is due
        assert len(recording.sweeps) == 1
        assert await recording.sweeps[0] == 1
        await no_link_is_kept(store)
    finally:
        sign_in.stop()
