"""
Authorization of publish, subscribe, call and register.

Publishing to or registering C{wamp.*} URIs is reserved for the router and
trusted sessions. Otherwise a request is allowed when the session's
authrole is C{trusted}, or when the
static rules of its (realm, role) match the URI (syntax in
L{hubsd.wamp.patterns}), or else when the dynamic authorizer set with
L{hubsd.wamp.router.Router.set_authorizer} says yes. Anything else is
denied. Static decisions are cached per session; dynamic ones are not (the
hook caches if it wants to).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from hubsd.wamp.patterns import PatternSet
from hubsd.wamp.settings import RouterSettings

log = Logger()

ACTIONS = ("publish", "subscribe", "call", "register")
TRUSTED = "trusted"

#: fn(session_details, action, uri, options) -> bool | Deferred[bool]
DynamicAuthorizer = Callable[[dict[str, Any], str, str, dict[str, Any]], Any]


class Authorizer:
    """Compiled static rules plus the dynamic hook."""

    def __init__(self, settings: RouterSettings) -> None:
        self._rules: dict[tuple[str, str], dict[str, PatternSet]] = {}
        for r in settings.roles:
            self._rules[(r.realm, r.name)] = {
                "publish": PatternSet(r.publish),
                "subscribe": PatternSet(r.subscribe),
                "call": PatternSet(r.call),
                "register": PatternSet(r.register),
            }
        self.dynamic: DynamicAuthorizer | None = None

    def static(self, realm: str, authrole: str, action: str, uri: str) -> bool:
        """What the configured rules alone say."""
        if authrole == TRUSTED:
            return True
        if action in ("publish", "register") and uri.startswith("wamp."):
            # Only the router (and trusted sessions) speak for wamp.*.
            return False
        rules = self._rules.get((realm, authrole))
        return rules is not None and rules[action].matches(uri)

    def has_role(self, realm: str, authrole: str) -> bool:
        return authrole == TRUSTED or (realm, authrole) in self._rules

    def ask_dynamic(
        self, details: dict[str, Any], action: str, uri: str, options: dict[str, Any]
    ) -> bool | Deferred[bool]:
        """The dynamic hook's answer (False when there is none)."""
        if self.dynamic is None:
            return False
        try:
            return self.dynamic(details, action, uri, options)
        except Exception:
            # A broken hook denies; it must not take the session down.
            log.failure("dynamic authorizer failed for {action} {uri}", action=action, uri=uri)
            return False
