"""An in-memory IFileStore for tests and demos."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from hubsd.files.errors import FileMissing
from hubsd.files.ids import check_file_id
from hubsd.interfaces import IFileStore


@implementer(IFileStore)
class MemoryFileStore:
    """Blobs in a dict; same errors as the real stores."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> MemoryFileStore:
        return cls()

    def start(self) -> Deferred[None]:
        return succeed(None)

    def stop(self) -> Deferred[None]:
        return succeed(None)

    def put(self, file_id: str, data: bytes) -> Deferred[None]:
        self._blobs[check_file_id(file_id)] = bytes(data)
        return succeed(None)

    def get(self, file_id: str) -> Deferred[bytes]:
        try:
            return succeed(self._blobs[check_file_id(file_id)])
        except KeyError:
            return fail(FileMissing(file_id))

    def delete(self, file_id: str) -> Deferred[None]:
        self._blobs.pop(check_file_id(file_id), None)
        return succeed(None)

    def exists(self, file_id: str) -> Deferred[bool]:
        return succeed(check_file_id(file_id) in self._blobs)
