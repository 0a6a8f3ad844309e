"""Small async assertions shared by the storage tests."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

E = TypeVar("E", bound=BaseException)


async def failure_of(awaitable: Any, kind: type[E]) -> E:
    """Await C{awaitable}, which must fail with C{kind}; the exception."""
    try:
        result = await awaitable
    except kind as e:
        return e
    pytest.fail(f"expected {kind.__name__}, got result {result!r}")


#: A pinnable glTF document as Hubs sends one.
GLTF = {"nodes": [{"name": "duck", "extensions": {"HUBS_components": {"pinnable": {}}}}]}
