"""
The running daemon against docs/openapi.yaml, with schemathesis (its CLI, in
a child process, while the daemon runs in this one): examples generated from
the document (valid and invalid), every answer checked against the
document's statuses, content types and schemas, and stateful runs that
follow the document's links (create a room, then read, change and close it).
Bounded: a fixed seed and a small number of examples per operation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest_twisted
import yaml
from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue

from tests.conftest import REPO
from tests.web.restclient import api_daemon

SPEC = REPO / "docs" / "openapi.yaml"
ST = Path(sys.executable).parent / "st"
EXAMPLES = 10


class CheckedNotFetched:
    """
    The media resolver's checks of a query, without its fetching: the JSON
    form of POST /api/v1/media answers what it would resolve and goes no
    further. A generated URL must never be looked up (no traffic beyond
    loopback); resolution itself is tested in tests/media.
    """

    def __init__(self, resolver: Any) -> None:
        self._resolver = resolver

    async def resolve(self, body: Any, address: str | None = None) -> dict[str, Any]:
        from hubsd.media.fetch import check_url
        from hubsd.media.resolver import parse_query

        query = parse_query(body, self._resolver.settings.max_url_length)
        return {"origin": check_url(query.url), "meta": {"expected_content_type": "text/html"}}


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    # Room creation is rate-limited per address; schemathesis creates many.
    service = await api_daemon(tmp_path, http="create_burst = 10000\ncreate_rate = 10000")
    service.media = CheckedNotFetched(service.media)
    yield service
    await service.stopService()


def test_the_document_is_openapi_3_1_and_names_every_mounted_api_path() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["openapi"] == "3.1.0"
    assert {
        "/api/v1/hubs",
        "/api/v1/hubs/{sid}",
        "/api/v1/media/search",
        "/api/v1/meta",
        "/healthz",
        "/readyz",
        "/health",
        "/api/v1/media",
        "/api/v1/media/{file_id}/promote",
        "/files/{name}",
    } <= set(spec["paths"])


@pytest_twisted.ensureDeferred
async def test_the_daemon_answers_as_docs_openapi_yaml_says(daemon: Any, tmp_path: Path) -> None:
    account = await daemon.store.create_account("fuzzer@example.org")
    # Every request carries this account's token: the rooms schemathesis
    # creates are the account's, so the linked reads, changes and closes
    # reach the room core's decisions rather than stopping at 401.
    token = daemon.rooms.tokens.issue_account(account.account_id)
    args = [
        "--config-file",
        str(Path(__file__).parent / "schemathesis.toml"),
        "run",
        str(SPEC),
        "--url",
        f"http://127.0.0.1:{daemon.port}",
        "--header",
        f"Authorization: Bearer {token}",
        # Every check (schemathesis' default; --checks all would override the
        # per-operation settings of schemathesis.toml), but:
        # DELETE closes a room rather than deleting it (as in Hubs): the room
        # stays readable, with entry_mode "deny", which this check takes for
        # a failure (it expects 404 after a DELETE).
        "--exclude-checks",
        "use_after_free",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "20261201",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        # The machine may be loaded: slow generation is not the daemon's fault.
        "--suppress-health-check",
        "too_slow",
        "--no-color",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS")}
    out, err, code = await getProcessOutputAndValue(
        str(ST), args, env=env, path=str(tmp_path), reactor=reactor
    )
    report = (out + err).decode("utf-8", "replace")
    assert code == 0, report
    assert "15 selected / 15 total" in report, report
    assert "Tested: 15" in report, report
