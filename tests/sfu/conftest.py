"""Fixtures of the SFU tests: an asyncio loop for the client peers, a daemon with the SFU."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from tests.conftest import free_port
from tests.sfu import peers
from tests.sfu.harness import start_daemon, write_config


@pytest.fixture(scope="session")
def loop() -> Iterator[peers.Loop]:
    lp = peers.Loop()
    yield lp
    lp.stop()


async def make_daemon(
    tmp_path: Path, sfu: str = "", rooms: str = "", backend: str = "aiortc"
) -> Any:
    port = free_port()
    ini = write_config(tmp_path / "state", port, sfu=sfu, rooms=rooms, backend=backend)
    service = await start_daemon(ini)
    service.test_port = port
    return service


@contextlib.asynccontextmanager
async def own_daemon(tmp_path: Path, **config: str) -> AsyncIterator[Any]:
    """A daemon with its own [sfu] (or [rooms]) lines, stopped at the end."""
    service = await make_daemon(tmp_path, **config)
    try:
        yield service
    finally:
        await service.stopService()


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    service = await make_daemon(tmp_path, sfu="ice_timeout = 5s\nmax_publishers = 3")
    yield service
    await service.stopService()
