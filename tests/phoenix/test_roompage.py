"""The room page: HEAD with an accurate Date (the Hubs client's clock), GET, 404 JSON."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet.threads import deferToThread

from hubsd.web.clientfiles import client_page
from tests.phoenix.pyclient import create_room


def fetch(url: str, method: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest_twisted.ensureDeferred
async def test_head_and_get_of_a_room_page(daemon: Any, tmp_path: Path) -> None:
    created = await create_room(daemon)
    url = f"http://127.0.0.1:{daemon.test_port}/{created['hub_sid']}/{created['slug']}"
    before = time.time()
    status, headers, body = await deferToThread(fetch, url, "HEAD")
    after = time.time()
    assert status == 200 and body == b""
    date = parsedate_to_datetime(headers["Date"]).timestamp()
    # Second resolution: the header's time is within the request's second.
    assert int(before) - 1 <= date <= after
    assert headers["Cache-Control"] == "no-cache"
    status, headers, body = await deferToThread(fetch, url, "GET")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    # The web client's page, which reads the room from its URL.
    assert body == client_page("hubsd")
    assert int(headers["Content-Length"]) == len(body)


@pytest_twisted.ensureDeferred
async def test_unknown_rooms_and_paths_are_404_json(daemon: Any) -> None:
    base = f"http://127.0.0.1:{daemon.test_port}"
    for path, code in (("/nosuchroom/slug", "no_such_room"), ("/nosuchroom", "no_such_room")):
        status, headers, body = await deferToThread(fetch, base + path, "GET")
        assert status == 404 and headers["Content-Type"].startswith("application/json")
        assert json.loads(body)["error"]["code"] == code
    created = await create_room(daemon)
    status, _, body = await deferToThread(fetch, f"{base}/{created['hub_sid']}/slug/extra", "GET")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    status, _, body = await deferToThread(fetch, base + "/health", "GET")
    assert status == 200 and json.loads(body) == {"status": "ready"}
