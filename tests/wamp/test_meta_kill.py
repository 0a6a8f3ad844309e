"""The session meta API's kill procedures, with real Autobahn clients."""

from __future__ import annotations

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from tests.wamp.harness import Harness, timeout


@pytest_twisted.ensureDeferred
async def test_kill_by_authid_kills_the_others_with_that_authid(harness: Harness) -> None:
    caller = await harness.connect()
    twins = [
        await harness.connect(authmethods=["ticket"], authid="alice", secret="secret-ticket"),
        await harness.connect(
            "msgpack", authmethods=["ticket"], authid="alice", secret="secret-ticket"
        ),
    ]
    bystander = await harness.connect(authmethods=["wampcra"], authid="bob", secret="bob-secret")
    killed = await caller.call(
        "wamp.session.kill_by_authid", "alice", reason="com.example.bye", message="see you"
    )
    assert killed == 2
    for twin in twins:
        details = await timeout(twin.left)
        assert details.reason == "com.example.bye"
        assert details.message == "see you"
    assert caller.is_attached() and bystander.is_attached()
    assert await caller.call("wamp.session.count") == 2


@pytest_twisted.ensureDeferred
async def test_kill_by_authrole_spares_the_caller_and_defaults_to_close_normal(
    harness: Harness,
) -> None:
    caller = await harness.connect()
    alice = await harness.connect(authmethods=["ticket"], authid="alice", secret="secret-ticket")
    bob = await harness.connect(authmethods=["wampcra"], authid="bob", secret="bob-secret")
    other = await harness.connect()
    assert await caller.call("wamp.session.kill_by_authrole", "user") == 2
    for victim in (alice, bob):
        details = await timeout(victim.left)
        assert details.reason == "wamp.close.normal"
        assert details.message is None
    # The caller has the authrole too, but is never among the killed.
    assert await caller.call("wamp.session.kill_by_authrole", "anonymous") == 1
    await timeout(other.left)
    assert caller.is_attached()
    assert await caller.call("wamp.session.list") == [caller._session_id]


@pytest_twisted.ensureDeferred
async def test_kill_by_authid_without_matches_kills_nobody(harness: Harness) -> None:
    caller = await harness.connect()
    assert await caller.call("wamp.session.kill_by_authid", "nobody") == 0


@pytest_twisted.ensureDeferred
async def test_kill_procedures_check_their_arguments(harness: Harness) -> None:
    caller = await harness.connect(authid="dup")
    victim = await harness.connect(authid="dup")
    cases = [
        (("wamp.session.kill_by_authid", "dup"), {"reason": "not a uri"}, "invalid_uri"),
        (("wamp.session.kill_by_authrole", "anonymous"), {"reason": 3}, "invalid_uri"),
        (("wamp.session.kill_by_authid", "dup"), {"message": 3}, "invalid_argument"),
        (("wamp.session.kill_by_authid",), {}, "invalid_argument"),
        (("wamp.session.kill_by_authrole", 7), {}, "invalid_argument"),
        (("wamp.session.kill", caller._session_id), {}, "no_such_session"),
    ]
    for args, kwargs, error in cases:
        with pytest.raises(ApplicationError) as e:
            await caller.call(*args, **kwargs)
        assert e.value.error == "wamp.error." + error, (args, kwargs)
    # Nothing was killed by a refused call.
    assert victim.is_attached()
    assert await caller.call("wamp.session.count") == 2


@pytest_twisted.ensureDeferred
async def test_kill_by_session_id_follows_the_spec_defaults(harness: Harness) -> None:
    caller = await harness.connect()
    victim = await harness.connect()
    await caller.call("wamp.session.kill", victim._session_id)
    details = await timeout(victim.left)
    assert details.reason == "wamp.close.normal"


@pytest_twisted.ensureDeferred
async def test_session_count_takes_the_authrole_filter_positionally(harness: Harness) -> None:
    caller = await harness.connect()
    await harness.connect(authmethods=["ticket"], authid="alice", secret="secret-ticket")
    assert await caller.call("wamp.session.count", ["user"]) == 1
    assert await caller.call("wamp.session.count", filter_authroles=["anonymous"]) == 1
    assert len(await caller.call("wamp.session.list", ["user", "anonymous"])) == 2
