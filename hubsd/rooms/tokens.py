"""
The tokens hubsd hands out and accepts: session, account and perms tokens.

All three are JWTs made and checked with PyJWT, in the spirit of Reticulum's
(hubs-protocol.md 1.2 and 4.5) but with hubsd's own audiences and keys:

========  =======  ===========  ===========================================
kind      alg      key          audience / what it carries
========  =======  ===========  ===========================================
session   HS512    session.key  ``hubsd.session``: a session id (sub)
account   HS512    account.key  ``hubsd.account``: an account id (sub)
perms     RS512    perms.pem    ``hubsd.sfu``: one room's 17 permissions
========  =======  ===========  ===========================================

Every verifier pins the one algorithm of its kind (no ``alg: none``, no HMAC
keyed with the RSA public key), checks its audience and issuer, and requires
``exp``, ``iat``, ``nbf``, ``aud``, ``iss``, ``sub`` and ``jti``. Two kinds never
share a key (Reticulum's weakness 8.14) and a perms token is bound to its room
(8.9): it is checked against the room it is presented for. Perms tokens are
always minted fresh, never echoed (8.18: the caller's concern; nothing here
takes a token and returns it).

Time is the injected ``clock``, so a test can expire a token to the second; a
token is valid while ``nbf <= now < exp``.

Any refusal is :class:`hubsd.rooms.errors.InvalidToken` with ``reason`` one of
``expired`` (also: not valid yet), ``signature`` (not signed by the key and
algorithm of this kind), ``audience`` (meant for another audience or issuer),
``malformed`` (not a token of this kind) or ``room`` (a perms token for another
room). Nothing else escapes a verifier, whatever it is given; messages never
quote the token, and this module logs nothing.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from hubsd.rooms.errors import InvalidToken
from hubsd.rooms.keys import KeyRing
from hubsd.rooms.permissions import HUB_PERMISSIONS

SESSION_AUDIENCE = "hubsd.session"
ACCOUNT_AUDIENCE = "hubsd.account"
PERMS_AUDIENCE = "hubsd.sfu"

SESSION_LIFETIME = 86400
ACCOUNT_LIFETIME = 12 * 7 * 86400
PERMS_LIFETIME = 300

#: Longest token looked at; ours are well under 2 KiB. Refusing early bounds
#: the work an anonymous client can ask for.
MAX_TOKEN_LENGTH = 8192
#: Longest lifetime a token may be given: ten years.
MAX_LIFETIME = 10 * 366 * 86400
#: Longest session id accepted (ours are 36-character uuids).
MAX_SESSION_ID_LENGTH = 128
#: Largest account id (ids are 64-bit signed integers in the store).
MAX_ACCOUNT_ID = 2**63 - 1

_REQUIRED_CLAIMS = ["aud", "exp", "iat", "iss", "jti", "nbf", "sub"]
_DECODE_OPTIONS: Any = {
    "verify_signature": True,
    "require": _REQUIRED_CLAIMS,
    "verify_aud": True,
    "strict_aud": True,
    "verify_iss": True,
    "verify_sub": True,
    "verify_jti": True,
    # PyJWT would check these against the wall clock; _check_time does it
    # against the injected clock, with the same rule.
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "enforce_minimum_key_length": True,
}
_ACCOUNT_SUB = re.compile(r"[1-9][0-9]{0,18}")


class Tokens:
    """Issues and verifies hubsd's tokens with the keys of ``keyring``."""

    def __init__(
        self,
        keyring: KeyRing,
        clock: Callable[[], float] = time.time,
        issuer: str = "hubsd",
    ) -> None:
        self._keys = keyring
        self._clock = clock
        self.issuer = issuer
        # A short key is refused rather than warned about.
        self._jwt = jwt.PyJWT(options={"enforce_minimum_key_length": True})

    # session tokens

    def issue_session(self, session_id: str, lifetime: float = SESSION_LIFETIME) -> str:
        """A session token (HS512, session key) for ``session_id``, valid for
        ``lifetime`` seconds. ValueError if the id is not a non-empty string of
        at most 128 characters or the lifetime not between a second and ten
        years."""
        if not _is_session_id(session_id):
            raise ValueError("a session id is a non-empty string of at most 128 characters")
        claims = self._claims(SESSION_AUDIENCE, session_id, lifetime)
        claims["session_id"] = session_id
        return self._jwt.encode(claims, self._keys.session_secret, algorithm="HS512")

    def verify_session(self, token: object) -> str:
        """The session id of a valid session token; InvalidToken otherwise."""
        claims = self._decode(
            "session", token, self._keys.session_secret, "HS512", SESSION_AUDIENCE
        )
        session_id = claims.get("session_id")
        if not _is_session_id(session_id) or claims["sub"] != session_id:
            raise InvalidToken("malformed", "invalid session token: malformed")
        return str(session_id)

    # account tokens

    def issue_account(self, account_id: int, lifetime: float = ACCOUNT_LIFETIME) -> str:
        """An account token (HS512, account key) for ``account_id``, valid for
        ``lifetime`` seconds. ValueError unless the id is a positive 64-bit int
        and the lifetime between a second and ten years."""
        if not _is_account_id(account_id):
            raise ValueError("an account id is a positive 64-bit integer")
        claims = self._claims(ACCOUNT_AUDIENCE, str(account_id), lifetime)
        return self._jwt.encode(claims, self._keys.account_secret, algorithm="HS512")

    def verify_account(self, token: object) -> int:
        """The account id of a valid account token; InvalidToken otherwise."""
        claims = self._decode(
            "account", token, self._keys.account_secret, "HS512", ACCOUNT_AUDIENCE
        )
        sub = claims["sub"]
        if not isinstance(sub, str) or not _ACCOUNT_SUB.fullmatch(sub) or int(sub) > MAX_ACCOUNT_ID:
            raise InvalidToken("malformed", "invalid account token: malformed")
        return int(sub)

    # perms tokens

    def issue_perms(
        self,
        hub_sid: str,
        session_id: str,
        account_id: int | None,
        permissions: Mapping[str, bool],
        lifetime: float = PERMS_LIFETIME,
    ) -> str:
        """
        A perms token (RS512, perms key, audience ``hubsd.sfu``) for the member
        ``session_id`` (and ``account_id``, None if anonymous) of room
        ``hub_sid``, carrying each of the 17 hub permissions as a bool (False
        where ``permissions`` does not say), valid for ``lifetime`` seconds.
        ValueError for an empty room or bad session id, an account id that is
        not None or positive, a permission name that is not one of the 17, a
        value that is not a bool, or a lifetime not between a second and ten
        years.
        """
        if not isinstance(hub_sid, str) or not hub_sid:
            raise ValueError("a hub sid is a non-empty string")
        if not _is_session_id(session_id):
            raise ValueError("a session id is a non-empty string of at most 128 characters")
        if account_id is not None and not _is_account_id(account_id):
            raise ValueError("an account id is None or a positive 64-bit integer")
        unknown = sorted(set(permissions) - set(HUB_PERMISSIONS))
        if unknown:
            raise ValueError(f"not hub permissions: {', '.join(map(str, unknown))}")
        if not all(isinstance(value, bool) for value in permissions.values()):
            raise ValueError("each permission is True or False")
        account = "" if account_id is None else str(account_id)
        claims = self._claims(PERMS_AUDIENCE, f"{account}_{hub_sid}", lifetime)
        claims.update({name: permissions.get(name, False) for name in HUB_PERMISSIONS})
        claims.update(hub_id=hub_sid, session_id=session_id, account_id=account)
        return self._jwt.encode(claims, self._keys.perms_private_key, algorithm="RS512")

    def verify_perms(self, token: object, hub_sid: str) -> dict[str, Any]:
        """The claims of a valid perms token for room ``hub_sid`` (each of the
        17 permissions a bool; hub_id, session_id and account_id strings);
        InvalidToken otherwise, with reason "room" for another room's token."""
        claims = self._decode("perms", token, self._keys.perms_public_key, "RS512", PERMS_AUDIENCE)
        if not all(isinstance(claims.get(name), bool) for name in HUB_PERMISSIONS) or not all(
            isinstance(claims.get(name), str) for name in ("hub_id", "session_id", "account_id")
        ):
            raise InvalidToken("malformed", "invalid perms token: malformed")
        if claims["hub_id"] != hub_sid:
            raise InvalidToken("room", "invalid perms token: issued for another room")
        return claims

    # the router's ticket

    def identity_from_ticket(self, ticket: object) -> tuple[str, int | None]:
        """
        Who a WAMP ``ticket`` says the session is: ``(session_id, None)`` for a
        valid session token (the identity it resumes), ``(a fresh uuid4 session
        id, account_id)`` for a valid account token. InvalidToken otherwise
        (a session token's reason when it is one, else the account check's).
        """
        try:
            return self.verify_session(ticket), None
        except InvalidToken as e:
            # Only "signed by another key" means it may be an account token.
            if e.reason != "signature":
                raise
        return str(uuid.uuid4()), self.verify_account(ticket)

    # the shared parts

    def _claims(self, audience: str, subject: str, lifetime: float) -> dict[str, Any]:
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
            raise ValueError("a token lifetime is a number of seconds")
        # (NaN fails this too.)
        if not 1 <= lifetime <= MAX_LIFETIME:
            raise ValueError("a token lifetime is between one second and ten years")
        iat = int(self._clock())
        return {
            "aud": audience,
            "iss": self.issuer,
            "sub": subject,
            "iat": iat,
            # A second of slack for verifiers whose clock is a little behind
            # (the SFU), as Reticulum does.
            "nbf": iat - 1,
            "exp": iat + int(lifetime),
            "jti": str(uuid.uuid4()),
        }

    def _decode(
        self, kind: str, token: object, key: Any, algorithm: str, audience: str
    ) -> dict[str, Any]:
        """The verified claims of ``token``, or InvalidToken."""
        # A JWT is ASCII text; PyJWT would also take bytes, and encode other
        # text to UTF-8 (failing on surrogates).
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise InvalidToken("malformed", f"invalid {kind} token: malformed")
        try:
            claims = self._jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=audience,
                issuer=self.issuer,
                options=_DECODE_OPTIONS,
            )
        # `from None` everywhere: the library's exception is not kept as a
        # cause, so a logged traceback shows nothing of the token.
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise InvalidToken("signature", f"invalid {kind} token: bad signature") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise InvalidToken("audience", f"invalid {kind} token: wrong audience") from None
        # RecursionError and ValueError: PyJWT before 2.10 let a few of these
        # through from its JSON and base64 decoding (nested brackets, bad padding).
        except (jwt.PyJWTError, RecursionError, ValueError):
            raise InvalidToken("malformed", f"invalid {kind} token: malformed") from None
        self._check_time(kind, claims)
        return claims

    def _check_time(self, kind: str, claims: dict[str, Any]) -> None:
        times = [claims[name] for name in ("iat", "nbf", "exp")]
        if not all(_is_time(value) for value in times):
            raise InvalidToken("malformed", f"invalid {kind} token: malformed")
        now = self._clock()
        if now >= claims["exp"]:
            raise InvalidToken("expired", f"invalid {kind} token: expired")
        if now < claims["nbf"]:
            raise InvalidToken("expired", f"invalid {kind} token: not valid yet")


def _is_session_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_SESSION_ID_LENGTH


def _is_account_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ACCOUNT_ID


def _is_time(value: object) -> bool:
    """A JWT NumericDate: an int, or a finite float (no NaN, which would
    compare false with everything and never expire)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)
