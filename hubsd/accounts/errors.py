"""
What can go wrong with a sign-in, each with a stable ``code``.

Transports map the codes once, at the edge: HTTP statuses in
L{hubsd.web.accounts}, WAMP error URIs ``hubsd.error.<code>`` in
L{hubsd.accounts.procedures}, Phoenix error replies in the gateway.
``str(e)`` is safe to show a client: it never quotes a token or an address.
"""

from __future__ import annotations


class SignInError(Exception):
    """A sign-in step was refused."""

    code = "sign_in"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(SignInError):
    """A malformed e-mail address, topic or origin (named in the message)."""

    code = "invalid_request"


class RateLimited(SignInError):
    """Too many requests; ``retry_after`` whole seconds until one may pass."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidLink(SignInError):
    """The link's token is unknown, used, expired or for another topic (one
    answer for all, so that it tells a guesser nothing)."""

    code = "invalid_link"


class NotSignedIn(SignInError):
    """No valid account token (missing, expired, forged, or its account is gone)."""

    code = "not_signed_in"


class Unavailable(SignInError):
    """Sign-in cannot be done now: e-mail is not set up, the SMTP server
    failed, too many clients wait. Nothing was left half done."""

    code = "sign_in_unavailable"


class TimedOut(SignInError):
    """Nobody used the link while the waiter waited."""

    code = "sign_in_timeout"
