"""Authentication and authorization rules, driven in memory (no sockets)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from autobahn.wamp.auth import compute_wcs
from twisted.internet.defer import Deferred, succeed

from hubsd.wamp.auth import Authenticated
from hubsd.wamp.errors import WampError
from tests.wamp.wiretools import HELLO_ROLES, Peer, logged_failures, make_router

ACK = {"acknowledge": True}
SECRET = "secret-ticket"  # alice's ticket in the test settings


def _hello(p: Peer, realm: str = "realm1", **details: Any) -> list[list[Any]]:
    return p.send([1, realm, dict({"roles": HELLO_ROLES}, **details)])


def _ticket(router: Any, ticket: str, authid: str | None = "alice") -> tuple[Peer, list[Any]]:
    """Authenticate with C{ticket}; the peer and the WELCOME or ABORT."""
    p = Peer(router)
    details: dict[str, Any] = {"authmethods": ["ticket"]}
    if authid is not None:
        details["authid"] = authid
    (challenge,) = _hello(p, **details)
    assert challenge[:2] == [4, "ticket"], challenge
    (answer,) = p.send([5, ticket, {}])
    return p, answer


def test_ticket_principal_joins_with_its_role() -> None:
    router, _ = make_router()
    _, welcome = _ticket(router, SECRET)
    assert welcome[0] == 2
    assert (welcome[2]["authid"], welcome[2]["authrole"]) == ("alice", "user")
    assert (welcome[2]["authmethod"], welcome[2]["authprovider"]) == ("ticket", "static")


@pytest.mark.parametrize(
    "ticket",
    [
        "",  # empty
        SECRET[:-1],  # a prefix
        SECRET[:1],
        SECRET + "x",  # longer
        "x" + SECRET,
        SECRET.upper(),
        "nope",
    ],
)
def test_only_the_whole_ticket_authenticates(ticket: str) -> None:
    router, _ = make_router()
    p, abort = _ticket(router, ticket)
    assert abort[0] == 3 and abort[2] == "wamp.error.authentication_failed"
    assert p.closed
    assert router.realms["realm1"].sessions == {}


@pytest.mark.parametrize("ticket", ["", SECRET[:-1], SECRET + "x"])
def test_near_miss_static_ticket_goes_to_the_custom_authenticator(ticket: str) -> None:
    router, _ = make_router()
    seen: list[str] = []

    def custom(realm: str, authid: str | None, details: dict[str, Any]) -> Any:
        seen.append(details["ticket"])
        raise WampError("wamp.error.not_authorized", "not a token")

    router.set_authenticator("ticket", custom)
    _, abort = _ticket(router, ticket)
    assert abort[2] == "wamp.error.not_authorized"
    assert seen == [ticket]


def test_static_ticket_still_wins_over_the_custom_authenticator() -> None:
    router, _ = make_router()
    router.set_authenticator("ticket", lambda *a: Authenticated("other", "member"))
    _, welcome = _ticket(router, SECRET)
    assert welcome[2]["authid"] == "alice"


def test_custom_ticket_authenticator_sets_authid_authrole_and_authextra() -> None:
    router, _ = make_router()
    seen: list[Any] = []

    def check_jwt(realm: str, authid: str | None, details: dict[str, Any]) -> Any:
        seen.append((realm, authid, details["ticket"]))
        if details["ticket"] != "jwt-ok":
            raise WampError("wamp.error.not_authorized", "bad token")
        return succeed(Authenticated("s-1", "member", {"session_id": "s-1", "account_id": 12}))

    router.set_authenticator("ticket", check_jwt)
    core = router.attach_local_session("realm1", "core", "trusted")
    p, welcome = _ticket(router, "jwt-ok", authid="someone")
    assert (welcome[2]["authid"], welcome[2]["authrole"]) == ("s-1", "member")
    assert (welcome[2]["authmethod"], welcome[2]["authprovider"]) == ("ticket", "dynamic")
    assert welcome[2]["authextra"] == {"session_id": "s-1", "account_id": 12}
    assert seen == [("realm1", "someone", "jwt-ok")]
    # The router knows the session by what the authenticator said.
    got: list[Any] = []
    core.call("wamp.session.get", [p.session.session_id]).addCallback(got.append)
    assert got[0]["authextra"]["account_id"] == 12
    _, abort = _ticket(router, "jwt-bad", authid=None)
    assert abort[2] == "wamp.error.not_authorized"


def test_custom_authenticator_may_answer_with_a_dict() -> None:
    router, _ = make_router()
    router.set_authenticator(
        "ticket",
        lambda *a: {"authid": "s-2", "authrole": "member", "authextra": {"session_id": "s-2"}},
    )
    _, welcome = _ticket(router, "jwt", authid=None)
    assert (welcome[2]["authid"], welcome[2]["authextra"]) == ("s-2", {"session_id": "s-2"})


@pytest.mark.parametrize(
    "result",
    [
        None,
        "member",
        Authenticated("", "member"),
        Authenticated("x", ""),
        {"authid": "x"},
        {"authid": "x", "authrole": "member", "authextra": "not a dict"},
        {"authid": 5, "authrole": "member"},
    ],
)
def test_custom_authenticator_without_an_identity_fails_authentication(result: Any) -> None:
    router, _ = make_router()
    router.set_authenticator("ticket", lambda *a: result)
    p, abort = _ticket(router, "jwt", authid=None)
    assert abort[2] == "wamp.error.authentication_failed" and p.closed


def test_custom_authenticator_that_crashes_refuses() -> None:
    router, _ = make_router()

    def broken(*a: Any) -> Any:
        raise KeyError("bug")

    router.set_authenticator("ticket", broken)
    _, abort = _ticket(router, "jwt", authid=None)
    assert abort[2] == "wamp.error.authentication_failed"


def _wampcra(router: Any, authid: str, secret: bytes) -> list[Any]:
    p = Peer(router)
    (challenge,) = _hello(p, authmethods=["wampcra"], authid=authid)
    assert challenge[1] == "wampcra"
    extra = challenge[2]
    fields = json.loads(extra["challenge"])
    assert (fields["authid"], fields["authmethod"], fields["authprovider"]) == (
        authid,
        "wampcra",
        "static",
    )
    assert fields["authrole"] == "user" and fields["session"] == p.session.session_id
    assert int(fields["nonce"], 16) > 0 and fields["timestamp"].endswith("Z")
    signature = compute_wcs(secret, extra["challenge"].encode()).decode()
    (answer,) = p.send([5, signature, {}])
    return answer


def test_wampcra_principal_joins_and_a_wrong_secret_is_refused() -> None:
    router, _ = make_router()
    assert _wampcra(router, "bob", b"bob-secret")[2]["authmethod"] == "wampcra"
    assert _wampcra(router, "bob", b"bob-secreT")[2] == "wamp.error.authentication_failed"
    assert _wampcra(router, "bob", b"")[2] == "wamp.error.authentication_failed"


@pytest.mark.parametrize("authid", ["nobody", "alice"])  # unknown; a ticket-only principal
def test_wampcra_without_a_secret_is_no_auth_method(authid: str) -> None:
    router, _ = make_router()
    p = Peer(router)
    (abort,) = _hello(p, authmethods=["wampcra"], authid=authid)
    assert abort[2] == "wamp.error.no_auth_method" and p.closed


def test_authenticated_is_immutable() -> None:
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        Authenticated("a", "b").authid = "c"  # type: ignore[misc]


def test_unknown_realm_is_aborted() -> None:
    router, _ = make_router()
    (abort,) = _hello(Peer(router), realm="nowhere")
    assert abort[2] == "wamp.error.no_such_realm"


def test_unknown_method_is_refused() -> None:
    router, _ = make_router()
    (abort,) = _hello(Peer(router), authmethods=["cryptosign"], authid="x")
    assert abort[2] == "wamp.error.no_auth_method"


def test_custom_method_authenticator_gets_hello_details() -> None:
    router, _ = make_router()
    seen: list[Any] = []

    def cookie(realm: str, authid: str | None, details: dict[str, Any]) -> Any:
        seen.append(details.get("authextra"))
        return Authenticated("cookie-user", "anonymous")

    router.set_authenticator("cookie", cookie)
    (welcome,) = _hello(Peer(router), authmethods=["cookie"], authextra={"c": 1})
    assert (welcome[2]["authid"], welcome[2]["authmethod"]) == ("cookie-user", "cookie")
    assert seen == [{"c": 1}]


def test_anonymous_client_cannot_choose_its_authid() -> None:
    router, _ = make_router()
    (welcome,) = _hello(Peer(router), authid="alice")
    assert (welcome[2]["authmethod"], welcome[2]["authprovider"]) == ("anonymous", "static")
    assert re.fullmatch(r"anonymous-[0-9]+", welcome[2]["authid"])


def _alice(router: Any) -> Peer:
    p, welcome = _ticket(router, SECRET)
    assert welcome[0] == 2
    return p


def test_role_rules_allow_prefix_and_deny_the_rest() -> None:
    router, _ = make_router()
    p = _alice(router)
    assert p.send([16, 1, ACK, "com.user.x", []])[0][0] == 17
    assert p.send([32, 2, {}, "com.user.y"])[0][0] == 33
    for msg in (
        [16, 3, ACK, "com.admin.x", []],
        [32, 4, {}, "com.admin.y"],
        [48, 5, {}, "com.user.proc"],
        [64, 6, {}, "com.user.proc"],
    ):
        (err,) = p.send(msg)
        assert err[4] == "wamp.error.not_authorized", msg


def test_denied_publish_delivers_nothing() -> None:
    router, _ = make_router()
    listener = Peer(router)
    listener.join()
    listener.send([32, 1, {}, "com.admin.x"])
    p = _alice(router)
    assert p.send([16, 2, ACK, "com.admin.x", [1]])[0][0] == 8
    assert p.send([16, 3, {}, "com.admin.x", [2]]) == []  # unacknowledged: dropped
    assert listener.read() == []


def test_dynamic_authorizer_is_asked_what_the_rules_do_not_allow() -> None:
    router, _ = make_router()
    asked: list[Any] = []

    def authorize(session: dict[str, Any], action: str, uri: str, options: Any) -> Any:
        asked.append((session["authid"], action, uri))
        return succeed(uri == "com.room.42")

    router.set_authorizer(authorize)
    p = _alice(router)
    assert p.send([32, 1, {}, "com.room.42"])[0][0] == 33
    assert p.send([32, 2, {}, "com.room.43"])[0][4] == "wamp.error.not_authorized"
    assert p.send([32, 3, {}, "com.user.x"])[0][0] == 33  # a rule allows it: not asked
    assert asked == [("alice", "subscribe", "com.room.42"), ("alice", "subscribe", "com.room.43")]


def test_trusted_local_session_may_do_everything() -> None:
    router, _ = make_router()
    local = router.attach_local_session("realm1", "core", "trusted")
    results: list[Any] = []
    local.register("com.anything", lambda: "ok").addCallback(results.append)
    local.call("com.anything").addCallback(results.append)
    local.publish("wamp.custom.event", acknowledge=True).addCallback(results.append)
    assert results[1] == "ok" and isinstance(results[2], int)


def test_untrusted_local_session_is_authorized_by_rules() -> None:
    router, _ = make_router()
    local = router.attach_local_session("realm1", "u", "user")
    ok: list[Any] = []
    local.publish("com.user.a", acknowledge=True).addCallback(ok.append)
    assert ok
    failed: Deferred[Any] = local.publish("com.other", acknowledge=True)
    errors: list[Any] = []
    failed.addErrback(errors.append)
    assert errors[0].value.error == "wamp.error.not_authorized"


def test_wampcra_challenge_fields_have_their_documented_form() -> None:
    router, _ = make_router()
    p = Peer(router)
    (challenge,) = _hello(p, authmethods=["wampcra"], authid="bob")
    fields = json.loads(challenge[2]["challenge"])
    assert re.fullmatch(r"[0-9a-f]+", fields["nonce"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", fields["timestamp"])
    assert "salt" not in challenge[2]  # an unsalted principal announces no key derivation


def test_salted_wampcra_announces_salt_iterations_and_keylen() -> None:
    from autobahn.wamp.auth import derive_key

    from hubsd.wamp.settings import Principal, RouterSettings
    from tests.wamp.harness import OPEN_ROLE

    key = derive_key(b"pw", b"pepper", 50, 24).decode()
    carol = Principal(
        "carol",
        "realm1",
        "user",
        wampcra_secret=key,
        wampcra_salt="pepper",
        wampcra_iterations=50,
        wampcra_keylen=24,
    )
    router, _ = make_router(
        RouterSettings(realms=("realm1",), principals=(carol,), roles=(OPEN_ROLE,))
    )
    p = Peer(router)
    (challenge,) = _hello(p, authmethods=["wampcra"], authid="carol")
    extra = challenge[2]
    assert (extra["salt"], extra["iterations"], extra["keylen"]) == ("pepper", 50, 24)
    signature = compute_wcs(key.encode(), extra["challenge"].encode()).decode()
    (welcome,) = p.send([5, signature, {}])
    assert welcome[0] == 2
    assert (welcome[2]["authid"], welcome[2]["authrole"]) == ("carol", "user")
    assert (welcome[2]["authmethod"], welcome[2]["authprovider"]) == ("wampcra", "static")


def test_refusals_say_why() -> None:
    router, _ = make_router()
    _, abort = _ticket(router, "wrong")
    assert abort[1]["message"] == "invalid ticket"
    p = Peer(router)
    (challenge,) = _hello(p, authmethods=["wampcra"], authid="bob")
    (abort,) = p.send([5, "bad signature", {}])
    assert abort[1]["message"] == "invalid signature"
    p = Peer(router)
    (abort,) = _hello(p, authmethods=["nosuch"])
    assert abort[2] == "wamp.error.no_auth_method"
    assert abort[1]["message"] == "no acceptable authentication method"


@pytest.mark.parametrize("how", ["raises", "fails later"])
def test_a_broken_dynamic_authorizer_denies_is_counted_and_logged_once(how: str) -> None:
    from twisted.internet.defer import fail

    router, _ = make_router()

    def authorize(session: dict[str, Any], action: str, uri: str, options: Any) -> Any:
        if how == "raises":
            raise RuntimeError("broken")
        return fail(RuntimeError("broken"))

    router.set_authorizer(authorize)
    with logged_failures() as failures:
        p = _alice(router)
        for request in (1, 2, 3):
            (reply,) = p.send([32, request, {}, f"com.room.{request}"])
            assert reply[0] == 8 and reply[4] == "wamp.error.not_authorized"
    assert router.authorizer.errors == 3
    assert len(failures) == 1
    assert "dynamic authorizer failed for subscribe com.room.1" in failures[0]["log_format"].format(
        **{k: v for k, v in failures[0].items() if isinstance(k, str)}
    )
