"""
``/healthz`` and ``/readyz``: liveness and readiness for orchestrators.

``/healthz`` answers 200 whenever the process serves HTTP at all (restart
it if this fails). ``/readyz`` answers 200 only when the daemon has started
every part, its web listener is up and the room store answers a query
within ``[http] ready_timeout``; otherwise 503 with what is not ready (send
it no traffic). ``/health`` (hubsd.web.health) stays as it was: the state
alone.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from hubsd.web.http import HttpError, serve_json, write_error, write_json

log = Logger()


class ProbeResource(Resource):
    """A GET-only JSON leaf: other methods get a JSON 405 (not Twisted's HTML)."""

    isLeaf = True

    def render(self, request: Request) -> Any:
        if request.method not in (b"GET", b"HEAD"):
            error = HttpError(405, "method_not_allowed", "only GET is allowed here")
            error.headers["Allow"] = "GET, HEAD"
            write_error(request, error)
            return NOT_DONE_YET
        return super().render(request)


class LiveResource(ProbeResource):
    """``GET /healthz``: ``{"status": "live"}``."""

    def render_GET(self, request: Request) -> int:
        write_json(request, 200, {"status": "live"})
        return NOT_DONE_YET


class NotReady(HttpError):
    """503 with the checks that failed."""

    def __init__(self, state: str, checks: dict[str, str]) -> None:
        failed = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "up") or state
        super().__init__(503, "not_ready", f"not ready ({failed})", {"Retry-After": "5"})
        self.state = state
        self.checks = checks

    def body(self) -> dict[str, Any]:
        out = super().body()
        out.update(status="not_ready", state=self.state, checks=self.checks)
        return out


class ReadyResource(ProbeResource):
    """``GET /readyz`` (see module docstring)."""

    def __init__(self, service: Any, timeout: float) -> None:
        super().__init__()
        self._service = service
        self._timeout = timeout

    def render_GET(self, request: Request) -> int:
        return serve_json(request, self._check)

    async def _check(self) -> dict[str, Any]:
        service = self._service
        state = service.state
        if state != "ready":
            raise NotReady(state, {})
        checks = {
            "listeners": "up" if "web" in service.ports else "down",
            "storage": await self._storage(),
        }
        if any(v != "up" for v in checks.values()):
            raise NotReady(state, checks)
        return {"status": "ready", "state": state, "checks": checks}

    async def _storage(self) -> str:
        try:
            d = self._service.store.list_public_rooms(limit=0)
            d.addTimeout(self._timeout, self._service.reactor)
            await d
        except Exception as e:
            # The probe is public: it names the kind of failure only; the
            # store's words (which may name database hosts) go to the log.
            log.debug("readiness: the room store did not answer: {e}", e=str(e))
            return f"down ({type(e).__name__})"
        return "up"
