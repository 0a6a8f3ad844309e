"""An in-process hubsd daemon for the HTTP API tests and a treq client for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers

from hubsd.service import HubsdService
from tests.rooms.wampclient import free_port, start_daemon, write_config
from tests.wamp.harness import timeout


def write_api_config(
    state_dir: Path,
    port: int,
    storage: str = "",
    http: str = "",
    rooms: str = "",
    origin: str = "https://rooms.example",
) -> Path:
    """write_config's daemon, with an ``[http]`` section and a public origin."""
    ini = write_config(state_dir, port, storage=storage, rooms=rooms)
    text = ini.read_text().replace("[hubsd]\n", f"[hubsd]\npublic_origin = {origin}\n", 1)
    ini.write_text(text + f"[http]\n{http}\n")
    return ini


@dataclass
class Reply:
    """A whole HTTP answer."""

    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    def json(self) -> Any:
        assert (self.header("content-type") or "").startswith("application/json"), self
        return json.loads(self.body)

    def error_code(self) -> str:
        """The code of a ``{"error": {"code", "message"}}`` answer (checking its shape)."""
        error = self.json()["error"]
        assert set(error) == {"code", "message"} and error["message"], error
        return str(error["code"])


class Http:
    """A treq client for one daemon, without persistent connections (so that
    stopping the daemon never waits on an idle keep-alive)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.client = HTTPClient(Agent(reactor, pool=pool))

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        data: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """C{body}: sent as JSON; C{data}: raw bytes (with the caller's content type)."""
        sent = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("content-type", "application/json")
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        response = await timeout(
            self.client.request(
                method,
                self.base + path,
                data=data,
                headers={k: [v] for k, v in sent.items()},
            ),
            30,
        )
        content = await timeout(response.content(), 30)
        return Reply(response.code, response.headers, content)

    async def create(self, token: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create a room (name "Test room" unless given); its create reply."""
        fields.setdefault("name", "Test room")
        reply = await self.request("POST", "/api/v1/hubs", {"hub": fields}, token=token)
        assert reply.status == 201, (reply.status, reply.body)
        created: dict[str, Any] = reply.json()
        return created


async def api_daemon(tmp_path: Path, storage: str = "", http: str = "", rooms: str = "") -> Any:
    """A started daemon with C{.http} (an L{Http} for it) and C{.port}."""
    port = free_port()
    ini = write_api_config(tmp_path / "state", port, storage=storage, http=http, rooms=rooms)
    service: HubsdService = await start_daemon(ini)
    service.port = port  # type: ignore[attr-defined]
    service.http = Http(port)  # type: ignore[attr-defined]
    return service


__all__ = ["Http", "Reply", "api_daemon", "write_api_config"]
