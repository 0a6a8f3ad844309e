"""
The default IFileStore: one file per blob in a directory.

All disk work runs in Twisted's thread pool so the reactor never waits on
the disk. A blob is written to ``<root>/.incoming/`` under a temporary name,
synced, and renamed into ``<root>/<id[:2]>/<id>``: a reader never sees half
a blob, and a crash leaves at most a temporary file, removed at the next
start.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from typing import IO, Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from hubsd.files.errors import FileMissing, FileStoreUnavailable
from hubsd.files.ids import check_file_id
from hubsd.interfaces import IBlobReader, IBlobWriter, IFileStore
from hubsd.rooms.keys import sync_directory

_INCOMING = ".incoming"
#: preadv's "only from the page cache" flag (Linux 4.14 and newer), if this system has it.
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)


@implementer(IFileStore)
class FilesystemFileStore:
    """Blobs as files under ``root``, fanned out by the id's first two characters."""

    def __init__(self, root: str, reactor: Any) -> None:
        self.root = root
        self._reactor = reactor

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> FilesystemFileStore:
        return cls(os.path.join(context.state_dir, options["path"]), context.reactor)

    def _thread(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def _path(self, file_id: str) -> str:
        file_id = check_file_id(file_id)
        return os.path.join(self.root, file_id[:2], file_id)

    def start(self) -> Deferred[None]:
        return self._thread(self._prepare)

    def _prepare(self) -> None:
        incoming = os.path.join(self.root, _INCOMING)
        try:
            os.makedirs(incoming, mode=0o700, exist_ok=True)
            # Left by a crash in the middle of an upload: never visible, never needed.
            for name in os.listdir(incoming):
                os.unlink(os.path.join(incoming, name))
            probe = tempfile.NamedTemporaryFile(dir=incoming, prefix=".probe-")
            probe.close()
        except OSError as e:
            raise FileStoreUnavailable(
                f"file store directory {self.root} is not usable: {e.strerror}"
            ) from None

    def stop(self) -> Deferred[None]:
        return succeed(None)

    def create(self, file_id: str) -> FilesystemBlobWriter:
        return FilesystemBlobWriter(self, self._path(file_id))

    def open(self, file_id: str) -> Deferred[IBlobReader]:
        path = self._path(file_id)

        def opened() -> IBlobReader:
            try:
                f = open(path, "rb")  # noqa: SIM115 (closed by the reader)
            except FileNotFoundError:
                raise FileMissing(file_id) from None
            return FilesystemBlobReader(self, f, os.fstat(f.fileno()).st_size)

        return self._thread(opened)

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


@implementer(IBlobWriter)
class FilesystemBlobWriter:
    """Writes in the thread pool, one job after another (a chain of Deferreds)."""

    def __init__(self, store: FilesystemFileStore, path: str) -> None:
        self._store = store
        self._path = path
        self._file: IO[bytes] | None = None
        self._tmp: str | None = None
        self._tail: Deferred[Any] = succeed(None)
        self._failure: BaseException | None = None
        self._closed = False
        self.pending = 0

    def _then(self, job: Callable[[], Any]) -> Deferred[Any]:
        """Run C{job} in a thread after every job queued before it; its result."""
        done: Deferred[Any] = Deferred()

        def relay(result: object) -> None:
            done.callback(result)  # a Failure goes down done's errbacks
            # The chain itself never fails, so later jobs still run.

        self._tail.addCallback(lambda _: self._store._thread(job).addBoth(relay))
        return done

    def _open(self) -> IO[bytes]:
        if self._file is None:
            incoming = os.path.join(self._store.root, _INCOMING)
            fd, self._tmp = tempfile.mkstemp(dir=incoming, prefix="upload-")
            self._file = os.fdopen(fd, "wb")
        return self._file

    def write(self, data: bytes) -> Deferred[None]:
        if self._closed:
            raise ValueError("this blob is closed")
        self.pending += len(data)

        def job() -> None:
            try:
                if self._failure is None:
                    self._open().write(data)
            except OSError as e:
                self._failure = e
            finally:
                self.pending -= len(data)

        return self._then(job)

    def flushed(self) -> Deferred[None]:
        return self._then(lambda: None)

    def commit(self) -> Deferred[None]:
        self._closed = True

        def job() -> None:
            if self._failure is not None:
                self._discard()
                raise FileStoreUnavailable(f"cannot write a blob: {self._failure}")
            f = self._open()
            try:
                f.flush()
                os.fsync(f.fileno())
                f.close()
                os.makedirs(os.path.dirname(self._path), exist_ok=True)
                assert self._tmp is not None
                os.replace(self._tmp, self._path)
                sync_directory(os.path.dirname(self._path))
            except OSError as e:
                self._discard()
                raise FileStoreUnavailable(f"cannot write a blob: {e.strerror}") from None

        return self._then(job)

    def abort(self) -> Deferred[None]:
        self._closed = True
        return self._then(self._discard)

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = None


@implementer(IBlobReader)
class FilesystemBlobReader:
    """
    An open blob. A read that the page cache can answer is done at once
    (``preadv`` with ``RWF_NOWAIT``, which never waits for the disk); the
    rest of a read goes to the thread pool. Hot files then cost no thread
    hand-off per read, and a cold one never stalls the reactor.
    """

    def __init__(self, store: FilesystemFileStore, f: IO[bytes], size: int) -> None:
        self._store = store
        self._file = f
        self.size = size
        # Reused from read to read: a fresh megabyte per read (zeroed, then
        # faulted in page by page) was a third of the serving time.
        self._buffer = bytearray()

    def read(self, offset: int, length: int) -> Deferred[bytes]:
        fd = self._file.fileno()
        want = max(0, min(length, self.size - offset))
        got = 0
        if len(self._buffer) < want:
            self._buffer = bytearray(want)
        view = memoryview(self._buffer)[:want]
        if _NOWAIT is not None and want:
            try:
                got = os.preadv(fd, [view], offset, _NOWAIT)
            except BlockingIOError:
                got = 0
            except OSError:
                got = 0  # e.g. a file system without RWF_NOWAIT: the thread reads it all
        if got == want:
            return succeed(view)  # type: ignore[arg-type]
        head = bytes(view[:got])

        def rest() -> bytes:
            return head + os.pread(fd, want - got, offset + got)

        return self._store._thread(rest)

    def close(self) -> Deferred[None]:
        self._file.close()
        return succeed(None)
