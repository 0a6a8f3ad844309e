"""
Fixtures of the file tests: C{blobs} runs a test on every IFileStore (and
tests/conftest.py's C{storage} on every SQL room store).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor

from hubsd.files.filesystem import FilesystemFileStore
from hubsd.files.memory import MemoryFileStore


@pytest.fixture(params=["filesystem", "memory"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    store: Any
    if request.param == "filesystem":
        store = FilesystemFileStore(str(tmp_path / "files"), reactor)
    else:
        store = MemoryFileStore()
    pytest_twisted.blockon(store.start())
    yield store
    pytest_twisted.blockon(store.stop())
