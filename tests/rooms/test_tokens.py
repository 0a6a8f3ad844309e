"""Session, account and perms tokens: what each promises, and every way one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.logger import LogEvent, formatEvent, globalLogPublisher

from hubsd.rooms.errors import InvalidToken
from hubsd.rooms.keys import KeyRing
from hubsd.rooms.permissions import HUB_PERMISSIONS
from hubsd.rooms.tokens import Tokens

NOW = 1_800_000_000
REASONS = {"expired", "signature", "audience", "malformed", "room"}
ALL_GRANTED = {name: True for name in HUB_PERMISSIONS}


@pytest.fixture(scope="module")
def keyring() -> KeyRing:
    return KeyRing.generate()


@pytest.fixture(scope="module")
def other_keyring() -> KeyRing:
    return KeyRing.generate()


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.advance(NOW)
    return clock


@pytest.fixture
def tokens(keyring: KeyRing, clock: Clock) -> Tokens:
    return Tokens(keyring, clock=clock.seconds)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: Any) -> str:
    return b64(json.dumps(obj).encode())


def hs512(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A token signed by hand, so that PyJWT's own refusals cannot stop a test
    from building what an attacker would."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{b64(mac)}"


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def header_of(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))


def reason(verify: Callable[[], object]) -> str:
    with pytest.raises(InvalidToken) as caught:
        verify()
    return caught.value.reason


# What each token promises


def test_session_token_carries_the_session_id_for_a_day(tokens: Tokens) -> None:
    token = tokens.issue_session("s-1")
    assert tokens.verify_session(token) == "s-1"
    assert header_of(token)["alg"] == "HS512"
    claims = claims_of(token)
    assert claims.pop("jti")
    assert claims == {
        "aud": "hubsd.session",
        "iss": "hubsd",
        "sub": "s-1",
        "session_id": "s-1",
        "iat": NOW,
        "nbf": NOW - 1,
        "exp": NOW + 86400,
    }


def test_account_token_carries_the_account_id_for_twelve_weeks(tokens: Tokens) -> None:
    token = tokens.issue_account(12)
    assert tokens.verify_account(token) == 12
    assert header_of(token)["alg"] == "HS512"
    claims = claims_of(token)
    assert claims.pop("jti")
    assert claims == {
        "aud": "hubsd.account",
        "iss": "hubsd",
        "sub": "12",
        "iat": NOW,
        "nbf": NOW - 1,
        "exp": NOW + 12 * 7 * 86400,
    }


def test_largest_account_id_round_trips(tokens: Tokens) -> None:
    assert tokens.verify_account(tokens.issue_account(2**63 - 1)) == 2**63 - 1


def test_perms_token_carries_the_17_permissions_bound_to_the_room(tokens: Tokens) -> None:
    granted = {"join_hub": True, "kick_users": False, "text_chat": True}
    token = tokens.issue_perms("hub1", "s-1", None, granted)
    assert header_of(token)["alg"] == "RS512"
    claims = tokens.verify_perms(token, "hub1")
    assert claims == claims_of(token)
    assert claims.pop("jti")
    expected_permissions = {name: name in ("join_hub", "text_chat") for name in HUB_PERMISSIONS}
    assert claims == {
        **expected_permissions,
        "aud": "hubsd.sfu",
        "iss": "hubsd",
        "sub": "_hub1",
        "hub_id": "hub1",
        "session_id": "s-1",
        "account_id": "",
        "iat": NOW,
        "nbf": NOW - 1,
        "exp": NOW + 300,
    }


def test_perms_token_of_an_account_names_it(tokens: Tokens) -> None:
    claims = tokens.verify_perms(tokens.issue_perms("hub1", "s-1", 42, ALL_GRANTED), "hub1")
    assert claims["account_id"] == "42"
    assert claims["sub"] == "42_hub1"
    assert all(claims[name] is True for name in HUB_PERMISSIONS)


def test_the_sfu_verifies_perms_tokens_with_the_public_pem_alone(
    tokens: Tokens, keyring: KeyRing, clock: Clock
) -> None:
    """What an SFU does with a JWT library and the PEM file; real clock, so
    issue now."""
    import time

    real = Tokens(keyring, clock=time.time)
    token = real.issue_perms("hub1", "s-1", None, {"join_hub": True})
    claims = jwt.decode(token, keyring.perms_public_pem, algorithms=["RS512"], audience="hubsd.sfu")
    assert claims["join_hub"] is True and claims["hub_id"] == "hub1"


def test_each_token_has_its_own_jti(tokens: Tokens) -> None:
    ids = {claims_of(tokens.issue_session("s-1"))["jti"] for _ in range(3)}
    ids |= {claims_of(tokens.issue_account(1))["jti"] for _ in range(3)}
    ids |= {claims_of(tokens.issue_perms("h", "s", None, {}))["jti"] for _ in range(3)}
    assert len(ids) == 9
    assert all(uuid.UUID(jti).version == 4 for jti in ids)


def test_lifetimes_are_chosen_by_the_caller(tokens: Tokens) -> None:
    assert claims_of(tokens.issue_session("s", lifetime=60))["exp"] == NOW + 60
    assert claims_of(tokens.issue_account(1, lifetime=61.9))["exp"] == NOW + 61
    assert claims_of(tokens.issue_perms("h", "s", None, {}, lifetime=1))["exp"] == NOW + 1


def test_the_issuer_is_configurable_and_checked(keyring: KeyRing, clock: Clock) -> None:
    ours = Tokens(keyring, clock=clock.seconds, issuer="rooms.example")
    token = ours.issue_session("s")
    assert claims_of(token)["iss"] == "rooms.example"
    assert ours.verify_session(token) == "s"
    assert reason(lambda: Tokens(keyring, clock=clock.seconds).verify_session(token)) == "audience"


# Time


@pytest.mark.parametrize(
    ("kind", "lifetime"), [("session", 86400), ("account", 12 * 7 * 86400), ("perms", 300)]
)
def test_a_token_expires_to_the_second(
    tokens: Tokens, clock: Clock, kind: str, lifetime: int
) -> None:
    issue, verify = KINDS[kind]
    token = issue(tokens)
    clock.advance(lifetime - 0.001)
    verify(tokens, token)
    clock.advance(0.001)
    assert reason(lambda: verify(tokens, token)) == "expired"
    clock.advance(1)
    with pytest.raises(InvalidToken) as caught:
        verify(tokens, token)
    assert caught.value.reason == "expired"
    assert str(caught.value) == f"invalid {kind} token: expired"


@pytest.mark.parametrize("kind", ["session", "account", "perms"])
def test_a_token_is_not_valid_before_its_nbf(keyring: KeyRing, kind: str) -> None:
    """nbf is a second before iat: a verifier whose clock is a little behind
    still accepts, one further behind does not."""
    issue, verify = KINDS[kind]
    token = issue(Tokens(keyring, clock=lambda: NOW))
    with pytest.raises(InvalidToken) as caught:
        verify(Tokens(keyring, clock=lambda: NOW - 1.001), token)
    assert caught.value.reason == "expired"
    assert str(caught.value) == f"invalid {kind} token: not valid yet"
    verify(Tokens(keyring, clock=lambda: NOW - 1), token)


@pytest.mark.parametrize(
    "now",
    [1_000_000_000, 4_102_444_800],  # 2001 and 2100: long expired, not yet valid by the wall clock
)
@pytest.mark.parametrize("kind", ["session", "account", "perms"])
def test_the_injected_clock_alone_decides_validity(keyring: KeyRing, now: int, kind: str) -> None:
    issue, verify = KINDS[kind]
    tokens = Tokens(keyring, clock=lambda: now)
    verify(tokens, issue(tokens))


def test_a_token_issued_at_a_fractional_second_counts_from_the_whole_second(
    keyring: KeyRing,
) -> None:
    now = [NOW + 0.75]
    tokens = Tokens(keyring, clock=lambda: now[0])
    token = tokens.issue_perms("h", "s", None, {})
    assert claims_of(token)["iat"] == NOW
    now[0] = NOW + 299.99
    tokens.verify_perms(token, "h")
    now[0] = NOW + 300
    assert reason(lambda: tokens.verify_perms(token, "h")) == "expired"


# Every way a token is refused

KINDS: dict[str, tuple[Callable[[Tokens], str], Callable[[Tokens, object], object]]] = {
    "session": (lambda t: t.issue_session("s-1"), lambda t, token: t.verify_session(token)),
    "account": (lambda t: t.issue_account(7), lambda t, token: t.verify_account(token)),
    "perms": (
        lambda t: t.issue_perms("hub1", "s-1", 7, ALL_GRANTED),
        lambda t, token: t.verify_perms(token, "hub1"),
    ),
}
VERIFIERS = list(KINDS)


def alg_none(header: dict[str, Any]) -> Callable[[Tokens, KeyRing], str]:
    def make(tokens: Tokens, keyring: KeyRing) -> str:
        claims = claims_of(tokens.issue_session("s-1"))
        return f"{segment(header)}.{segment(claims)}."

    return make


def confused(kind: str) -> Callable[[Tokens, KeyRing], str]:
    """An HS512 token whose HMAC key is the RSA public PEM (algorithm confusion)."""

    def make(tokens: Tokens, keyring: KeyRing) -> str:
        claims = claims_of(KINDS[kind][0](tokens))
        return hs512({"alg": "HS512", "typ": "JWT"}, claims, keyring.perms_public_pem)

    return make


def tampered(kind: str) -> Callable[[Tokens, KeyRing], str]:
    """A genuine token whose payload was edited (signature kept)."""

    def make(tokens: Tokens, keyring: KeyRing) -> str:
        head, _, sig = KINDS[kind][0](tokens).split(".")
        claims = claims_of(KINDS[kind][0](tokens))
        claims.update(sub="1", session_id="1", hub_id="hub1", kick_users=True, exp=NOW + 10**6)
        return f"{head}.{segment(claims)}.{sig}"

    return make


def foreign(kind: str) -> Callable[[Tokens, KeyRing], str]:
    def make(tokens: Tokens, keyring: KeyRing) -> str:
        return KINDS[kind][0](Tokens(OTHER[0], clock=lambda: NOW))

    return make


def issued(kind: str) -> Callable[[Tokens, KeyRing], str]:
    return lambda tokens, keyring: KINDS[kind][0](tokens)


def with_key(secret: str, alg: str, **claims: Any) -> Callable[[Tokens, KeyRing], str]:
    """A token signed with one of our real keys, but with ``claims`` changed."""

    def make(tokens: Tokens, keyring: KeyRing) -> str:
        base = claims_of(KINDS["perms" if secret == "perms" else secret][0](tokens))
        base.update(claims)
        base = {k: v for k, v in base.items() if v is not DROP}
        key: Any = {
            "session": keyring.session_secret,
            "account": keyring.account_secret,
            "perms": keyring.perms_private_key,
        }[secret]
        return jwt.encode(base, key, algorithm=alg)

    return make


DROP = object()
OTHER: list[KeyRing] = []

# (what, token maker or literal, {verifier: expected reason}); "*" = every verifier.
BAD: list[tuple[str, Any, dict[str, str]]] = [
    ("None", None, {"*": "malformed"}),
    ("an int", 12, {"*": "malformed"}),
    ("a float", 1.5, {"*": "malformed"}),
    ("a list", ["a.b.c"], {"*": "malformed"}),
    ("a dict", {"token": "x"}, {"*": "malformed"}),
    ("empty", "", {"*": "malformed"}),
    ("garbage", "garbage", {"*": "malformed"}),
    ("three dots", "...", {"*": "malformed"}),
    ("not base64", "!!!.???.***", {"*": "malformed"}),
    ("json that is not an object", f"{segment([1])}.{segment({})}.", {"*": "malformed"}),
    ("non-ascii", "é.é.é", {"*": "malformed"}),
    ("a lone surrogate", "\ud800.a.b", {"*": "malformed"}),
    ("a NUL", "\x00", {"*": "malformed"}),
    ("too long", "a" * 8193, {"*": "malformed"}),
    ("deeply nested header", b64(b"[" * 5000) + ".e30.", {"*": "malformed"}),
    ("alg none", alg_none({"alg": "none", "typ": "JWT"}), {"*": "signature"}),
    ("alg None", alg_none({"alg": "None"}), {"*": "signature"}),
    ("alg NONE", alg_none({"alg": "NONE"}), {"*": "signature"}),
    ("alg empty", alg_none({"alg": ""}), {"*": "signature"}),
    ("alg missing", alg_none({"typ": "JWT"}), {"*": "signature"}),
    ("alg a list", alg_none({"alg": ["HS512"]}), {"*": "signature"}),
    ("HS512 keyed with the public PEM", confused("perms"), {"*": "signature"}),
    ("session claims keyed with the public PEM", confused("session"), {"*": "signature"}),
    ("tampered session", tampered("session"), {"*": "signature"}),
    ("tampered account", tampered("account"), {"*": "signature"}),
    ("tampered perms", tampered("perms"), {"*": "signature"}),
    ("another keyring's session", foreign("session"), {"*": "signature"}),
    ("another keyring's account", foreign("account"), {"*": "signature"}),
    ("another keyring's perms", foreign("perms"), {"*": "signature"}),
    ("a session token", issued("session"), {"account": "signature", "perms": "signature"}),
    ("an account token", issued("account"), {"session": "signature", "perms": "signature"}),
    ("a perms token", issued("perms"), {"session": "signature", "account": "signature"}),
    ("HS256 with the session key", with_key("session", "HS256"), {"session": "signature"}),
    ("RS256 with the perms key", with_key("perms", "RS256"), {"perms": "signature"}),
    # Our own keys, wrong audience or issuer: the aud check alone refuses them.
    (
        "session key, account audience",
        with_key("session", "HS512", aud="hubsd.account", sub="7"),
        {"session": "audience"},
    ),
    (
        "account key, session audience",
        with_key("account", "HS512", aud="hubsd.session", session_id="7"),
        {"account": "audience"},
    ),
    ("perms for Reticulum", with_key("perms", "RS512", aud="ret_perms"), {"perms": "audience"}),
    ("audience in a list", with_key("perms", "RS512", aud=["hubsd.sfu"]), {"perms": "audience"}),
    ("another issuer", with_key("session", "HS512", iss="ret"), {"session": "audience"}),
    # Our own keys, claims missing or wrong.
    *[
        (f"no {claim}", with_key(kind, alg, **{claim: DROP}), {kind: "malformed"})
        for kind, alg in (("session", "HS512"), ("account", "HS512"), ("perms", "RS512"))
        for claim in ("aud", "exp", "iat", "iss", "jti", "nbf", "sub")
    ],
    *[
        (
            f"{claim} = {value!r}",
            with_key("perms", "RS512", **{claim: value}),
            {"perms": "malformed"},
        )
        for claim in ("exp", "nbf", "iat")
        for value in ("soon", True, float("nan"), [1], {"t": 1})
    ],
    ("session sub an int", with_key("session", "HS512", sub=1), {"session": "malformed"}),
    ("account sub an int", with_key("account", "HS512", sub=7), {"account": "malformed"}),
    ("perms sub an int", with_key("perms", "RS512", sub=7), {"perms": "malformed"}),
    ("jti an int", with_key("session", "HS512", jti=1), {"session": "malformed"}),
    ("no session_id", with_key("session", "HS512", session_id=DROP), {"session": "malformed"}),
    ("session_id an int", with_key("session", "HS512", session_id=5), {"session": "malformed"}),
    (
        "empty session_id",
        with_key("session", "HS512", session_id="", sub=""),
        {"session": "malformed"},
    ),
    (
        "long session_id",
        with_key("session", "HS512", session_id="s" * 129, sub="s" * 129),
        {"session": "malformed"},
    ),
    ("sub not the session id", with_key("session", "HS512", sub="other"), {"session": "malformed"}),
    *[
        (f"account sub {sub!r}", with_key("account", "HS512", sub=sub), {"account": "malformed"})
        for sub in ("", "0", "012", "-1", "+1", "1.0", "abc", " 1", "1 ", "١٢", "1٢", str(2**63))
    ],
    *[
        (
            f"perms {claim} = {value!r}",
            with_key("perms", "RS512", **{claim: value}),
            {"perms": "malformed"},
        )
        for claim, value in (
            ("join_hub", 1),
            ("kick_users", "true"),
            ("text_chat", None),
            ("fly", DROP),
            ("hub_id", DROP),
            ("hub_id", 1),
            ("session_id", DROP),
            ("account_id", 7),
        )
    ],
    ("perms for another room", with_key("perms", "RS512", hub_id="hub2"), {"perms": "room"}),
    ("perms for no room", with_key("perms", "RS512", hub_id=""), {"perms": "room"}),
]


@pytest.fixture(autouse=True, scope="module")
def _other_keyring(other_keyring: KeyRing) -> Iterator[None]:
    OTHER.append(other_keyring)
    yield
    OTHER.clear()


def bad_cases() -> Iterator[Any]:
    for what, make, expected in BAD:
        for kind in VERIFIERS:
            want = expected.get(kind, expected.get("*"))
            if want is not None:
                yield pytest.param(make, kind, want, id=f"{what}-as-{kind}")


@pytest.mark.parametrize(("make", "kind", "expected"), list(bad_cases()))
def test_bad_token_is_refused_with_its_reason(
    tokens: Tokens, keyring: KeyRing, make: Any, kind: str, expected: str
) -> None:
    token = make(tokens, keyring) if callable(make) else make
    with pytest.raises(InvalidToken) as caught:
        KINDS[kind][1](tokens, token)
    assert caught.value.reason == expected
    assert str(caught.value).startswith(f"invalid {kind} token: ")
    assert caught.value.uri == "hubsd.error.invalid_token"
    # Nothing of the library's exception (which may quote the input) is kept.
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize(
    "make",
    # A session or an account token is a valid ticket: see the identity tests.
    [pytest.param(m, id=w) for w, m, _ in BAD if w not in ("a session token", "an account token")],
)
def test_bad_token_is_refused_as_a_ticket(tokens: Tokens, keyring: KeyRing, make: Any) -> None:
    token = make(tokens, keyring) if callable(make) else make
    with pytest.raises(InvalidToken) as caught:
        tokens.identity_from_ticket(token)
    assert caught.value.reason in REASONS


def test_a_session_token_of_an_equal_looking_account_is_not_an_account_token(
    tokens: Tokens,
) -> None:
    """A session id made of digits still does not verify as that account."""
    token = tokens.issue_session("12")
    assert reason(lambda: tokens.verify_account(token)) == "signature"
    assert tokens.verify_session(token) == "12"


# The router's ticket


def test_a_session_token_ticket_resumes_its_session(tokens: Tokens) -> None:
    assert tokens.identity_from_ticket(tokens.issue_session("s-9")) == ("s-9", None)


def test_an_account_token_ticket_gets_a_fresh_session_each_time(tokens: Tokens) -> None:
    token = tokens.issue_account(12)
    first = tokens.identity_from_ticket(token)
    second = tokens.identity_from_ticket(token)
    assert first[1] == second[1] == 12
    assert first[0] != second[0]
    assert uuid.UUID(first[0]).version == 4 and str(uuid.UUID(first[0])) == first[0]


def test_an_expired_session_ticket_says_expired(tokens: Tokens, clock: Clock) -> None:
    token = tokens.issue_session("s-9")
    clock.advance(86400)
    assert reason(lambda: tokens.identity_from_ticket(token)) == "expired"


def test_an_expired_account_ticket_says_expired(tokens: Tokens, clock: Clock) -> None:
    token = tokens.issue_account(3, lifetime=10)
    clock.advance(10)
    assert reason(lambda: tokens.identity_from_ticket(token)) == "expired"


# What the issuers refuse (programming errors, not client input)


SESSION_ID = "a session id is a non-empty string of at most 128 characters"
ACCOUNT_ID = "an account id is a positive 64-bit integer"
PERMS_ACCOUNT_ID = "an account id is None or a positive 64-bit integer"
HUB_SID = "a hub sid is a non-empty string"
LIFETIME = "a token lifetime is between one second and ten years"
NOT_A_NUMBER = "a token lifetime is a number of seconds"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.issue_session(""), SESSION_ID),
        (lambda t: t.issue_session("s" * 129), SESSION_ID),
        (lambda t: t.issue_session(12), SESSION_ID),
        (lambda t: t.issue_session(None), SESSION_ID),
        (lambda t: t.issue_account(0), ACCOUNT_ID),
        (lambda t: t.issue_account(-1), ACCOUNT_ID),
        (lambda t: t.issue_account(True), ACCOUNT_ID),
        (lambda t: t.issue_account(2**63), ACCOUNT_ID),
        (lambda t: t.issue_account("12"), ACCOUNT_ID),
        (lambda t: t.issue_account(1.0), ACCOUNT_ID),
        (lambda t: t.issue_perms("", "s", None, {}), HUB_SID),
        (lambda t: t.issue_perms(None, "s", None, {}), HUB_SID),
        (lambda t: t.issue_perms("h", "", None, {}), SESSION_ID),
        (lambda t: t.issue_perms("h", "s", 0, {}), PERMS_ACCOUNT_ID),
        (lambda t: t.issue_perms("h", "s", "7", {}), PERMS_ACCOUNT_ID),
        (lambda t: t.issue_perms("h", "s", None, {"admin": True}), "not hub permissions: admin"),
        (
            lambda t: t.issue_perms("h", "s", None, {"root": True, "admin": True, "fly": True}),
            "not hub permissions: admin, root",
        ),
        (
            lambda t: t.issue_perms("h", "s", None, {"join_hub": 1}),
            "each permission is True or False",
        ),
        (
            lambda t: t.issue_perms("h", "s", None, {"fly": "yes"}),
            "each permission is True or False",
        ),
        *[
            (partial(lambda t, value: t.issue_session("s", lifetime=value), value=value), message)
            for value, message in (
                (0, LIFETIME),
                (0.999, LIFETIME),
                (-1, LIFETIME),
                (float("nan"), LIFETIME),
                (float("inf"), LIFETIME),
                (10**12, LIFETIME),
                (True, NOT_A_NUMBER),
                ("300", NOT_A_NUMBER),
                (None, NOT_A_NUMBER),
            )
        ],
        (lambda t: t.issue_account(1, lifetime=0), LIFETIME),
        (lambda t: t.issue_perms("h", "s", None, {}, lifetime=0), LIFETIME),
    ],
)
def test_issuers_refuse_values_that_cannot_be_tokens(
    tokens: Tokens, call: Any, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        call(tokens)
    assert str(caught.value) == message


def test_a_keyring_changed_to_hold_a_short_key_is_refused_not_warned_about(
    clock: Clock,
) -> None:
    ring = KeyRing.generate()
    tokens = Tokens(ring, clock=clock.seconds)
    genuine = tokens.issue_session("s")
    ring.session_secret = ring.session_secret[:16]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(jwt.InvalidKeyError):
            tokens.issue_session("s")
        assert reason(lambda: tokens.verify_session(genuine)) == "malformed"


def test_the_longest_token_looked_at_has_8192_characters(tokens: Tokens, keyring: KeyRing) -> None:
    def padded(length: int) -> str:
        """A genuine session token of exactly ``length`` characters."""
        claims = claims_of(tokens.issue_session("s-1"))
        claims["pad"] = ""
        token = ""
        while len(token) < length:
            claims["pad"] += "x"
            token = jwt.encode(claims, keyring.session_secret, algorithm="HS512")
        assert len(token) == length
        return token

    assert tokens.verify_session(padded(8192)) == "s-1"
    # (No base64url text has 4n+1 characters: 8193 cannot be signed.)
    assert reason(lambda: tokens.verify_session(padded(8194))) == "malformed"


def test_session_id_of_128_characters_is_accepted(tokens: Tokens) -> None:
    assert tokens.verify_session(tokens.issue_session("s" * 128)) == "s" * 128


def test_ten_years_is_the_longest_lifetime(tokens: Tokens) -> None:
    token = tokens.issue_session("s", lifetime=10 * 366 * 86400)
    assert claims_of(token)["exp"] == NOW + 10 * 366 * 86400
    with pytest.raises(ValueError):
        tokens.issue_session("s", lifetime=10 * 366 * 86400 + 1)


# Nothing secret in messages or logs


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    lines: list[str] = []

    def observe(event: LogEvent) -> None:
        lines.append(formatEvent(event) + repr(event))

    caplog.set_level(logging.DEBUG)
    globalLogPublisher.addObserver(observe)
    try:
        yield lines
    finally:
        globalLogPublisher.removeObserver(observe)
        lines.extend(record.getMessage() for record in caplog.records)


def test_no_token_or_secret_appears_in_messages_or_logs(
    tokens: Tokens, keyring: KeyRing, clock: Clock, logged: list[str]
) -> None:
    secrets = [
        keyring.session_secret.hex()[:16],
        b64(keyring.session_secret)[:16],
        keyring.account_secret.hex()[:16],
        b64(keyring.account_secret)[:16],
        keyring.perms_public_pem.decode().splitlines()[2],
    ]
    texts: list[str] = []
    issued_tokens = [issue(tokens) for issue, _ in KINDS.values()]
    clock.advance(10**8)  # all expired now
    for make, kind, _ in (p.values for p in bad_cases()):
        token = make(tokens, keyring) if callable(make) else make
        for candidate in (token, *issued_tokens):
            try:
                KINDS[kind][1](tokens, candidate)
            except InvalidToken as e:
                texts += [str(e), repr(e), repr(e.args), e.message]
    texts += logged
    texts.append(repr(tokens.__dict__))
    for token in issued_tokens:
        for part in token.split("."):
            assert not any(part[:24] in text for text in texts)
    for secret in secrets:
        assert not any(secret in text for text in texts)


# Properties

JWT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(),
    st.text(),
    st.lists(st.text(), max_size=3),
    st.dictionaries(st.text(), st.integers(), max_size=3),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def looks_like_a_jwt() -> st.SearchStrategy[str]:
    """Three dot-separated base64url-ish parts, headers with plausible algs."""
    random_parts = st.lists(st.text(JWT_ALPHABET, max_size=60), min_size=1, max_size=4).map(
        ".".join
    )
    header = st.fixed_dictionaries(
        {"alg": st.sampled_from(["none", "HS512", "RS512", "HS256", "ES256", ""]) | JSON_VALUE},
        optional={"typ": JSON_VALUE, "kid": JSON_VALUE, "crit": JSON_VALUE, "b64": JSON_VALUE},
    )
    payload = st.dictionaries(st.text(max_size=8), JSON_VALUE, max_size=6)
    built = st.tuples(header, payload, st.binary(max_size=80)).map(
        lambda hps: f"{segment(hps[0])}.{segment(hps[1])}.{b64(hps[2])}"
    )
    return st.one_of(random_parts, built)


def never_verifies(tokens: Tokens, value: object) -> None:
    for verify in (
        tokens.verify_session,
        tokens.verify_account,
        lambda token: tokens.verify_perms(token, "hub1"),
        tokens.identity_from_ticket,
    ):
        with pytest.raises(InvalidToken) as caught:
            verify(value)
        assert caught.value.reason in REASONS


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(), looks_like_a_jwt(), ANY_VALUE))
def test_random_input_never_verifies_and_raises_only_invalid_token(
    keyring: KeyRing, value: object
) -> None:
    never_verifies(Tokens(keyring, clock=lambda: NOW), value)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.sampled_from(JWT_ALPHABET + ".!é"))
def test_a_genuine_token_with_any_character_changed_never_verifies(
    keyring: KeyRing, position: int, replacement: str
) -> None:
    tokens = Tokens(keyring, clock=lambda: NOW)
    token = tokens.issue_session("s-1")
    position %= len(token)
    changed = token[:position] + replacement + token[position + 1 :]
    if changed == token:
        return
    # A base64url character's low bits can be unused at the end of a segment:
    # changing only them leaves the decoded bytes, and so the token, equal.
    if [base64_bytes(p) for p in changed.split(".")] == [base64_bytes(p) for p in token.split(".")]:
        return
    never_verifies(tokens, changed)


def base64_bytes(part: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except ValueError:
        return None
