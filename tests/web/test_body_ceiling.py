"""
The listener's ceiling on request bodies (hubsd.web.bodylimit), over raw
loopback sockets: a body announced or sent larger than anything a path takes
is refused with a 413 at once and the connection closed, and the daemon goes
on serving.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet.threads import deferToThread

from tests.conftest import free_port
from tests.rooms.wampclient import start_daemon
from tests.web.restclient import Http, write_api_config

MiB = 1024 * 1024


@pytest_twisted.async_yield_fixture
async def small(tmp_path: Path) -> Any:
    """A daemon taking uploads of 1 MiB: its listener's ceiling is 2 MiB."""
    port = free_port()
    ini = write_api_config(tmp_path / "state", port)
    ini.write_text(ini.read_text().replace("[files]\n", "[files]\nmax_upload_size = 1MiB\n"))
    service = await start_daemon(ini)
    service.port = port  # type: ignore[attr-defined]
    service.http = Http(port)  # type: ignore[attr-defined]
    yield service
    await service.stopService()


def exchange(port: int, head: bytes, body_chunks: list[bytes]) -> bytes:
    """Send C{head}, then the chunks while the server reads; what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        try:
            for chunk in body_chunks:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed first: what we wanted
        answer = b""
        try:
            while data := s.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    return answer


def json_of(answer: bytes) -> Any:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Connection: close" in head
    return json.loads(body)


@pytest_twisted.ensureDeferred
async def test_an_announced_body_over_the_ceiling_is_refused_before_it_is_sent(
    small: Any,
) -> None:
    head = (
        b"POST /api/v1/hubs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: 10737418240\r\n\r\n"
    )
    answer = await deferToThread(exchange, small.port, head, [])
    assert b"100 Continue" not in answer
    error = json_of(answer)["error"]
    assert error["code"] == "too_large" and str(2 * MiB) in error["message"]
    assert (await small.http.request("GET", "/healthz")).status == 200


@pytest_twisted.ensureDeferred
async def test_a_chunked_body_is_cut_off_at_the_ceiling(small: Any) -> None:
    head = (
        b"POST /api/v1/hubs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 65536
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    answer = await deferToThread(exchange, small.port, head, [chunk] * 64)  # 4 MiB
    assert json_of(answer)["error"]["code"] == "too_large"
    assert len(await small.store.list_rooms()) == 0
    created = await small.http.create()
    assert created["hub_id"]


@pytest_twisted.ensureDeferred
async def test_bodies_under_the_ceiling_reach_the_path_and_its_own_limit(small: Any) -> None:
    # 1.5 MiB: under the listener's ceiling (2 MiB), over the API's 64 KiB.
    reply = await small.http.request(
        "POST",
        "/api/v1/hubs",
        data=b"x" * (3 * MiB // 2),
        headers={"content-type": "application/json"},
    )
    assert (reply.status, reply.error_code()) == (413, "too_large")
    assert "65536" in reply.json()["error"]["message"]
