"""
autobahn-js (the WAMP client the browser uses) against the real hubsd daemon.

One daemon is started for the module on a free port; each test runs a Node
scenario (tests/interop/*.js) with one serializer and compares the JSON it
prints with what the WAMP spec and hubsd's docs promise. The Node packages
come from ``npm ci --prefix tests/interop`` (``.ci/run`` does it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.harness import BASE_CONFIG, node_with, run_scenario, running_hubsd

HERE = Path(__file__).resolve().parent
SERIALIZERS = ["json", "msgpack", "cbor"]

CONFIG = (
    BASE_CONFIG
    + """\
[wamp]
realms = hubsd
anonymous_role = anonymous
[wamp.role:anonymous]
realm = hubsd
publish = *
subscribe = *
call = *
register = *
[wamp.principal:alice]
realm = hubsd
role = user
ticket = secret123
[wamp.principal:bob]
realm = hubsd
role = user
wampcra_secret = s3cr3t
[wamp.role:user]
realm = hubsd
publish = *
subscribe = *
call = *
register = *
"""
)


def _node() -> str:
    return node_with("autobahn", "the autobahn-js interop tests")


@pytest.fixture(scope="module")
def ws_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A hubsd daemon with the interop config; its WAMP websocket URL."""
    _node()
    with running_hubsd(tmp_path_factory.mktemp("interop"), CONFIG) as port:
        yield f"ws://127.0.0.1:{port}/ws"


def scenario(name: str, url: str, serializer: str) -> dict[str, Any]:
    """Run tests/interop/NAME.js and return the JSON object it printed."""
    return run_scenario(_node(), name, [url, serializer], timeout=60)


def event(topic: str, arg: str, publisher: str | None = None) -> dict[str, Any]:
    return {"topic": topic, "args": [arg], "kwargs": {}, "publisher": publisher, "retained": False}


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_publish_subscribe_options(ws_url: str, serializer: str) -> None:
    r = scenario("pubsub", ws_url, serializer)
    room = f"interop.test.{serializer}.room"

    def seen(arg: str, *who: str, publisher: str | None = None) -> dict[str, Any]:
        return {w: [event(room, arg, publisher)] if w in who else [] for w in "abc"}

    # exclude_me defaults to true: the publisher does not get its own event.
    assert r["exclude_me_default"] == seen("default", "b", "c")
    assert r["exclude_me_false"] == seen("include me", "a", "b", "c")
    assert r["exclude"] == seen("not b", "a", "c")
    assert r["eligible"] == seen("only b", "b")
    # exclude wins over eligible.
    assert r["eligible_and_exclude"] == seen("b and c but not c", "b")
    assert r["disclose_me"] == seen("who", "b", "c", publisher="a")
    assert r["payload_roundtrip"] is True
    assert r["acknowledge"] == {"id_is_integer": True, "delivered": ["acked"]}
    assert r["acknowledge_error"] == "wamp.error.invalid_uri"
    assert r["retained"] == {
        "with_get_retained": [{"args": ["second"], "kwargs": {"v": 2}, "retained": True}],
        "without_get_retained": [],
    }
    assert r["after_unsubscribe"] == []


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_remote_procedure_calls(ws_url: str, serializer: str) -> None:
    r = scenario("rpc", ws_url, serializer)
    assert r == {
        "call": {"result": 5},
        "call_args_kwargs": {"result": {"args": [2, "two"], "kwargs": {"echo": {"x": "y"}}}},
        "call_application_error": {
            "error": "com.example.oops",
            "args": ["bad input"],
            "kwargs": {"code": 7},
        },
        "call_callee_exception": "wamp.error.runtime_error",
        "no_such_procedure": "wamp.error.no_such_procedure",
        "duplicate_registration": "wamp.error.procedure_already_exists",
        "duplicate_registration_other_session": "wamp.error.procedure_already_exists",
        "progressive": {"progress": [1, 2, 3], "final": {"result": "done"}},
        "progressive_not_requested": {"result": "done"},
        "disclose_me": {"result": [True, "anonymous"]},
        "not_disclosed": {"result": [False, None]},
        "roundrobin": ["first", "second", "third", "first", "second", "third"],
        "policy_conflict": "wamp.error.procedure_exists_with_different_invocation_policy",
        # The third callee left: its share of the calls goes to the other two.
        "roundrobin_after_callee_left": ["first", "first", "second", "second"],
        "timeout": "wamp.error.timeout",
        "timeout_waited_ms_ok": True,
        "cancel_kill": "wamp.error.canceled",
        "after_cancel": {"result": 42},
    }


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_ticket_and_wampcra_authentication(ws_url: str, serializer: str) -> None:
    r = scenario("auth", ws_url, serializer)
    anonymous = r.pop("anonymous")
    refused = {"close": "closed"}
    assert r == {
        "ticket_ok": {
            "joined": {
                "authid": "alice",
                "authrole": "user",
                "authmethod": "ticket",
                "can_publish": True,
            }
        },
        "ticket_wrong": {**refused, "abort": "wamp.error.authentication_failed"},
        # A ticket for an authid that is no ticket principal may be a hubsd
        # session or account token: the room core checks it, and this one is not.
        "ticket_unknown_authid": {**refused, "abort": "wamp.error.authentication_failed"},
        "ticket_for_cra_principal": {**refused, "abort": "wamp.error.authentication_failed"},
        "wampcra_ok": {"joined": {"authid": "bob", "authrole": "user", "authmethod": "wampcra"}},
        "wampcra_wrong": {**refused, "abort": "wamp.error.authentication_failed"},
        # alice has no WAMP-CRA secret: the router picks her next offered method.
        "wampcra_then_ticket": {
            "joined": {"authid": "alice", "authrole": "user", "authmethod": "ticket"}
        },
        "no_such_realm": {**refused, "abort": "wamp.error.no_such_realm"},
    }
    assert anonymous["joined"]["authrole"] == "anonymous"
    assert anonymous["joined"]["authmethod"] == "anonymous"
    assert anonymous["joined"]["authid"].startswith("anonymous-")
