"""
Sign-in over WAMP with real Autobahn clients against the in-process daemon
(SQLite and PostgreSQL): ask for a link, wait for it on another session, use
it, reconnect with the account token as the ticket; who-am-I; the room a
signed-in member creates records the account as its creator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from twisted.internet import reactor
from twisted.internet.task import deferLater

from hubsd.accounts.procedures import peer_host
from hubsd.service import HubsdService
from tests.accounts.daemon import link_args, start, storage_for
from tests.accounts.smtpserver import SmtpServer
from tests.rooms.wampclient import Member, connect
from tests.wamp.harness import timeout

TOPIC = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest) -> str:
    return storage_for(request)


async def error_of(d: Any) -> str:
    try:
        await timeout(d)
    except ApplicationError as e:
        return str(e.error)
    raise AssertionError("the call succeeded")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
def started(tmp_path: Path, storage: str, smtp: SmtpServer) -> Iterator[Any]:
    """Starts the test's daemon: C{service, port = await started(accounts_keys)}; stops it."""
    services: list[HubsdService] = []

    async def make(keys: str = "") -> tuple[HubsdService, int]:
        service, url = await start(tmp_path, storage, smtp.port, keys)
        services.append(service)
        return service, port_of(url)

    yield make
    for service in services:
        pytest_twisted.blockon(service.stopService())


@pytest_twisted.ensureDeferred
async def test_sign_in_over_wamp_and_reconnect_with_the_account_token(
    started: Any, smtp: SmtpServer
) -> None:
    service, port = await started("admins = ann@example.org")
    members: list[Member] = []
    try:
        asker = await connect(port)
        opener = await connect(port)
        members += [asker, opener]
        sent = await timeout(
            asker.client.call(
                "hubsd.account.request_link", email="ann@example.org", topic=TOPIC, origin="hubs"
            )
        )
        assert sent == {"topic": TOPIC}
        waiting = asker.client.call("hubsd.account.wait", topic=TOPIC)
        await smtp.box.wait_for(1)
        _, args = link_args(smtp)
        verified = await timeout(
            opener.client.call("hubsd.account.verify", topic=TOPIC, token=args["auth_token"])
        )
        heard = await timeout(waiting)
        assert heard == verified
        account = await service.store.get_account_by_email("ann@example.org")
        assert verified["account_id"] == str(account.account_id) and verified["is_admin"] is True
        assert (
            await error_of(
                opener.client.call("hubsd.account.verify", topic=TOPIC, token=args["auth_token"])
            )
            == "hubsd.error.invalid_link"
        )
        # The account token is a WAMP ticket.
        signed_in = await connect(port, ticket=verified["credentials"])
        members.append(signed_in)
        me = await timeout(signed_in.client.call("hubsd.account.whoami"))
        assert me["account_id"] == str(account.account_id) and me["is_admin"] is True
        assert (
            await error_of(asker.client.call("hubsd.account.whoami")) == "hubsd.error.not_signed_in"
        )
        # Accounts own rooms: the creator is recorded.
        created = await timeout(signed_in.client.call("hubsd.room.create", name="Ann's room"))
        room = await service.store.get_room_by_sid(created["hub_sid"])
        roles = await service.store.roles_for_room(room.hub_id)
        assert [(r.account_id, r.role) for r in roles] == [(account.account_id, "creator")]
        joined = await signed_in.call("join", hub_sid=created["hub_sid"])
        assert joined["roles"]["creator"] is True and joined["roles"]["signed_in"] is True
    finally:
        for member in members:
            member.leave()


@pytest_twisted.ensureDeferred
async def test_a_forged_or_session_ticket_is_not_an_account(started: Any, smtp: SmtpServer) -> None:
    service, port = await started()
    with pytest.raises(Exception, match="authentication_failed|invalid account token"):
        await connect(port, ticket="not-a-token")
    session = await connect(port, ticket=service.rooms.tokens.issue_session("f" * 36))
    try:
        assert await error_of(session.client.call("hubsd.account.whoami")) == (
            "hubsd.error.not_signed_in"
        )
    finally:
        session.leave()


@pytest_twisted.ensureDeferred
async def test_bad_calls_limits_and_the_gate(started: Any, smtp: SmtpServer) -> None:
    service, port = await started("burst_per_address = 3\nrate_per_address = 0.01")
    member = await connect(port)
    try:
        call = member.client.call
        assert await error_of(call("hubsd.account.request_link")) == "hubsd.error.invalid_request"
        assert await error_of(call("hubsd.account.request_link", email="x", extra=1)) == (
            "hubsd.error.invalid_request"
        )
        assert (
            await error_of(call("hubsd.account.wait", topic="short"))
            == "hubsd.error.invalid_request"
        )
        assert await error_of(call("hubsd.account.request_link", email="not an address")) == (
            "hubsd.error.invalid_request"
        )
        # The per-address bucket (3) is shared by link requests, waits and uses.
        assert await error_of(call("hubsd.account.verify", topic=TOPIC, token="0" * 64)) == (
            "hubsd.error.invalid_link"
        )
        assert await error_of(call("hubsd.account.verify", topic=TOPIC, token="0" * 64)) == (
            "hubsd.error.rate_limited"
        )
        assert await error_of(call("hubsd.account.nothing")) == "wamp.error.not_authorized"
        with pytest.raises(ApplicationError, match="not_authorized"):
            await timeout(member.client.subscribe(lambda *a: None, "hubsd.account.verify"))
        assert smtp.box.messages == []
    finally:
        member.leave()


@pytest_twisted.ensureDeferred
async def test_a_waiting_caller_that_leaves_stops_waiting(started: Any, smtp: SmtpServer) -> None:
    service, port = await started()
    member = await connect(port)
    member.client.call("hubsd.account.wait", topic=TOPIC).addErrback(lambda f: None)
    await until(lambda: len(service.accounts.waiters) == 1)
    member.leave()
    await until(lambda: len(service.accounts.waiters) == 0)


async def until(condition: Any, seconds: float = 5.0) -> None:
    """Poll C{condition} (generously: the machine may be loaded)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await deferLater(reactor, 0.02, lambda: None)
    raise AssertionError("the condition did not hold in time")


def test_peer_addresses() -> None:
    assert peer_host("tcp4:127.0.0.1:5000") == "127.0.0.1"
    assert peer_host("tcp6:::1:5000") == "::1"
    assert peer_host("tcp6:[::1]:5000") == "::1"
    assert peer_host("unix:/run/x") is None
    assert peer_host(None) is None
    assert peer_host("tcp4:") is None
