"""
Authorization of publish, subscribe, call and register.

A request is decided in this order, first answer wins:

1. L{reserved}: publishing to or registering C{wamp.*} URIs is reserved for
   the router and trusted sessions; nothing else can grant it.
2. Authrole C{trusted} (in-process parts of hubsd) may do everything.
3. A gate (L{Authorizer.add_gate}) whose prefix the URI starts with (the
   longest such prefix) decides alone: static rules and the dynamic
   authorizer are not consulted, so no C{[wamp.role]} rule can grant what
   the gate's owner (the room core, for C{hubsd.}) refuses. A pattern
   subscription or registration that could match a gated URI (a prefix
   C{"hub"}, a wildcard C{".room..naf"}) is also the gate's to decide.
   Gates are called every time, never cached.
4. The static rules of the session's (realm, role) (syntax in
   L{hubsd.wamp.patterns}); their decisions are cached per session.
5. The dynamic authorizer set with
   L{hubsd.wamp.router.Router.set_authorizer}, not cached.

Anything else is denied with C{wamp.error.not_authorized}. A gate or
dynamic authorizer that raises denies; its first failure is logged with a
traceback, later ones only counted (a client must not be able to flood the
log by sending what a hook chokes on).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from hubsd.wamp.patterns import PatternSet
from hubsd.wamp.settings import RouterSettings

log = Logger()

TRUSTED = "trusted"
#: The URI prefix only the router (and trusted sessions) publish or register under.
RESERVED_PREFIX = "wamp."

#: fn(session_details, action, uri, options) -> bool | Deferred[bool]
DynamicAuthorizer = Callable[[dict[str, Any], str, str, dict[str, Any]], Any]
#: gate(session_details, action, uri, options) -> bool (synchronous)
Gate = Callable[[dict[str, Any], str, str, dict[str, Any]], bool]


def reserved(action: str, uri: str, authrole: str) -> bool:
    """
    True if C{authrole} may not C{action} C{uri} because C{wamp.*} belongs
    to the router: publishing (meta events) and registering (meta
    procedures) there is for the router and trusted sessions only.
    Subscribing to meta events and calling meta procedures are ordinary
    requests, authorized like any other.
    """
    return (
        authrole != TRUSTED
        and (action == "publish" or action == "register")
        and uri.startswith(RESERVED_PREFIX)
    )


def could_match(match: str, pattern: str, prefix: str) -> bool:
    """
    True if a subscription or registration of C{pattern} under WAMP match
    policy C{match} could match some URI starting with C{prefix}.
    """
    if match == "prefix":
        return pattern.startswith(prefix) or prefix.startswith(pattern)
    if match == "wildcard":
        parts = prefix.split(".")
        full, partial = parts[:-1], parts[-1]
        components = pattern.split(".")
        if len(components) <= len(full):
            return False
        for want, got in zip(full, components, strict=False):
            if got and got != want:
                return False
        last = components[len(full)]
        return not last or last.startswith(partial)
    return pattern.startswith(prefix)


class Authorizer:
    """Compiled static rules, the gates and the dynamic hook (module docstring)."""

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
        # Longest prefix first, so that the first hit is the one that decides.
        self._gates: list[tuple[str, Gate]] = []
        self._failed: set[int] = set()
        #: Failures of gates and the dynamic authorizer (each one a denial).
        self.errors = 0

    def add_gate(self, prefix: str, gate: Gate) -> None:
        """Let C{gate} alone decide for URIs under C{prefix} (module docstring)."""
        if not prefix:
            raise ValueError("a gate needs a non-empty URI prefix")
        self._gates = [g for g in self._gates if g[0] != prefix] + [(prefix, gate)]
        self._gates.sort(key=lambda g: len(g[0]), reverse=True)

    def gate_for(self, uri: str, match: str | None = None) -> Gate | None:
        """The gate that decides C{uri} (a pattern under C{match}), or None."""
        for prefix, gate in self._gates:
            if uri.startswith(prefix) or (
                match is not None and match != "exact" and could_match(match, uri, prefix)
            ):
                return gate
        return None

    def static(self, realm: str, authrole: str, action: str, uri: str) -> bool:
        """What the configured rules alone say (C{trusted} may do everything)."""
        if authrole == TRUSTED:
            return True
        if reserved(action, uri, authrole):
            return False
        rules = self._rules.get((realm, authrole))
        return rules is not None and rules[action].matches(uri)

    def ask_gate(
        self, gate: Gate, details: dict[str, Any], action: str, uri: str, options: dict[str, Any]
    ) -> bool:
        """The gate's answer; True only for C{True} itself, a raise denies."""
        try:
            return gate(details, action, uri, options) is True
        except Exception:
            self._failure(gate, "gate failed for {action} {uri}", action, uri)
            return False

    def ask_dynamic(
        self, details: dict[str, Any], action: str, uri: str, options: dict[str, Any]
    ) -> bool | Deferred[bool]:
        """The dynamic hook's answer (False when there is none)."""
        fn = self.dynamic
        if fn is None:
            return False
        try:
            answer: bool | Deferred[bool] = fn(details, action, uri, options)
            return answer
        except Exception:
            # A broken hook denies; it must not take the session down.
            self._failure(fn, "dynamic authorizer failed for {action} {uri}", action, uri)
            return False

    def dynamic_failed(self, failure: Any, action: str, uri: str) -> None:
        """A Deferred answer of the dynamic authorizer failed (a denial)."""
        self._failure(
            self.dynamic, "dynamic authorizer failed for {action} {uri}", action, uri, failure
        )

    def _failure(self, hook: object, text: str, action: str, uri: str, failure: Any = None) -> None:
        self.errors += 1
        if id(hook) in self._failed:
            return
        self._failed.add(id(hook))
        log.failure(
            text + " (later failures of this hook are only counted)",
            failure,
            action=action,
            uri=uri,
        )
