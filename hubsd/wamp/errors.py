"""
Error URIs the router sends, and the exception that carries one inside.

Inside the router code raises L{WampError}; the session edge turns it into an
ERROR (or ABORT during the handshake) exactly once.
"""

from __future__ import annotations

from typing import Any

NOT_AUTHORIZED = "wamp.error.not_authorized"
AUTHENTICATION_FAILED = "wamp.error.authentication_failed"
NO_AUTH_METHOD = "wamp.error.no_auth_method"
NO_SUCH_REALM = "wamp.error.no_such_realm"
PROTOCOL_VIOLATION = "wamp.error.protocol_violation"
INVALID_URI = "wamp.error.invalid_uri"
INVALID_ARGUMENT = "wamp.error.invalid_argument"
NO_SUCH_PROCEDURE = "wamp.error.no_such_procedure"
NO_SUCH_REGISTRATION = "wamp.error.no_such_registration"
NO_SUCH_SUBSCRIPTION = "wamp.error.no_such_subscription"
NO_SUCH_SESSION = "wamp.error.no_such_session"
PROCEDURE_ALREADY_EXISTS = "wamp.error.procedure_already_exists"
PROCEDURE_EXISTS_INVOCATION_POLICY_CONFLICT = (
    "wamp.error.procedure_exists_with_different_invocation_policy"
)
CANCELED = "wamp.error.canceled"
TIMEOUT = "wamp.error.timeout"
RUNTIME_ERROR = "wamp.error.runtime_error"
PAYLOAD_SIZE_EXCEEDED = "wamp.error.payload_size_exceeded"

CLOSE_NORMAL = "wamp.close.normal"
CLOSE_GOODBYE_AND_OUT = "wamp.close.goodbye_and_out"
CLOSE_SYSTEM_SHUTDOWN = "wamp.close.system_shutdown"


class WampError(Exception):
    """An error with a WAMP URI, plus optional args/kwargs for the peer."""

    def __init__(self, error: str, *args: Any, **kwargs: Any) -> None:
        Exception.__init__(self, error, *args)
        self.error = error
        self.args_ = list(args)
        self.kwargs_ = kwargs


class ProtocolViolation(Exception):
    """The peer broke the WAMP protocol: the session is aborted."""
