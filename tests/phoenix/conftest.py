"""Daemons in this process for the Phoenix gateway's end-to-end tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted

from tests.rooms.test_wamp_rooms import daemon
from tests.rooms.wampclient import free_port, start_daemon, write_config

__all__ = ["daemon", "strict_daemon"]


@pytest_twisted.async_yield_fixture
async def strict_daemon(tmp_path: Path) -> Any:
    """A daemon with a short idle timeout and a small frame limit."""
    port = free_port()
    ini = write_config(tmp_path / "state", port, rooms="reconnect_grace = 10s")
    ini.write_text(ini.read_text() + "[phoenix]\nidle_timeout = 1s\nmax_frame_size = 4KiB\n")
    service = await start_daemon(ini)
    service.test_port = port  # type: ignore[attr-defined]
    yield service
    await service.stopService()
