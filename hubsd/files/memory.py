"""An in-memory IFileStore for tests and demos (blobs are kept whole, in a dict)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from hubsd.files.errors import FileMissing
from hubsd.files.ids import check_file_id
from hubsd.interfaces import IBlobReader, IBlobWriter, IFileStore


@implementer(IFileStore)
class MemoryFileStore:
    """Blobs in a dict; same errors and visibility rules as the real stores."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> MemoryFileStore:
        return cls()

    def start(self) -> Deferred[None]:
        return succeed(None)

    def stop(self) -> Deferred[None]:
        return succeed(None)

    def create(self, file_id: str) -> MemoryBlobWriter:
        return MemoryBlobWriter(self, check_file_id(file_id))

    def open(self, file_id: str) -> Deferred[IBlobReader]:
        try:
            return succeed(MemoryBlobReader(self.blobs[check_file_id(file_id)]))
        except KeyError:
            return fail(FileMissing(file_id))

    def delete(self, file_id: str) -> Deferred[None]:
        self.blobs.pop(check_file_id(file_id), None)
        return succeed(None)

    def exists(self, file_id: str) -> Deferred[bool]:
        return succeed(check_file_id(file_id) in self.blobs)


@implementer(IBlobWriter)
class MemoryBlobWriter:
    pending = 0

    def __init__(self, store: MemoryFileStore, file_id: str) -> None:
        self._store = store
        self._file_id = file_id
        self._data: bytearray | None = bytearray()

    def write(self, data: bytes) -> Deferred[None]:
        if self._data is None:
            raise ValueError("this blob is closed")
        self._data += data
        return succeed(None)

    def flushed(self) -> Deferred[None]:
        return succeed(None)

    def commit(self) -> Deferred[None]:
        if self._data is None:
            raise ValueError("this blob is closed")
        self._store.blobs[self._file_id] = bytes(self._data)
        self._data = None
        return succeed(None)

    def abort(self) -> Deferred[None]:
        self._data = None
        return succeed(None)


@implementer(IBlobReader)
class MemoryBlobReader:
    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self.size = len(blob)

    def read(self, offset: int, length: int) -> Deferred[bytes]:
        return succeed(self._blob[offset : offset + length])

    def close(self) -> Deferred[None]:
        return succeed(None)
