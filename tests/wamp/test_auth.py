"""Authentication and authorization, seen by Autobahn clients."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions
from twisted.internet.defer import succeed

from hubsd.wamp.auth import Authenticated
from hubsd.wamp.errors import WampError
from tests.wamp.harness import Harness, timeout


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
@pytest_twisted.ensureDeferred
async def test_ticket_principal_joins_with_its_role(harness: Harness, serializer: str) -> None:
    c = await harness.connect(
        serializer, authmethods=["ticket"], authid="alice", secret="secret-ticket"
    )
    assert (c.details.authid, c.details.authrole, c.details.authmethod) == (
        "alice",
        "user",
        "ticket",
    )
    assert c.details.authprovider == "static"


@pytest_twisted.ensureDeferred
async def test_wrong_ticket_is_refused(harness: Harness) -> None:
    with pytest.raises(RuntimeError, match="wamp.error.authentication_failed"):
        await harness.connect(authmethods=["ticket"], authid="alice", secret="nope")


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
@pytest_twisted.ensureDeferred
async def test_wampcra_principal_joins(harness: Harness, serializer: str) -> None:
    c = await harness.connect(
        serializer, authmethods=["wampcra"], authid="bob", secret="bob-secret"
    )
    assert (c.details.authid, c.details.authrole, c.details.authmethod) == (
        "bob",
        "user",
        "wampcra",
    )


@pytest_twisted.ensureDeferred
async def test_wrong_wampcra_secret_is_refused(harness: Harness) -> None:
    with pytest.raises(RuntimeError, match="wamp.error.authentication_failed"):
        await harness.connect(authmethods=["wampcra"], authid="bob", secret="wrong")


@pytest_twisted.ensureDeferred
async def test_unknown_realm_is_aborted(harness: Harness) -> None:
    with pytest.raises(RuntimeError, match="wamp.error.no_such_realm"):
        await harness.connect(realm="nowhere")


@pytest_twisted.ensureDeferred
async def test_unknown_method_is_refused(harness: Harness) -> None:
    with pytest.raises(RuntimeError, match="wamp.error.no_auth_method"):
        await harness.connect(authmethods=["cryptosign"], authid="x")


@pytest_twisted.ensureDeferred
async def test_custom_ticket_authenticator_sees_the_ticket(harness: Harness) -> None:
    seen: list[Any] = []

    def check_jwt(realm: str, authid: str | None, details: dict[str, Any]) -> Any:
        seen.append((realm, authid, details["ticket"]))
        if details["ticket"] != "jwt-ok":
            raise WampError("wamp.error.not_authorized", "bad token")
        return succeed(Authenticated("user-7", "member", {"room": "r1"}))

    harness.router.set_authenticator("ticket", check_jwt)
    c = await harness.connect(authmethods=["ticket"], authid="someone", secret="jwt-ok")
    assert (c.details.authid, c.details.authrole) == ("user-7", "member")
    assert c.details.authextra == {"room": "r1"}
    assert seen == [("realm1", "someone", "jwt-ok")]
    with pytest.raises(RuntimeError, match="wamp.error.not_authorized"):
        await harness.connect(authmethods=["ticket"], authid="someone", secret="jwt-bad")


@pytest_twisted.ensureDeferred
async def test_custom_method_authenticator_gets_hello_details(harness: Harness) -> None:
    harness.router.set_authenticator(
        "cookie", lambda realm, authid, details: Authenticated("cookie-user", "anonymous")
    )
    c = await harness.connect(authmethods=["cookie"])
    assert (c.details.authid, c.details.authmethod) == ("cookie-user", "cookie")


@pytest_twisted.ensureDeferred
async def test_role_rules_allow_prefix_and_deny_the_rest(harness: Harness) -> None:
    c = await harness.connect(authmethods=["ticket"], authid="alice", secret="secret-ticket")
    ack = PublishOptions(acknowledge=True)
    await timeout(c.publish("com.user.x", options=ack))
    await timeout(c.subscribe(lambda: None, "com.user.y"))
    for attempt in (
        c.publish("com.admin.x", options=ack),
        c.subscribe(lambda: None, "com.admin.y"),
        c.call("com.user.proc"),
        c.register(lambda: None, "com.user.proc"),
    ):
        with pytest.raises(ApplicationError) as e:
            await timeout(attempt)
        assert e.value.error == "wamp.error.not_authorized"


@pytest_twisted.ensureDeferred
async def test_denied_publish_delivers_nothing(harness: Harness) -> None:
    listener = await harness.connect()
    got: list[Any] = []
    await listener.subscribe(got.append, "com.admin.x")
    c = await harness.connect(authmethods=["ticket"], authid="alice", secret="secret-ticket")
    with pytest.raises(ApplicationError):
        await timeout(c.publish("com.admin.x", 1, options=PublishOptions(acknowledge=True)))
    # An unacknowledged denied publish is silently dropped (no ERROR).
    c.publish("com.admin.x", 2)
    await timeout(listener.publish("com.admin.x", 3, options=PublishOptions(acknowledge=True)))
    assert got == []


@pytest_twisted.ensureDeferred
async def test_dynamic_authorizer_can_grant_asynchronously(harness: Harness) -> None:
    asked: list[Any] = []

    def authorize(session: dict[str, Any], action: str, uri: str, options: Any) -> Any:
        asked.append((session["authid"], action, uri))
        return succeed(uri == "com.room.42")

    harness.router.set_authorizer(authorize)
    c = await harness.connect(authmethods=["ticket"], authid="alice", secret="secret-ticket")
    await timeout(c.subscribe(lambda: None, "com.room.42"))
    with pytest.raises(ApplicationError):
        await timeout(c.subscribe(lambda: None, "com.room.43"))
    assert asked == [("alice", "subscribe", "com.room.42"), ("alice", "subscribe", "com.room.43")]


@pytest_twisted.ensureDeferred
async def test_trusted_local_session_may_do_everything(harness: Harness) -> None:
    local = harness.router.attach_local_session("realm1", "core", "trusted")
    reg = await timeout(local.register("com.anything", lambda: "ok"))
    assert await timeout(local.call("com.anything")) == "ok"
    await local.unregister(reg)
    with pytest.raises(WampError):
        await timeout(local.call("com.anything"))


@pytest_twisted.ensureDeferred
async def test_untrusted_local_session_is_authorized_by_rules(harness: Harness) -> None:
    local = harness.router.attach_local_session("realm1", "u", "user")
    assert await timeout(local.publish("com.user.a", acknowledge=True))
    with pytest.raises(WampError) as e:
        await timeout(local.publish("com.other", acknowledge=True))
    assert e.value.error == "wamp.error.not_authorized"


@pytest_twisted.ensureDeferred
async def test_salted_wampcra_principal_joins_without_stored_password() -> None:
    from autobahn.wamp.auth import derive_key

    from hubsd.wamp.settings import Principal, RouterSettings

    key = derive_key(b"pa55word", b"pepper", 100, 16).decode()
    settings = RouterSettings(
        realms=("realm1",),
        principals=(
            Principal(
                "carol",
                "realm1",
                "user",
                wampcra_secret=key,
                wampcra_salt="pepper",
                wampcra_iterations=100,
                wampcra_keylen=16,
            ),
        ),
    )
    h = Harness(settings)
    try:
        c = await h.connect(authmethods=["wampcra"], authid="carol", secret="pa55word")
        assert c.details.authid == "carol"
        with pytest.raises(RuntimeError, match="authentication_failed"):
            await h.connect(authmethods=["wampcra"], authid="carol", secret="wrong")
    finally:
        await h.close()


@pytest_twisted.ensureDeferred
async def test_anonymous_client_cannot_choose_its_authid(harness: Harness) -> None:
    impostor = await harness.connect(authid="alice")
    assert impostor.details.authmethod == "anonymous"
    assert impostor.details.authid != "alice"
    assert impostor.details.authid.startswith("anonymous-")
