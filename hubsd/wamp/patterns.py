"""
URI patterns, for authorization rules and settings, and WAMP match policies.

Authorization / settings pattern syntax (``[wamp.role]`` publish, subscribe,
call, register lists and ``droppable_topics``):

``*``
    matches every URI.
``com.example.*``
    a pattern ending in ``*`` is a string-prefix match on what precedes the
    ``*`` (``com.example.`` here; ``com.ex*`` would match ``com.example``).
``com..event``
    a pattern with an empty component is a WAMP wildcard match: same number
    of dot-separated components, empty components match any one component.
anything else
    exact match.

A URI that no pattern matches is denied (least privilege).

WAMP subscription/registration match policies (``exact``, ``prefix``,
``wildcard``) are implemented by L{wamp_match}.
"""

from __future__ import annotations

from collections.abc import Iterable


def wildcard_match(pattern: str, uri: str) -> bool:
    """True if C{uri} matches the WAMP wildcard C{pattern} (empty = any)."""
    pp = pattern.split(".")
    uu = uri.split(".")
    if len(pp) != len(uu):
        return False
    for p, u in zip(pp, uu, strict=True):
        if p and p != u:
            return False
    return True


def wamp_match(policy: str, pattern: str, uri: str) -> bool:
    """True if C{uri} matches C{pattern} under WAMP match C{policy}."""
    if policy == "exact":
        return pattern == uri
    if policy == "prefix":
        return uri.startswith(pattern)
    if policy == "wildcard":
        return wildcard_match(pattern, uri)
    return False


class PatternSet:
    """
    A compiled set of authorization-style patterns (see module docstring).
    Matching is a set lookup plus a scan of the few prefix and wildcard
    patterns.
    """

    __slots__ = ("_all", "_exact", "_prefixes", "_wildcards")

    def __init__(self, patterns: Iterable[str]) -> None:
        self._all = False
        self._exact: set[str] = set()
        prefixes: list[str] = []
        self._wildcards: list[str] = []
        for p in patterns:
            if p == "*":
                self._all = True
            elif p.endswith("*"):
                prefixes.append(p[:-1])
            elif "" in p.split("."):
                self._wildcards.append(p)
            else:
                self._exact.add(p)
        self._prefixes = tuple(prefixes)

    def __bool__(self) -> bool:
        return bool(self._all or self._exact or self._prefixes or self._wildcards)

    def matches(self, uri: str) -> bool:
        """True if any pattern of the set matches C{uri}."""
        if self._all or uri in self._exact:
            return True
        if self._prefixes and uri.startswith(self._prefixes):
            return True
        for w in self._wildcards:
            if wildcard_match(w, uri):
                return True
        return False
