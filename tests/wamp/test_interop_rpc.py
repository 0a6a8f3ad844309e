"""Autobahn (Twisted) clients doing RPC through hubsd's router."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, CallResult, RegisterOptions
from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred

from tests.wamp.harness import Harness, timeout


@pytest.mark.parametrize("caller_ser", ["json", "msgpack", "cbor"])
@pytest.mark.parametrize("callee_ser", ["json", "msgpack", "cbor"])
@pytest_twisted.ensureDeferred
async def test_call_returns_callee_result_on_every_serializer(
    harness: Harness, caller_ser: str, callee_ser: str
) -> None:
    callee = await harness.connect(callee_ser)
    caller = await harness.connect(caller_ser)
    await callee.register(lambda a, b, k=None: CallResult(a + b, b"\x01", k=k), "com.add")
    result = await timeout(caller.call("com.add", 2, 3, k="v"))
    assert list(result.results) == [5, b"\x01"]
    assert result.kwresults == {"k": "v"}


@pytest_twisted.ensureDeferred
async def test_call_without_callee_fails_with_no_such_procedure(harness: Harness) -> None:
    caller = await harness.connect()
    with pytest.raises(ApplicationError) as e:
        await timeout(caller.call("com.nobody"))
    assert e.value.error == "wamp.error.no_such_procedure"


@pytest_twisted.ensureDeferred
async def test_callee_error_reaches_caller(harness: Harness) -> None:
    callee = await harness.connect("msgpack")
    caller = await harness.connect()

    def fail() -> None:
        raise ApplicationError("com.error.nope", "why")

    await callee.register(fail, "com.fail")
    with pytest.raises(ApplicationError) as e:
        await timeout(caller.call("com.fail"))
    assert e.value.error == "com.error.nope"
    assert e.value.args[0] == "why"


@pytest_twisted.ensureDeferred
async def test_second_single_registration_is_refused(harness: Harness) -> None:
    a = await harness.connect()
    b = await harness.connect()
    await a.register(lambda: 1, "com.once")
    with pytest.raises(ApplicationError) as e:
        await timeout(b.register(lambda: 2, "com.once"))
    assert e.value.error == "wamp.error.procedure_already_exists"


@pytest.mark.parametrize(
    "invoke, expected",
    [
        ("roundrobin", ["a", "b", "c", "a"]),
        ("first", ["a", "a", "a", "a"]),
        ("last", ["c", "c", "c", "c"]),
    ],
)
@pytest_twisted.ensureDeferred
async def test_shared_registration_invocation_policies(
    harness: Harness, invoke: str, expected: list[str]
) -> None:
    for name in "abc":
        callee = await harness.connect()
        await callee.register(
            lambda n=name: n, "com.shared", options=RegisterOptions(invoke=invoke)
        )
    caller = await harness.connect()
    got = [await timeout(caller.call("com.shared")) for _ in range(4)]
    assert got == expected


@pytest_twisted.ensureDeferred
async def test_random_shared_registration_reaches_a_callee(harness: Harness) -> None:
    for name in "ab":
        callee = await harness.connect()
        await callee.register(lambda n=name: n, "com.rnd", options=RegisterOptions(invoke="random"))
    caller = await harness.connect()
    assert await timeout(caller.call("com.rnd")) in ("a", "b")


@pytest_twisted.ensureDeferred
async def test_mismatched_invocation_policy_is_refused(harness: Harness) -> None:
    a = await harness.connect()
    b = await harness.connect()
    await a.register(lambda: 1, "com.p", options=RegisterOptions(invoke="roundrobin"))
    with pytest.raises(ApplicationError) as e:
        await timeout(b.register(lambda: 2, "com.p", options=RegisterOptions(invoke="first")))
    assert "different_invocation_policy" in e.value.error


@pytest_twisted.ensureDeferred
async def test_progressive_results_reach_caller(harness: Harness) -> None:
    callee = await harness.connect("cbor")
    caller = await harness.connect()

    def count(n: int, details: Any) -> int:
        for i in range(n):
            details.progress(i)
        return n

    await callee.register(count, "com.count", options=RegisterOptions(details_arg="details"))
    seen: list[int] = []
    result = await timeout(
        caller.call("com.count", 3, options=CallOptions(on_progress=seen.append))
    )
    assert seen == [0, 1, 2]
    assert result == 3


@pytest_twisted.ensureDeferred
async def test_pattern_registration_sees_procedure(harness: Harness) -> None:
    callee = await harness.connect()
    caller = await harness.connect("msgpack")
    await callee.register(
        lambda details: details.procedure,
        "com.pat.",
        options=RegisterOptions(match="prefix", details_arg="details"),
    )
    await callee.register(
        lambda details: "wild",
        "com..w",
        options=RegisterOptions(match="wildcard", details_arg="details"),
    )
    assert await timeout(caller.call("com.pat.one")) == "com.pat.one"
    assert await timeout(caller.call("com.x.w")) == "wild"


def _never(*a: Any, **kw: Any) -> Deferred[Any]:
    return Deferred()


@pytest_twisted.ensureDeferred
async def test_call_timeout_fails_the_call(harness: Harness) -> None:
    callee = await harness.connect()
    caller = await harness.connect()
    await callee.register(_never, "com.slow")
    with pytest.raises(ApplicationError) as e:
        await timeout(caller.call("com.slow", options=CallOptions(timeout=50)))
    assert e.value.error == "wamp.error.timeout"
    assert harness.router.realms["realm1"].dealer._invocations == {}


@pytest_twisted.ensureDeferred
async def test_canceled_call_interrupts_callee(harness: Harness) -> None:
    callee = await harness.connect()
    caller = await harness.connect()
    interrupted: Deferred[Any] = Deferred()
    invoked: Deferred[Any] = Deferred()

    def slow() -> Deferred[Any]:
        d: Deferred[Any] = Deferred(lambda _: interrupted.callback(True))
        invoked.callback(None)
        return d

    await callee.register(slow, "com.slow")
    call = caller.call("com.slow")
    await timeout(invoked)
    call.cancel()
    with pytest.raises((ApplicationError, CancelledError)):
        await timeout(call)
    assert await timeout(interrupted) is True


@pytest_twisted.ensureDeferred
async def test_callee_disconnect_fails_pending_call_with_canceled(harness: Harness) -> None:
    callee = await harness.connect("msgpack")
    caller = await harness.connect()
    invoked: Deferred[Any] = Deferred()

    def hang() -> Deferred[Any]:
        invoked.callback(None)
        return Deferred()

    await callee.register(hang, "com.hang")
    call = caller.call("com.hang")
    await timeout(invoked)
    callee._transport.close()
    with pytest.raises(ApplicationError) as e:
        await timeout(call)
    assert e.value.error == "wamp.error.canceled"


@pytest_twisted.ensureDeferred
async def test_caller_disconnect_interrupts_callee(harness: Harness) -> None:
    callee = await harness.connect()
    caller = await harness.connect()
    interrupted: Deferred[Any] = Deferred()
    invoked: Deferred[Any] = Deferred()

    def slow() -> Deferred[Any]:
        invoked.callback(None)
        return Deferred(lambda _: interrupted.callback(True))

    await callee.register(slow, "com.slow")
    caller.call("com.slow").addErrback(lambda f: None)
    await timeout(invoked)
    caller._transport.close()
    assert await timeout(interrupted) is True


@pytest_twisted.ensureDeferred
async def test_local_caller_disclosure_reaches_callee(harness: Harness) -> None:
    callee = await harness.connect()
    await callee.register(
        lambda details: [details.caller, details.caller_authid],
        "com.who",
        options=RegisterOptions(details_arg="details"),
    )
    local = harness.router.attach_local_session("realm1", "core", "trusted")
    result = await timeout(local.call("com.who", disclose_me=True))
    assert result == [local.session_id, "core"]


@pytest_twisted.ensureDeferred
async def test_registration_meta_procedures(harness: Harness) -> None:
    callee = await harness.connect()
    caller = await harness.connect()
    reg = await callee.register(lambda: None, "com.meta.proc")
    assert await caller.call("wamp.registration.lookup", "com.meta.proc") == reg.id
    assert await caller.call("wamp.registration.match", "com.meta.proc") == reg.id
    assert (await caller.call("wamp.registration.get", reg.id))["invoke"] == "single"
    assert await caller.call("wamp.registration.list_callees", reg.id) == [callee._session_id]
    assert await caller.call("wamp.registration.count_callees", reg.id) == 1
    assert reg.id in (await caller.call("wamp.registration.list"))["exact"]
    with pytest.raises(ApplicationError) as e:
        await caller.call("wamp.registration.get", 12345)
    assert e.value.error == "wamp.error.no_such_registration"


_ = reactor
