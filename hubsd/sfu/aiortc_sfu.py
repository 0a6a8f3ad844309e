"""
The ``aiortc`` SFU backend: media forwarded by worker processes.

L{AiortcSFU} is the daemon-side L{ISFU}: it starts ``[sfu] workers`` child
processes (L{hubsd.sfu.supervisor}), each running aiortc on its own asyncio
loop (L{hubsd.sfu.media}), and turns every ISFU call into a request to the
worker that holds the room. aiortc is never imported into the daemon.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred, succeed
from zope.interface import implementer

from hubsd.interfaces import ISFU
from hubsd.sfu.errors import SfuError
from hubsd.sfu.supervisor import OnEvent, Supervisor


def worker_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a worker is started with, from the backend's options."""
    addresses = list(options["bind_addresses"])
    announced = options["announced_address"]
    public = {a: announced[0] for a in addresses} if announced else {}
    return {
        "addresses": addresses,
        "ports": options["udp_ports"],
        "public": public,
        "ice_timeout": float(options["ice_timeout"]),
        "consent_interval": float(options["consent_interval"]),
    }


@implementer(ISFU)
class AiortcSFU:
    """See module docstring."""

    name = "aiortc"
    forwards_media = True

    def __init__(self, reactor: Any, settings: dict[str, Any], workers: int = 1) -> None:
        self._listener: OnEvent = lambda handle, event, reason: None
        self.supervisor = Supervisor(reactor, settings, workers, self._event)

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> AiortcSFU:
        return cls(context.reactor, worker_settings(options), int(options["workers"]))

    def _event(self, handle: str, event: str, reason: str | None) -> None:
        self._listener(handle, event, reason)

    def start(self) -> Deferred[None]:
        return ensureDeferred(self.supervisor.start())

    def stop(self) -> Deferred[None]:
        d: Deferred[Any] = self.supervisor.stop()
        return d.addCallback(lambda _: None)

    def set_listener(self, listener: OnEvent) -> None:
        self._listener = listener

    def _call(self, handle_id: str, op: str, **args: Any) -> Deferred[Any]:
        try:
            worker = self.supervisor.worker_of(handle_id)
        except SfuError as e:
            return _fail(e)
        return worker.call(op, handle=handle_id, **args)

    def publish(self, handle_id: str, placement: str, sdp: Any, muted: bool = False) -> Any:
        try:
            worker = self.supervisor.place(placement)
        except SfuError as e:
            return _fail(e)
        self.supervisor.handles[handle_id] = worker.index
        d = worker.call("publish", handle=handle_id, sdp=sdp, muted=muted)
        return d.addErrback(self._forget, handle_id)

    def subscribe(self, handle_id: str, publisher_id: str, blocked: bool = False) -> Any:
        try:
            worker = self.supervisor.worker_of(publisher_id)
        except SfuError:
            return _fail(SfuError("no_such_publisher", "that member does not publish"))
        self.supervisor.handles[handle_id] = worker.index
        d = worker.call("subscribe", handle=handle_id, publisher=publisher_id, blocked=blocked)
        return d.addErrback(self._forget, handle_id)

    def _forget(self, failure: Any, handle_id: str) -> Any:
        self.supervisor.handles.pop(handle_id, None)
        return failure

    def answer(self, handle_id: str, sdp: Any) -> Any:
        return self._call(handle_id, "answer", sdp=sdp)

    def add_candidate(self, handle_id: str, candidate: Any) -> Any:
        return self._call(handle_id, "candidate", candidate=candidate)

    def close(self, handle_id: str) -> Any:
        index = self.supervisor.handles.pop(handle_id, None)
        worker = self.supervisor.workers[index] if index is not None else None
        if worker is None or not worker.alive:
            return succeed(None)
        # A publisher's subscribers end with it on the worker.
        return worker.call("close", handle=handle_id).addErrback(lambda _: None)

    def set_muted(self, handle_id: str, muted: bool) -> Any:
        return self._call(handle_id, "mute", muted=muted)

    def set_blocked(self, handle_id: str, blocked: bool) -> Any:
        return self._call(handle_id, "block", blocked=blocked)

    async def _stats(self) -> dict[str, Any]:
        totals: dict[str, Any] = {}
        workers = [w for w in self.supervisor.workers if w is not None and w.alive]
        for w in workers:
            for key, value in (await w.call("stats")).items():
                totals[key] = totals[key] + value if key in totals else value
        totals["workers"] = len(workers)
        totals["restarts"] = self.supervisor.restarts
        return totals

    def stats(self) -> Any:
        return ensureDeferred(self._stats())


def _fail(e: Exception) -> Deferred[Any]:
    d: Deferred[Any] = Deferred()
    d.errback(e)
    return d
