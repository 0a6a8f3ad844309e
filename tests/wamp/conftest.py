from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_twisted

from tests.wamp.harness import Harness


@pytest_twisted.async_yield_fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    yield h
    await h.close()
