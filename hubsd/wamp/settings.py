"""
Typed settings of the WAMP router.

The daemon's config schema (section ``[wamp]`` plus the templated sections
``[wamp.principal:AUTHID]`` and ``[wamp.role:NAME]``) produces these frozen
objects through L{RouterSettings.fromConfig}; tests build them directly.
The defaults of L{RouterSettings} are the schema's defaults, parsed by the
schema's own value types (L{schema_defaults}): one source, so that a test
that builds C{RouterSettings()} runs the router the daemon runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from hubsd.schema import WAMP


def schema_defaults() -> dict[str, Any]:
    """Every key of the schema's ``[wamp]`` section with its parsed default."""
    return {o.key: o.type.parse(o.default) for o in WAMP.options if o.default is not None}


_DEFAULTS = schema_defaults()


@dataclass(frozen=True)
class Principal:
    """
    A statically configured identity. C{ticket} enables the C{ticket} auth
    method, C{wampcra_secret} the C{wampcra} one; C{None} disables each.

    Salted WAMP-CRA: with C{wampcra_salt} set, C{wampcra_secret} is the
    derived key (C{autobahn.wamp.auth.derive_key(password, salt,
    iterations, keylen)}), so the password itself is never stored; the
    client gets salt/iterations/keylen in the CHALLENGE.
    """

    authid: str
    realm: str
    role: str
    ticket: str | None = None
    wampcra_secret: str | None = None
    wampcra_salt: str | None = None
    wampcra_iterations: int = 1000
    wampcra_keylen: int = 32

    @property
    def name(self) -> str:
        return self.authid


@dataclass(frozen=True)
class RoleRules:
    """
    What a role may do on a realm: one tuple of URI patterns per action.
    The pattern syntax is documented in L{hubsd.wamp.patterns}.
    """

    name: str
    realm: str
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    call: tuple[str, ...] = ()
    register: tuple[str, ...] = ()


class _Config(Protocol):
    """What L{RouterSettings.fromConfig} reads: the daemon's read-only config."""

    def section(self, name: str) -> Mapping[str, Any]: ...

    def templated(self, name: str) -> Mapping[str, Mapping[str, Any]]: ...


@dataclass(frozen=True)
class RouterSettings:
    """
    Everything the router needs from the operator. Sizes are bytes,
    durations float seconds (0 disables a timer).
    """

    realms: tuple[str, ...] = _DEFAULTS["realms"]
    max_message_size: int = _DEFAULTS["max_message_size"]
    auto_ping_interval: float = _DEFAULTS["auto_ping_interval"]
    auto_ping_timeout: float = _DEFAULTS["auto_ping_timeout"]
    open_handshake_timeout: float = _DEFAULTS["open_handshake_timeout"]
    outgoing_soft_limit: int = _DEFAULTS["outgoing_soft_limit"]
    outgoing_hard_limit: int = _DEFAULTS["outgoing_hard_limit"]
    droppable_topics: tuple[str, ...] = _DEFAULTS["droppable_topics"]
    anonymous_role: str = _DEFAULTS["anonymous_role"]
    call_timeout: float = _DEFAULTS["call_timeout"]
    overload_lag: float = _DEFAULTS["overload_lag"]
    principals: tuple[Principal, ...] = ()
    roles: tuple[RoleRules, ...] = field(default_factory=tuple)

    @classmethod
    def fromConfig(cls, config: _Config) -> RouterSettings:
        """
        Build settings from the daemon's validated config object: values
        arrive typed already, so this only reshapes them.
        """
        s = config.section("wamp")
        opt: Callable[[Any], str | None] = lambda v: v or None  # noqa: E731
        principals = tuple(
            Principal(
                authid=name,
                realm=p["realm"],
                role=p["role"],
                ticket=opt(p.get("ticket")),
                wampcra_secret=opt(p.get("wampcra_secret")),
                wampcra_salt=opt(p.get("wampcra_salt")),
                wampcra_iterations=int(p.get("wampcra_iterations") or 1000),
                wampcra_keylen=int(p.get("wampcra_keylen") or 32),
            )
            for name, p in sorted(config.templated("wamp.principal").items())
        )
        roles = tuple(
            RoleRules(
                name=name,
                realm=r["realm"],
                publish=tuple(r.get("publish", ())),
                subscribe=tuple(r.get("subscribe", ())),
                call=tuple(r.get("call", ())),
                register=tuple(r.get("register", ())),
            )
            for name, r in sorted(config.templated("wamp.role").items())
        )
        values = {
            f.name: _like(getattr(cls, f.name), s[f.name]) for f in fields(cls) if f.name in s
        }
        return cls(principals=principals, roles=roles, **values)


def _like(default: Any, value: Any) -> Any:
    """C{value} as the type of C{default} (a config list is a tuple here)."""
    if isinstance(default, tuple):
        return tuple(value)
    return type(default)(value)
