"""Small async assertions shared by the storage tests."""

from __future__ import annotations

import inspect
import types
from typing import Any, TypeVar

import pytest
from zope.interface import directlyProvides
from zope.interface.verify import verifyObject

from hubsd.interfaces import IRoomStore

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


def provides_room_store(store: Any) -> bool:
    """
    C{verifyObject(IRoomStore, store)}, with the methods' own signatures:
    L{hubsd.storage.keys.keyed} wraps methods in C{(*args, **kwargs)}, which
    verifyObject alone would accept for any signature.
    """
    verifyObject(IRoomStore, store)
    unwrapped = types.SimpleNamespace()
    for name in IRoomStore.names(all=True):
        method = getattr(store, name)
        if callable(method):
            method = types.MethodType(inspect.unwrap(getattr(type(store), name)), store)
        setattr(unwrapped, name, method)
    directlyProvides(unwrapped, IRoomStore)
    return bool(verifyObject(IRoomStore, unwrapped))
