"""
``/healthz``, ``/readyz`` and ``/health`` over real HTTP: before the daemon
has started, once it runs, after it stopped, and while its PostgreSQL
server is down (a private server this test stops and starts again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.web.resource import Resource
from twisted.web.server import Site

from hubsd.config import load_config
from hubsd.service import HubsdService
from hubsd.web.probes import LiveResource, ReadyResource
from tests.postgres import PgServer, create_database
from tests.rooms.wampclient import free_port
from tests.wamp.harness import timeout
from tests.web.restclient import Http, Reply, api_daemon, write_api_config


async def until_status(client: Http, path: str, status: int, seconds: float = 30) -> Reply:
    """Poll C{path} until it answers C{status} (generous: the machine may be loaded)."""
    waited = 0.0
    while True:
        reply = await client.request("GET", path)
        if reply.status == status or waited >= seconds:
            return reply
        await deferLater(reactor, 0.1, lambda: None)
        waited += 0.1


@pytest_twisted.ensureDeferred
async def test_ready_only_between_start_and_stop_live_all_along(tmp_path: Path) -> None:
    port = free_port()
    service = HubsdService(load_config(str(write_api_config(tmp_path / "s", port))), reactor)
    # The probes on a listener of their own, up before the daemon starts.
    probes = Resource()
    probes.putChild(b"healthz", LiveResource())
    probes.putChild(b"readyz", ReadyResource(service, 5))
    listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(Site(probes))
    own = Http(listening.getHost().port)
    try:
        before = await own.request("GET", "/readyz")
        assert before.status == 503 and before.error_code() == "not_ready"
        assert before.json()["state"] == "stopped"
        assert before.header("retry-after") == "5"
        assert (await own.request("GET", "/healthz")).json() == {"status": "live"}
        service.startService()
        await timeout(service.ready, 15)
        ready = await own.request("GET", "/readyz")
        assert ready.status == 200
        assert ready.json() == {
            "status": "ready",
            "state": "ready",
            "checks": {"listeners": "up", "storage": "up"},
        }
        daemon = Http(port)
        for path in ("/readyz", "/healthz", "/health"):
            assert (await daemon.request("GET", path)).status == 200, path
        assert (await daemon.request("GET", "/health")).json() == {"status": "ready"}
        await service.stopService()
        after = await own.request("GET", "/readyz")
        assert after.status == 503 and after.json()["state"] == "stopped"
        assert (await own.request("GET", "/healthz")).status == 200
    finally:
        if service.running:
            await service.stopService()
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_not_ready_while_postgres_is_down_and_the_api_says_503(
    private_pg_server: PgServer, tmp_path: Path
) -> None:
    dsn, drop = create_database(private_pg_server)
    storage = f"backend = postgres\ndsn = {dsn}\nretry_interval = 0.2s\nconnect_timeout = 2s"
    service: Any = await api_daemon(tmp_path, storage=storage, http="ready_timeout = 3s")
    client: Http = service.http
    try:
        assert (await client.request("GET", "/readyz")).status == 200
        created = await client.create(public=True)
        await deferToThread(private_pg_server.pg_ctl, "stop")
        down = await until_status(client, "/readyz", 503)
        assert down.status == 503 and down.error_code() == "not_ready"
        assert down.json()["checks"]["storage"].startswith("down")
        assert down.json()["checks"]["listeners"] == "up"
        assert "127.0.0.1" not in down.body.decode()  # no database address to the public
        refused = await client.request("POST", "/api/v1/hubs", {"hub": {"name": "x"}})
        assert (refused.status, refused.error_code()) == (503, "storage_unavailable")
        listed = await client.request("GET", "/api/v1/hubs?public")
        assert listed.status == 503
        assert (await client.request("GET", "/healthz")).status == 200
        await deferToThread(private_pg_server.pg_ctl, "start")
        up = await until_status(client, "/readyz", 200)
        assert up.status == 200, up.body
        got = await client.request("GET", f"/api/v1/hubs/{created['hub_id']}")
        assert got.status == 200
    finally:
        await service.stopService()
        drop()
