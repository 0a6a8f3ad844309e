"""Fixtures of the accounts tests: a real SMTP server on loopback, and every log line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.logger import formatEvent, globalLogPublisher

from tests.accounts.smtpserver import SmtpServer, make_certificate, start_smtp


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain ESMTP server (no TLS, no AUTH) collecting messages."""
    server = start_smtp()
    yield server
    pytest_twisted.blockon(server.stop())


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Any, Path]:
    """Server TLS options for localhost, and the CA file that trusts them."""
    return make_certificate(tmp_path)


@pytest.fixture
def log_text() -> Iterator[list[str]]:
    """The text of every log event (with its failure) while the test runs."""
    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        text = formatEvent(event) or ""
        failure = event.get("log_failure")
        if failure is not None:
            text += "\n" + failure.getTraceback()
        lines.append(text + " " + repr(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A started room store of each implementation, on an empty database."""
    from tests.storage.conftest import make_backend

    backend = make_backend(request.param, request, tmp_path)
    yield backend.started()
    backend.stop_all()
