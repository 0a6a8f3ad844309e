"""
Authentication: which identity and role a HELLO gets.

Methods, tried in the order the client lists them in C{HELLO.Details.authmethods}:

- C{anonymous}: allowed when C{RouterSettings.anonymous_role} is not empty.
- C{ticket}: CHALLENGE/AUTHENTICATE; the ticket is checked against the
  static principals, then against a custom C{ticket} authenticator (this is
  how the room core checks JWTs: the JWT is the ticket).
- C{wampcra}: WAMP-CRA with the static principals' secrets
  (L{autobahn.wamp.auth.compute_wcs}).
- any method with a custom authenticator set by
  L{hubsd.wamp.router.Router.set_authenticator}, called with the HELLO details.

A custom authenticator is C{fn(realm, authid, details)} returning (or
firing a Deferred with) an L{Authenticated} (or a dict with C{authid},
C{authrole} and optionally C{authextra}), or raising to refuse (a
L{hubsd.wamp.errors.WampError} keeps its URI). Its result decides the
session's authid, authrole and authextra (e.g. C{{"session_id": ...,
"account_id": 12}} for the room core), whatever authid the client claimed.

Static tickets and WAMP-CRA signatures are compared in constant time over
the whole secret: a prefix, a longer string or an empty ticket never
matches.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from autobahn.wamp.auth import compute_wcs
from twisted.internet.defer import Deferred, maybeDeferred

from hubsd.wamp import errors
from hubsd.wamp.errors import WampError
from hubsd.wamp.ids import new_id
from hubsd.wamp.settings import Principal, RouterSettings


@dataclass(frozen=True)
class Authenticated:
    """The outcome of a successful authentication."""

    authid: str
    authrole: str
    authextra: dict[str, Any] | None = None
    authprovider: str = "dynamic"
    authmethod: str = ""


Authenticator = Callable[[str, "str | None", dict[str, Any]], Any]


@dataclass
class Challenge:
    """A CHALLENGE to send; C{verify(signature)} decides the AUTHENTICATE."""

    method: str
    extra: dict[str, Any]
    verify: Callable[[str], Deferred[Authenticated]]


class AuthService:
    """Decides authentication for one router."""

    def __init__(self, settings: RouterSettings) -> None:
        self._settings = settings
        self._principals: dict[tuple[str, str], Principal] = {
            (p.realm, p.authid): p for p in settings.principals
        }
        self.custom: dict[str, Authenticator] = {}

    def start(
        self, realm: str, session_id: int, details: dict[str, Any]
    ) -> Deferred[Authenticated | Challenge]:
        """Begin authenticating a HELLO: fires with a result or a challenge."""
        start: Any = self._start
        return maybeDeferred(start, realm, session_id, details)

    def _start(
        self, realm: str, session_id: int, details: dict[str, Any]
    ) -> Authenticated | Challenge | Deferred[Authenticated]:
        methods = details.get("authmethods") or ["anonymous"]
        authid = details.get("authid")
        if not isinstance(methods, list) or (authid is not None and not isinstance(authid, str)):
            raise WampError(errors.PROTOCOL_VIOLATION, "bad authmethods/authid")
        principal = self._principals.get((realm, authid)) if authid else None
        for method in methods:
            if method == "ticket":
                if (principal and principal.ticket) or "ticket" in self.custom:
                    return self._ticket(realm, authid, principal, details)
            elif method == "wampcra":
                if principal and principal.wampcra_secret:
                    return self._wampcra(principal, session_id)
            elif method in self.custom:
                return self._custom(method, realm, authid, details)
            elif method == "anonymous" and self._settings.anonymous_role:
                # The router names anonymous sessions: an authid a client could
                # choose would let it pass eligible_authid filters (and
                # kill_by_authid) meant for the principal of that name.
                return Authenticated(
                    authid="anonymous-%d" % new_id(),
                    authrole=self._settings.anonymous_role,
                    authprovider="static",
                    authmethod="anonymous",
                )
        raise WampError(errors.NO_AUTH_METHOD, "no acceptable authentication method")

    def _custom(
        self, method: str, realm: str, authid: str | None, details: dict[str, Any]
    ) -> Deferred[Authenticated]:
        d = maybeDeferred(self.custom[method], realm, authid, details)
        return d.addCallback(_checked, method)

    def _ticket(
        self,
        realm: str,
        authid: str | None,
        principal: Principal | None,
        details: dict[str, Any],
    ) -> Challenge:
        def verify(signature: str) -> Deferred[Authenticated]:
            if principal is not None and principal.ticket and signature:
                if hmac.compare_digest(signature.encode(), principal.ticket.encode()):
                    return maybeDeferred(
                        Authenticated,
                        principal.authid,
                        principal.role,
                        None,
                        "static",
                        "ticket",
                    )
            if "ticket" in self.custom:
                return self._custom("ticket", realm, authid, dict(details, ticket=signature))
            raise WampError(errors.AUTHENTICATION_FAILED, "invalid ticket")

        return Challenge("ticket", {}, lambda sig: maybeDeferred(verify, sig))

    def _wampcra(self, principal: Principal, session_id: int) -> Challenge:
        challenge = json.dumps(
            {
                "authid": principal.authid,
                "authrole": principal.role,
                "authmethod": "wampcra",
                "authprovider": "static",
                "session": session_id,
                "nonce": "%x" % new_id(),
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        assert principal.wampcra_secret is not None
        expected = compute_wcs(principal.wampcra_secret.encode(), challenge.encode())

        def verify(signature: str) -> Authenticated:
            if not hmac.compare_digest(signature.encode(), expected):
                raise WampError(errors.AUTHENTICATION_FAILED, "invalid signature")
            return Authenticated(principal.authid, principal.role, None, "static", "wampcra")

        extra: dict[str, Any] = {"challenge": challenge}
        if principal.wampcra_salt:
            extra["salt"] = principal.wampcra_salt
            extra["iterations"] = principal.wampcra_iterations
            extra["keylen"] = principal.wampcra_keylen
        return Challenge("wampcra", extra, lambda sig: maybeDeferred(verify, sig))


def _checked(result: Any, method: str) -> Authenticated:
    """A custom authenticator's result as an L{Authenticated}, or a refusal."""
    if isinstance(result, dict):
        extra = result.get("authextra")
        if extra is not None and not isinstance(extra, dict):
            raise WampError(errors.AUTHENTICATION_FAILED, "authenticator returned no identity")
        result = Authenticated(result.get("authid"), result.get("authrole"), extra)  # type: ignore[arg-type]
    if (
        not isinstance(result, Authenticated)
        or not isinstance(result.authid, str)
        or not isinstance(result.authrole, str)
        or not result.authid
        or not result.authrole
    ):
        raise WampError(errors.AUTHENTICATION_FAILED, "authenticator returned no identity")
    return replace(result, authmethod=result.authmethod or method)
