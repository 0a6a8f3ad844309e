"""RouterSettings.fromConfig reshapes the daemon's typed config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubsd.wamp.settings import Principal, RoleRules, RouterSettings


class FakeConfig:
    def __init__(
        self, wamp: Mapping[str, Any], templated: dict[str, dict[str, Mapping[str, Any]]]
    ) -> None:
        self._wamp = wamp
        self._templated = templated

    def section(self, name: str) -> Mapping[str, Any]:
        assert name == "wamp"
        return self._wamp

    def templated(self, name: str) -> dict[str, Mapping[str, Any]]:
        return self._templated.get(name, {})


WAMP = {
    "realms": ("hubs", "admin"),
    "max_message_size": 65536,
    "auto_ping_interval": 10.0,
    "auto_ping_timeout": 5.0,
    "open_handshake_timeout": 3.0,
    "outgoing_soft_limit": 1000,
    "outgoing_hard_limit": 9000,
    "droppable_topics": ("hubs.room.*",),
    "anonymous_role": "",
    "call_timeout": 30.0,
    "overload_lag": 0.02,
}


def test_from_config_builds_principals_and_roles() -> None:
    config = FakeConfig(
        WAMP,
        {
            "wamp.principal": {
                "ops": {"realm": "admin", "role": "admin", "ticket": "t", "wampcra_secret": ""},
                "svc": {"realm": "hubs", "role": "svc", "ticket": "", "wampcra_secret": "s"},
            },
            "wamp.role": {
                "admin": {
                    "realm": "admin",
                    "publish": ("*",),
                    "subscribe": ("*",),
                    "call": ("wamp.*",),
                    "register": (),
                }
            },
        },
    )
    s = RouterSettings.fromConfig(config)
    assert s.realms == ("hubs", "admin")
    assert s.max_message_size == 65536 and s.call_timeout == 30.0
    assert s.overload_lag == 0.02
    assert s.anonymous_role == "" and s.droppable_topics == ("hubs.room.*",)
    assert s.principals == (
        Principal("ops", "admin", "admin", ticket="t", wampcra_secret=None),
        Principal("svc", "hubs", "svc", ticket=None, wampcra_secret="s"),
    )
    assert s.roles == (RoleRules("admin", "admin", ("*",), ("*",), ("wamp.*",), ()),)
    assert s.principals[0].name == "ops"
