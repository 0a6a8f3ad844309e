"""``/health``: 200 when every part of the daemon is up, 503 while starting or stopping."""

from __future__ import annotations

import json
from collections.abc import Callable

from twisted.web.server import Request

from hubsd.web.probes import ProbeResource


class HealthResource(ProbeResource):
    """Reports the daemon's state as JSON: ``{"status": "ready"}``."""

    def __init__(self, state: Callable[[], str]) -> None:
        super().__init__()
        self._state = state

    def render_GET(self, request: Request) -> bytes:
        state = self._state()
        request.setResponseCode(200 if state == "ready" else 503)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps({"status": state}).encode("ascii")
