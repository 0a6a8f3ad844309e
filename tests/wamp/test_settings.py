"""RouterSettings.fromConfig reshapes the daemon's typed config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
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


def test_defaults_are_what_the_daemon_runs(tmp_path: Path) -> None:
    from hubsd.config import load_config

    path = tmp_path / "hubsd.ini"
    path.write_text("")
    assert RouterSettings.fromConfig(load_config(str(path))) == RouterSettings()


def test_every_router_setting_has_its_default_in_the_schema() -> None:
    from hubsd.schema import WAMP as SCHEMA_WAMP

    keys = {o.key for o in SCHEMA_WAMP.options}
    settings = {f.name for f in fields(RouterSettings)} - {"principals", "roles"}
    assert settings <= keys, settings - keys


def test_defaults_agree_with_the_documented_ones() -> None:
    s = RouterSettings()
    assert s.realms == ("hubsd",)
    assert (s.open_handshake_timeout, s.auto_ping_interval, s.overload_lag) == (5.0, 10.0, 0.025)
    assert s.max_message_size == 1024 * 1024 and s.anonymous_role == "anonymous"


def test_from_config_keeps_each_value_type() -> None:
    s = RouterSettings.fromConfig(FakeConfig(dict(WAMP, droppable_topics=["a.*"]), {}))
    assert s.droppable_topics == ("a.*",) and isinstance(s.call_timeout, float)
    assert isinstance(s.max_message_size, int)
