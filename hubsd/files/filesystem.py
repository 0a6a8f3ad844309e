"""
The default IFileStore: one file per blob in a directory.

All disk work runs in Twisted's thread pool so the reactor never waits on
the disk. Writes go to a temporary name and are renamed into place, so a
reader never sees half a blob and a crash leaves no torn file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from hubsd.files.errors import FileMissing, FileStoreUnavailable
from hubsd.files.ids import check_file_id
from hubsd.interfaces import IFileStore


@implementer(IFileStore)
class FilesystemFileStore:
    """Blobs as files under ``root``, fanned out by the id's first two characters."""

    def __init__(self, root: str, reactor: Any) -> None:
        self.root = root
        self._reactor = reactor

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> FilesystemFileStore:
        return cls(os.path.join(context.state_dir, options["path"]), context.reactor)

    def _thread(self, f: Any, *args: Any) -> Deferred[Any]:
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def _path(self, file_id: str) -> str:
        file_id = check_file_id(file_id)
        return os.path.join(self.root, file_id[:2], file_id)

    def start(self) -> Deferred[None]:
        return self._thread(self._prepare)

    def _prepare(self) -> None:
        try:
            os.makedirs(self.root, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-")
            probe.close()
        except OSError as e:
            raise FileStoreUnavailable(
                f"file store directory {self.root} is not usable: {e.strerror}"
            ) from None

    def stop(self) -> Deferred[None]:
        return self._thread(lambda: None)

    def put(self, file_id: str, data: bytes) -> Deferred[None]:
        return self._thread(self._put, self._path(file_id), bytes(data))

    @staticmethod
    def _put(path: str, data: bytes) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def get(self, file_id: str) -> Deferred[bytes]:
        return self._thread(self._get, file_id, self._path(file_id))

    @staticmethod
    def _get(file_id: str, path: str) -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise FileMissing(file_id) from None

    def delete(self, file_id: str) -> Deferred[None]:
        return self._thread(self._delete, self._path(file_id))

    @staticmethod
    def _delete(path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def exists(self, file_id: str) -> Deferred[bool]:
        return self._thread(os.path.exists, self._path(file_id))
