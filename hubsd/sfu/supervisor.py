"""
The daemon's side of the SFU workers: start them, talk to them, restart them.

Each worker is a child process (L{hubsd.sfu.worker}) spoken to over its
stdin and stdout (L{hubsd.sfu.pipe}). A room is placed on one worker (the
one with the fewest handles when the room's first publisher arrives) and all
its handles live there, since forwarding happens inside one process. A
worker that exits unexpectedly is started again after a short back-off; the
handles it held are reported closed (reason ``worker_restarted``) so that
the signalling layer tells their owners, who publish and subscribe again.
The WAMP router and the room core never wait on a worker except for the
reply to a media request.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

from hubsd.sfu import pipe
from hubsd.sfu.errors import SfuError

log = Logger(namespace="hubsd.sfu")

#: on_event(handle_id, event, reason): a worker's unasked news about a handle.
OnEvent = Callable[[str, str, str | None], None]

#: Seconds to wait for a worker's reply before failing the request.
REQUEST_TIMEOUT = 30.0


#: The only environment variables a worker inherits (least privilege: none of
#: the daemon's credentials or settings reach the media process).
WORKER_ENVIRONMENT = (
    "PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "HUBSD_SFU_PROFILE",
)


def _source_root() -> str:
    import hubsd

    return os.path.dirname(os.path.dirname(os.path.abspath(hubsd.__file__)))


class WorkerProcess(ProcessProtocol):
    """One worker child and the requests waiting for its replies."""

    def __init__(self, supervisor: Supervisor, index: int) -> None:
        self.supervisor = supervisor
        self.index = index
        self.pid: int | None = None
        self.alive = False
        self.ready: Deferred[None] = Deferred()
        self.ended: Deferred[None] = Deferred()
        self._decoder = pipe.Decoder()
        self._pending: dict[int, tuple[Deferred[Any], Any]] = {}
        self._next = 0
        self._stderr = b""

    def outReceived(self, data: bytes) -> None:
        try:
            messages = self._decoder.feed(data)
        except pipe.FrameError as e:
            log.error("sfu worker {index} sent garbage ({e}); stopping it", index=self.index, e=e)
            self.kill()
            return
        for message in messages:
            self._received(message)

    def _received(self, message: dict[str, Any]) -> None:
        if "id" in message:
            entry = self._pending.pop(message["id"], None)
            if entry is None:
                return
            d, timer = entry
            if timer.active():
                timer.cancel()
            error = message.get("error")
            if error:
                d.errback(SfuError(str(error[0]), str(error[1])))
            else:
                d.callback(message.get("result"))
        elif message.get("event") == "ready":
            self.alive = True
            if not self.ready.called:
                self.ready.callback(None)
        elif isinstance(message.get("handle"), str):
            self.supervisor.worker_event(self, message)

    def errReceived(self, data: bytes) -> None:
        self._stderr += data
        *lines, rest = self._stderr.split(b"\n")
        self._stderr = rest[-4096:]
        for line in lines:
            log.warn(
                "sfu worker {index}: {line}", index=self.index, line=line.decode(errors="replace")
            )

    def processEnded(self, reason: Any) -> None:
        self.alive = False
        pending, self._pending = self._pending, {}
        for d, timer in pending.values():
            if timer.active():
                timer.cancel()
            d.errback(SfuError("media_unavailable", "the media worker stopped"))
        if not self.ready.called:
            self.ready.errback(SfuError("media_unavailable", "the media worker did not start"))
            self.ready.addErrback(lambda _: None)
        self.ended.callback(None)
        self.supervisor.worker_ended(self, reason)

    def call(self, op: str, **args: Any) -> Deferred[Any]:
        """Ask the worker; fires with its result or fails with L{SfuError}."""
        if not self.alive or self.transport is None:
            return _failed(SfuError("media_unavailable", "no media worker is running"))
        self._next += 1
        request_id = self._next
        d: Deferred[Any] = Deferred()
        timer = self.supervisor.reactor.callLater(REQUEST_TIMEOUT, self._timed_out, request_id)
        self._pending[request_id] = (d, timer)
        self.transport.write(pipe.encode({"id": request_id, "op": op, "args": args}))
        return d

    def _timed_out(self, request_id: int) -> None:
        entry = self._pending.pop(request_id, None)
        if entry is not None:
            entry[0].errback(SfuError("media_unavailable", "the media worker did not answer"))

    def kill(self) -> None:
        if self.transport is not None and self.pid is not None:
            try:
                self.transport.signalProcess("KILL")
            except Exception:
                pass


def _cancel(result: Any, timer: Any) -> Any:
    if timer.active():
        timer.cancel()
    return result


def _failed(e: Exception) -> Deferred[Any]:
    d: Deferred[Any] = Deferred()
    d.errback(e)
    return d


class Supervisor:
    """Runs C{count} workers with C{settings} (see L{hubsd.sfu.worker})."""

    def __init__(
        self, reactor: Any, settings: dict[str, Any], count: int, on_event: OnEvent
    ) -> None:
        self.reactor = reactor
        self.settings = settings
        self.workers: list[WorkerProcess | None] = [None] * count
        self.on_event = on_event
        self.stopping = False
        self.restarts = 0
        #: handle id -> worker index; room -> worker index.
        self.handles: dict[str, int] = {}
        self.rooms: dict[str, int] = {}
        self._failures = [0] * count

    def _spawn(self, index: int) -> WorkerProcess:
        worker = WorkerProcess(self, index)
        env = {k: v for k, v in os.environ.items() if k in WORKER_ENVIRONMENT}
        root = _source_root()
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        args = [sys.executable, "-m", "hubsd.sfu.worker", json.dumps(self.settings)]
        process = self.reactor.spawnProcess(worker, sys.executable, args, env=env, path=root)
        worker.pid = process.pid
        self.workers[index] = worker
        return worker

    async def start(self) -> None:
        from twisted.internet.defer import gatherResults

        ready = [self._spawn(i).ready for i in range(len(self.workers))]
        await gatherResults(ready, consumeErrors=True)

    def stop(self) -> Deferred[Any]:
        from twisted.internet.defer import DeferredList

        self.stopping = True
        waits = []
        for worker in self.workers:
            if worker is None or worker.ended.called:
                continue
            waits.append(worker.ended)
            if worker.transport is not None:
                worker.transport.closeStdin()  # the worker closes its handles and exits
            # One that has not exited after 5 s is killed.
            timer = self.reactor.callLater(5, worker.kill)
            worker.ended.addCallback(_cancel, timer)
        return DeferredList(waits) if waits else succeed(None)

    def place(self, room: str) -> WorkerProcess:
        """The worker of C{room} (placing it on the least loaded live worker)."""
        index = self.rooms.get(room)
        worker = self.workers[index] if index is not None else None
        if worker is not None and worker.alive:
            return worker
        live = [w for w in self.workers if w is not None and w.alive]
        if not live:
            raise SfuError("media_unavailable", "no media worker is running")
        load = {w.index: 0 for w in live}
        for i in self.handles.values():
            if i in load:
                load[i] += 1
        chosen = min(live, key=lambda w: (load[w.index], w.index))
        self.rooms[room] = chosen.index
        return chosen

    def worker_of(self, handle_id: str) -> WorkerProcess:
        index = self.handles.get(handle_id)
        worker = self.workers[index] if index is not None else None
        if worker is None or not worker.alive:
            raise SfuError("no_such_handle", "no such handle")
        return worker

    def worker_event(self, worker: WorkerProcess, message: dict[str, Any]) -> None:
        handle = message["handle"]
        if self.handles.get(handle) != worker.index:
            return
        event = str(message.get("event"))
        if event == "closed":
            del self.handles[handle]
        self.on_event(handle, event, message.get("reason"))

    def worker_ended(self, worker: WorkerProcess, reason: Any) -> None:
        if self.workers[worker.index] is not worker:
            return
        lost = [h for h, i in self.handles.items() if i == worker.index]
        for h in lost:
            del self.handles[h]
        for room in [r for r, i in self.rooms.items() if i == worker.index]:
            del self.rooms[room]
        if self.stopping:
            return
        log.error(
            "sfu worker {index} (pid {pid}) exited; {n} handles lost; restarting it",
            index=worker.index,
            pid=worker.pid,
            n=len(lost),
        )
        for h in lost:
            self.on_event(h, "closed", "worker_restarted")
        self.restarts += 1
        self._failures[worker.index] += 1
        delay = min(0.5 * 2 ** min(self._failures[worker.index] - 1, 6), 30.0)
        self.reactor.callLater(delay, self._restart, worker.index)

    def _restart(self, index: int) -> None:
        if self.stopping:
            return
        worker = self._spawn(index)

        def up(_: Any) -> None:
            self._failures[index] = 0
            log.info("sfu worker {index} is back (pid {pid})", index=index, pid=worker.pid)

        worker.ready.addCallbacks(up, lambda _: None)
