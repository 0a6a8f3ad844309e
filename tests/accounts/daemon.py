"""A hubsd daemon in this process with sign-in by e-mail through a test SMTP server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import treq

from hubsd.service import HubsdService
from tests.accounts.smtpserver import SmtpServer
from tests.conftest import free_port
from tests.rooms.wampclient import start_daemon, write_config
from tests.wamp.harness import timeout


def storage_for(request: pytest.FixtureRequest) -> str:
    """The [storage] keys of the parametrized backend (sqlite or postgres)."""
    if request.param == "sqlite":
        return "backend = sqlite"
    return f"backend = postgres\ndsn = {request.getfixturevalue('pg_dsn')}"


async def start(
    tmp_path: Path, storage: str, smtp_port: int | None, accounts: str = ""
) -> tuple[HubsdService, str]:
    """A ready daemon and its base URL; C{smtp_port} None: no SMTP server set."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mail = ""
    if smtp_port is not None:
        mail = (
            f"smtp_host = 127.0.0.1\nsmtp_port = {smtp_port}\nsmtp_security = none\n"
            "smtp_timeout = 10s\nsender = hubs@example.org\n"
        )
    ini = write_config(
        tmp_path / "state",
        port,
        storage,
        extra=f"[accounts]\n{mail}{accounts}\n",
        hubsd=f"public_origin = {url}",
    )
    return await start_daemon(ini), url


async def post_json(url: str, body: Any, **headers: str) -> tuple[int, Any, Any]:
    """POST C{body} as JSON; (status, decoded JSON body, headers)."""
    response = await timeout(
        treq.post(
            url,
            json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
        )
    )
    content = await timeout(treq.content(response))
    return response.code, json.loads(content), response.headers


async def get(url: str, **headers: str) -> tuple[int, bytes, Any]:
    response = await timeout(treq.get(url, headers=headers))
    return response.code, await timeout(treq.content(response)), response.headers


def link_args(smtp: SmtpServer, n: int = -1) -> tuple[str, dict[str, str]]:
    """The e-mailed link and its query arguments."""
    link = smtp.box.messages[n].link()
    query = parse_qs(urlsplit(link).query, keep_blank_values=True)
    return link, {k: v[0] for k, v in query.items()}
