"""A hubsd daemon in this process with a real file store, and an HTTP client for it."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import treq
from twisted.internet import reactor
from twisted.web.client import HTTPConnectionPool

from hubsd.service import HubsdService
from tests.rooms.wampclient import free_port, start_daemon, write_config

#: The start of a PNG file: enough for the upload endpoint's sniffing.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def png(size: int, marker: bytes = b"") -> bytes:
    """C{size} bytes that sniff as a PNG, with C{marker} repeated in them if given."""
    body = (marker * (size // max(1, len(marker)) + 1)) if marker else os.urandom(size)
    return (PNG + body)[:size]


def form(
    media: bytes | None,
    fields: dict[str, str] | None = None,
    content_type: str = "image/png",
    filename: str = "photo.png",
) -> tuple[bytes, str]:
    """A multipart/form-data body as browsers send it, and its Content-Type."""
    boundary = "----hubsd" + secrets.token_hex(8)
    out = []
    for name, value in (fields or {}).items():
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if media is not None:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="media"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + media
            + b"\r\n"
        )
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes
    #: The Content-Length (Twisted's client keeps it out of the headers).
    length: int | None = None

    def header(self, name: str) -> str | None:
        if name.lower() == "content-length":
            return None if self.length is None else str(self.length)
        values = self.headers.getRawHeaders(name)
        return None if values is None else values[0]

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Web:
    """The daemon and a client that speaks HTTP to it over loopback."""

    service: HubsdService
    port: int
    state_dir: Path
    pool: HTTPConnectionPool

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, data: Any = None
    ) -> Answer:
        response = await treq.request(
            method,
            self.base + path,
            headers={k: [v] for k, v in (headers or {}).items()},
            data=data,
            pool=self.pool,
            timeout=60,
        )
        body = await treq.content(response)
        length = response.length if isinstance(response.length, int) else None
        return Answer(response.code, response.headers, body, length)

    async def upload(
        self,
        media: bytes | None,
        with_token: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        fields = {"promotion_mode": "with_token"} if with_token else {}
        body, content_type = form(media, fields, **kwargs)
        return await self.request(
            "POST", "/api/v1/media", {"Content-Type": content_type, **(headers or {})}, body
        )

    async def raw(self, head: bytes) -> bytes:
        """Send C{head} as the whole request on a new connection; all that comes back."""
        import socket

        from twisted.internet.threads import deferToThread

        def exchange() -> bytes:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
                s.sendall(head)
                chunks = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks)

        result: bytes = await deferToThread(exchange)
        return result

    def stored_bytes(self) -> bytes:
        """Everything under the state directory, concatenated."""
        out = []
        for folder, _, files in os.walk(self.state_dir):
            for name in files:
                with open(os.path.join(folder, name), "rb") as f:
                    out.append(f.read())
        return b"".join(out)

    def blob_paths(self) -> list[str]:
        root = self.state_dir / "files"
        return sorted(
            os.path.join(folder, name)
            for folder, _, files in os.walk(root)
            for name in files
            if ".incoming" not in folder
        )

    def incoming(self) -> list[str]:
        return os.listdir(self.state_dir / "files" / ".incoming")


@asynccontextmanager
async def running(
    tmp_path: Path, storage: str = "backend = sqlite", files: str = ""
) -> AsyncIterator[Web]:
    port = free_port()
    state = tmp_path / "state"
    ini = write_config(
        state,
        port,
        storage,
        hubsd=f"public_origin = http://127.0.0.1:{port}",
        files=f"backend = filesystem\n{files}",
    )
    service = await start_daemon(ini)
    pool = HTTPConnectionPool(reactor, persistent=False)
    try:
        yield Web(service, port, state, pool)
    finally:
        await pool.closeCachedConnections()
        await service.stopService()


async def until(predicate: Any, seconds: float = 30.0) -> None:
    """Poll C{predicate} until it holds (AssertionError after C{seconds})."""
    from twisted.internet.task import deferLater

    waited = 0.0
    while not predicate():
        if waited > seconds:
            raise AssertionError(f"still not true after {seconds} s")
        await deferLater(reactor, 0.02, lambda: None)
        waited += 0.02
