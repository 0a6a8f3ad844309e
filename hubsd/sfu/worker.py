"""
An SFU worker process: ``python -m hubsd.sfu.worker '<json settings>'``.

The daemon starts one or more of these (L{hubsd.sfu.supervisor}); each runs
a L{MediaPlane} on its own asyncio loop and core, and takes requests over
its stdin (L{hubsd.sfu.pipe} framing). It exits when stdin closes, so a
worker never outlives its daemon. Log lines go to stderr.

The loop is uvloop's (libuv) when uvloop is importable, the standard
library's otherwise; ``stats`` says which (C{event_loops}).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any

from hubsd.sfu import aiortc_hooks, gcpolicy, pipe
from hubsd.sfu.media import MediaError, MediaPlane

#: Seconds between full garbage collections, when handles went (L{gcpolicy}).
FULL_COLLECTION_INTERVAL = 30.0
#: Operations after which a full collection may find garbage: only closes.
#: Opening handles makes live objects, not garbage, and a full collection
#: then walks all of them for nothing: after a 25-speaker room's set-up that
#: one pause (about 0.2 s over 625 peer connections) was 1% of its packets,
#: shed as late (docs/benchmarks.md).
_CHURN = frozenset({"close"})


class Worker:
    def __init__(self, settings: dict[str, Any], out: asyncio.WriteTransport) -> None:
        self.out = out
        self.gc_meter = gcpolicy.PauseMeter()
        self.collector = gcpolicy.FullCollector(FULL_COLLECTION_INTERVAL)
        self.plane = MediaPlane(
            self.emit,
            ice_timeout=float(settings.get("ice_timeout", 15.0)),
            public=settings.get("public") or {},
        )
        self.done = asyncio.get_running_loop().create_future()
        #: Requests for one handle run one after another, in the order sent
        #: (an answer before the candidates that follow it).
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    def emit(self, message: dict[str, Any]) -> None:
        if message.get("event") == "closed":
            self.collector.changed()
        if not self.out.is_closing():
            self.out.write(pipe.encode(message))

    async def handle(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        op = message.get("op")
        args = message.get("args") or {}
        handle = args.get("handle") if isinstance(args, dict) else None
        if op in _CHURN:
            self.collector.changed()
        lock = None
        if isinstance(handle, str):
            lock, users = self._locks.setdefault(handle, (asyncio.Lock(), [0]))
            users[0] += 1
        try:
            if lock is None:
                result = await self.dispatch(op, args)
            else:
                async with lock:
                    result = await self.dispatch(op, args)
        except MediaError as e:
            self.emit({"id": request_id, "error": [e.name, str(e)]})
        except Exception as e:  # a bug here must not end the worker
            logging.exception("sfu worker: %s failed", op)
            self.emit({"id": request_id, "error": ["internal", f"{type(e).__name__}"]})
        else:
            self.emit({"id": request_id, "result": result})
        finally:
            if isinstance(handle, str) and lock is not None:
                users = self._locks[handle][1]
                users[0] -= 1
                if not users[0]:
                    del self._locks[handle]

    async def dispatch(self, op: object, args: dict[str, Any]) -> Any:
        p = self.plane
        if op == "publish":
            return await p.publish(args.get("handle"), args.get("sdp"), bool(args.get("muted")))
        if op == "subscribe":
            return await p.subscribe(
                args.get("handle"), args.get("publisher"), bool(args.get("blocked"))
            )
        if op == "answer":
            return await p.answer(args.get("handle"), args.get("sdp"))
        if op == "candidate":
            return await p.candidate(args.get("handle"), args.get("candidate"))
        if op == "close":
            return await p.close(args.get("handle"))
        if op == "mute":
            return p.mute(args.get("handle"), bool(args.get("muted")))
        if op == "block":
            return p.block(args.get("handle"), bool(args.get("blocked")))
        if op == "stats":
            # A list, so that the daemon's totals over workers keep one entry each.
            loop = [type(asyncio.get_running_loop()).__module__.split(".")[0]]
            return {**p.stats(), **self.gc_meter.stats(), "event_loops": loop}
        if op == "ping":
            return os.getpid()
        raise MediaError("bad_request", f"unknown operation {op!r}")


class _Input(asyncio.Protocol):
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.decoder = pipe.Decoder()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.decoder.feed(data)
        except pipe.FrameError as e:
            logging.error("sfu worker: %s", e)
            self.connection_lost(None)
            return
        for message in messages:
            asyncio.ensure_future(self.worker.handle(message))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.worker.done.done():
            self.worker.done.set_result(None)


async def main(settings: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    ports = settings.get("ports")
    aiortc_hooks.restrict_ice(
        loop, settings.get("addresses") or ["127.0.0.1"], tuple(ports) if ports else None
    )
    aiortc_hooks.set_consent_interval(float(settings.get("consent_interval", 5.0)))
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(1, "wb", buffering=0))
    worker = Worker(settings, out)
    gcpolicy.install(worker.gc_meter)

    def collect_later() -> None:
        worker.collector.tick()
        loop.call_later(FULL_COLLECTION_INTERVAL, collect_later)

    loop.call_later(FULL_COLLECTION_INTERVAL, collect_later)
    await loop.connect_read_pipe(lambda: _Input(worker), os.fdopen(0, "rb", buffering=0))
    worker.emit({"event": "ready", "pid": os.getpid()})
    await worker.done
    await worker.plane.close_all()


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutine`` to its end on uvloop if it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        # A worker is hundreds of sockets and timers: libuv runs their
        # callbacks without the standard loop's Python around each one.
        uvloop.run(coroutine)


if __name__ == "__main__":
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    profile = os.environ.get("HUBSD_SFU_PROFILE")
    if profile:
        # For benchmarks: the worker's cProfile statistics, written when it exits.
        import cProfile

        cProfile.run("run(main(json.loads(sys.argv[1])))", f"{profile}.{os.getpid()}")
    else:
        run(main(json.loads(sys.argv[1])))
