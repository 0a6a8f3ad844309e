"""The registration meta events, as a real subscriber receives them."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import RegisterOptions
from twisted.internet.defer import Deferred

from tests.wamp.harness import Client, Harness, timeout

TOPICS = ("on_create", "on_register", "on_unregister", "on_delete")


class MetaLog:
    """Every registration meta event, in arrival order, as (name, args)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._waiter: tuple[int, Deferred[Any]] | None = None

    async def watch(self, client: Client) -> None:
        for name in TOPICS:
            await client.subscribe(
                lambda *args, name=name: self._add(name, args), "wamp.registration." + name
            )

    def _add(self, name: str, args: tuple[Any, ...]) -> None:
        self.events.append((name, args))
        if self._waiter is not None and len(self.events) >= self._waiter[0]:
            d, self._waiter = self._waiter[1], None
            d.callback(None)

    async def take(self, n: int) -> list[tuple[str, tuple[Any, ...]]]:
        """Wait for n more events than were taken so far and return them."""
        if len(self.events) < n:
            d: Deferred[Any] = Deferred()
            self._waiter = (n, d)
            await timeout(d)
        taken, self.events = self.events[:n], self.events[n:]
        return taken


@pytest_twisted.ensureDeferred
async def test_shared_registration_lifecycle_is_announced(harness: Harness) -> None:
    watcher = await harness.connect()
    log = MetaLog()
    await log.watch(watcher)
    first = await harness.connect("msgpack")
    second = await harness.connect("cbor")
    shared = RegisterOptions(invoke="roundrobin")

    reg1 = await first.register(lambda: 1, "com.meta.shared", options=shared)
    (create, register) = await log.take(2)
    assert create[0] == "on_create"
    session, details = create[1]
    assert session == first._session_id
    assert details["id"] == reg1.id
    assert details["uri"] == "com.meta.shared"
    assert (details["match"], details["invoke"]) == ("exact", "roundrobin")
    assert register == ("on_register", (first._session_id, reg1.id))

    # Joining an existing registration: no on_create.
    reg2 = await second.register(lambda: 2, "com.meta.shared", options=shared)
    assert reg2.id == reg1.id
    assert await log.take(1) == [("on_register", (second._session_id, reg1.id))]

    # One callee of two leaves: the registration lives on.
    await reg2.unregister()
    assert await log.take(1) == [("on_unregister", (second._session_id, reg1.id))]

    # The last callee disconnects: unregister and delete, in that order.
    first_id = first._session_id
    first.leave()
    assert await log.take(2) == [
        ("on_unregister", (first_id, reg1.id)),
        ("on_delete", (first_id, reg1.id)),
    ]
    assert await watcher.call("wamp.registration.lookup", "com.meta.shared") is None


@pytest_twisted.ensureDeferred
async def test_explicit_unregister_of_the_last_callee_deletes(harness: Harness) -> None:
    watcher = await harness.connect()
    log = MetaLog()
    await log.watch(watcher)
    callee = await harness.connect()
    reg = await callee.register(lambda: None, "com.meta.", options=RegisterOptions(match="prefix"))
    (create, _) = await log.take(2)
    assert create[1][1]["match"] == "prefix"
    await reg.unregister()
    assert await log.take(2) == [
        ("on_unregister", (callee._session_id, reg.id)),
        ("on_delete", (callee._session_id, reg.id)),
    ]
    assert callee.is_attached()


@pytest_twisted.ensureDeferred
async def test_refused_registration_announces_nothing(harness: Harness) -> None:
    watcher = await harness.connect()
    log = MetaLog()
    await log.watch(watcher)
    callee = await harness.connect()
    await callee.register(lambda: None, "com.meta.single")
    await log.take(2)
    other = await harness.connect()
    with pytest.raises(ApplicationError) as e:
        await other.register(lambda: None, "com.meta.single")
    assert e.value.error == "wamp.error.procedure_already_exists"
    # A marker registration proves the refused one produced no event meanwhile.
    await other.register(lambda: None, "com.meta.marker")
    (create, register) = await log.take(2)
    assert create[1][1]["uri"] == "com.meta.marker"
    assert register[1][0] == other._session_id
