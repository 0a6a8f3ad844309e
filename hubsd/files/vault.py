"""
Uploaded files: stored encrypted, opened only with their token, promoted or swept.

L{FileVault} joins the blob store (L{hubsd.interfaces.IFileStore}), the file
metadata of the room store and the server's file secret. It is the one place
that knows the rules:

- an upload gets a fresh id, access token and (if asked) promotion token; the
  blob is sealed as it streams in (L{hubsd.files.sealing}); only hashes of
  the promotion token are kept, nothing of the access token;
- an upload is refused (413/415) above the size limit, above its owner's
  quota, or when its bytes are not of an allowed type, and leaves nothing;
- L{FileVault.open} does the same work whether or not the id exists and
  whether or not the token is right, and answers both with L{NotAvailable};
- L{FileVault.promote} is the one promotion check (pins and owners);
- L{FileVault.sweep} deletes uploads nobody promoted in time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from hubsd.files.errors import BadFileId, FileDamaged, FileMissing, WrongKey
from hubsd.files.ids import check_file_id
from hubsd.files.sealing import CHUNK_SIZE, HEADER_SIZE, Layout, Opener, Sealer
from hubsd.files.sniff import EXTENSIONS, SNIFF_BYTES, sniff
from hubsd.interfaces import IBlobReader, IBlobWriter
from hubsd.storage.errors import NotFound
from hubsd.storage.records import hash_token

log = Logger()

#: The header of a blob that does not exist: opened like a real one, so a
#: missing file costs the same as a wrong token.
_ABSENT = Sealer(b"\0" * 64, "absent", "00000000-0000-0000-0000-000000000000").header


class Refused(Exception):
    """A request the vault turns down: an HTTP status, a stable code, words for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class NotAvailable(Refused):
    """No such file, or not with that token (deliberately the same answer)."""

    def __init__(self) -> None:
        super().__init__(404, "not_found", "no such file, or not with this token")


@dataclass(frozen=True)
class FileSettings:
    """The [files] limits."""

    max_upload_size: int = 100 * 1024 * 1024
    unpromoted_ttl: float = 86400.0
    sweep_interval: float = 600.0
    account_quota: int = 1024 * 1024 * 1024
    allowed_types: tuple[str, ...] = tuple(EXTENSIONS)

    @classmethod
    def fromConfig(cls, config: Any) -> FileSettings:
        s = config.section("files")
        return cls(
            max_upload_size=s["max_upload_size"],
            unpromoted_ttl=s["unpromoted_ttl"],
            sweep_interval=s["sweep_interval"],
            account_quota=s["account_quota"],
            allowed_types=tuple(s["allowed_types"]),
        )


class Upload:
    """
    One upload being received: L{feed} it the file's bytes as they come, then
    L{finish} or L{abort}. Holds at most a chunk of plaintext and the first
    L{SNIFF_BYTES}; sealed bytes go to the blob writer at once.
    """

    def __init__(self, vault: FileVault, owner_account_id: int | None) -> None:
        self._vault = vault
        self.owner_account_id = owner_account_id
        self.file_id = str(uuid.uuid4())
        self.access_token = secrets.token_hex(16)
        self.size = 0
        self.content_type: str | None = None
        self._head = bytearray()
        self._sealer = Sealer(vault.secret, self.access_token, self.file_id)
        self._writer: IBlobWriter = vault.blobs.create(self.file_id)
        self._writer.write(self._sealer.header)
        self.closed = False

    @property
    def pending(self) -> int:
        """Sealed bytes not yet handed to storage (for backpressure)."""
        return int(self._writer.pending)

    def flushed(self) -> Deferred[None]:
        """Fires when what was fed so far is written."""
        return self._writer.flushed()

    def feed(self, data: bytes) -> None:
        """@raise Refused: 413 above the size limit, 415 for a type not allowed."""
        if self.closed:
            return
        self.size += len(data)
        limit = self._vault.settings.max_upload_size
        if self.size > limit:
            self.abort()
            raise Refused(413, "too_large", f"the file is larger than {limit} bytes")
        if self.content_type is None:
            self._head += data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._decide_type()
        sealed = self._sealer.push(data)
        if sealed:
            self._writer.write(sealed)

    def _decide_type(self) -> None:
        kind = sniff(bytes(self._head))
        allowed = self._vault.settings.allowed_types
        if kind is None or kind not in allowed:
            self.abort()
            raise Refused(
                415,
                "unsupported_media_type",
                "the file is not of an accepted type (" + ", ".join(allowed) + ")",
            )
        self.content_type = kind

    async def finish(self, with_promotion_token: bool) -> dict[str, Any]:
        """
        Store the file and its metadata; the reply of ``POST /api/v1/media``
        (Hubs' shape). @raise Refused: as L{feed}, 413 over the owner's quota.
        """
        if self.closed:
            raise ValueError("this upload is closed")
        if self.content_type is None:
            self._decide_type()
        vault = self._vault
        owner = self.owner_account_id
        try:
            if owner is not None:
                used = await vault.store.account_file_usage(owner)
                quota = vault.settings.account_quota
                if quota and used + self.size > quota:
                    raise Refused(
                        413, "over_quota", f"this account's files would exceed {quota} bytes"
                    )
                if self.closed:  # the client went away meanwhile
                    raise Refused(400, "aborted", "the upload was aborted")
            self._writer.write(self._sealer.finish())
            promotion = secrets.token_hex(16) if with_promotion_token else None
            assert self.content_type is not None
            # Metadata first, with its expiry: if the blob never lands, the
            # sweep still finds the record; a blob never exists without one.
            await vault.store.add_file(
                self.file_id,
                self.content_type,
                self.size,
                owner,
                vault.now() + timedelta(seconds=vault.settings.unpromoted_ttl),
                None if promotion is None else hash_token(promotion),
            )
            self.closed = True
            try:
                await self._writer.commit()
            except BaseException:
                await vault.store.delete_file(self.file_id)
                raise
        except BaseException:
            self.abort()
            raise
        return {
            "file_id": self.file_id,
            "origin": vault.origin_url(self.file_id, self.content_type),
            "meta": {
                "access_token": self.access_token,
                "promotion_token": promotion,
                "expected_content_type": self.content_type,
            },
        }

    def abort(self) -> None:
        """Drop the upload; nothing of it stays."""
        if not self.closed:
            self.closed = True
            self._writer.abort()


class OpenFile:
    """A file opened with its token: metadata, size, and decrypted parts."""

    def __init__(self, meta: Any, reader: IBlobReader, opener: Opener, layout: Layout) -> None:
        self.meta = meta
        self.size = layout.size
        self._reader = reader
        self._opener = opener
        self._layout = layout
        #: Stable for this blob, and telling nothing about its content.
        self.etag = '"' + hashlib.sha256(opener.fingerprint).hexdigest()[:32] + '"'

    async def read(self, start: int, end: int, most: int = 16 * CHUNK_SIZE) -> bytes:
        """
        Plaintext from C{start} up to C{end} (exclusive), or less: at most the
        chunks covering C{most} bytes. @raise FileDamaged: a chunk fails.
        """
        return b"".join(await self.pieces(start, end, most))

    async def pieces(self, start: int, end: int, most: int = 16 * CHUNK_SIZE) -> list[bytes]:
        """L{read}, as one piece per chunk (no joining copy: what a server writes out)."""
        layout = self._layout
        size = layout.chunk_size
        first = start // size
        last = min((min(end, start + most) - 1) // size, layout.chunks - 1)
        offset = layout.chunk_offset(first)
        sealed = memoryview(await self._reader.read(offset, layout.chunk_offset(last + 1) - offset))
        step = layout.sealed_chunk
        out = []
        for i in range(first, last + 1):
            piece = sealed[(i - first) * step : (i - first + 1) * step]
            plain = self._opener.open_chunk(i, piece, i == layout.chunks - 1)
            base = i * size
            if base < start or base + len(plain) > end:
                plain = plain[max(0, start - base) : max(0, end - base)]
            out.append(plain)
        return out

    def close(self) -> None:
        self._reader.close()


class FileVault:
    """See the module docstring."""

    def __init__(
        self,
        blobs: Any,
        store: Any,
        secret: bytes,
        settings: FileSettings,
        clock: Any,
        public_origin: str,
    ) -> None:
        self.blobs = blobs
        self.store = store
        self.secret = secret
        self.settings = settings
        #: The time source (IReactorTime); uploads expire by it and the sweep runs on it.
        self.clock = clock
        self.public_origin = public_origin.rstrip("/")
        self._loop: LoopingCall | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.seconds(), UTC)

    def origin_url(self, file_id: str, content_type: str) -> str:
        return f"{self.public_origin}/files/{file_id}.{EXTENSIONS.get(content_type, 'bin')}"

    def start(self) -> None:
        """Sweep now and every C{sweep_interval}."""
        self._loop = LoopingCall(self._sweep_logged)
        self._loop.clock = self.clock
        self._loop.start(self.settings.sweep_interval, now=True)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def _sweep_logged(self) -> Deferred[Any]:
        d = Deferred.fromCoroutine(self.sweep())
        return d.addErrback(lambda f: log.failure("sweeping expired uploads failed", f))

    # -- uploads --------------------------------------------------------------

    def begin(self, owner_account_id: int | None = None) -> Upload:
        return Upload(self, owner_account_id)

    # -- reading --------------------------------------------------------------

    async def open(self, file_id: str, token: object) -> OpenFile:
        """
        The file C{file_id}, decryptable with C{token}. @raise NotAvailable:
        unknown id or wrong token, after the same work either way.
        @raise FileDamaged: the blob is not what was stored.
        """
        try:
            check_file_id(file_id)
        except BadFileId:
            raise NotAvailable() from None  # no such id can exist: nothing to hide
        meta = reader = None
        try:
            meta = await self.store.get_file(file_id)
        except NotFound:
            pass
        try:
            reader = await self.blobs.open(file_id)
        except FileMissing:
            pass
        header = _ABSENT if reader is None else await reader.read(0, HEADER_SIZE)
        opener: Opener | None
        try:
            opener = Opener(self.secret, token if isinstance(token, str) else "", file_id, header)
        except WrongKey:
            opener = None
        except FileDamaged:
            if reader is not None:
                reader.close()
            raise
        if meta is None or reader is None or opener is None:
            if reader is not None:
                reader.close()
            raise NotAvailable()
        try:
            layout = opener.layout(reader.size)
            if layout.size != meta.size:
                raise FileDamaged(f"file {file_id}: {layout.size} bytes, {meta.size} recorded")
        except FileDamaged:
            reader.close()
            raise
        return OpenFile(meta, reader, opener, layout)

    # -- promotion and sweeping -----------------------------------------------

    async def promote(
        self, file_id: object, promotion_token: object = None, account_id: int | None = None
    ) -> Any:
        """
        Keep a file for good: with its promotion token, or by its owner.
        Promoting a promoted file with a right token is not an error.
        @raise Refused: 404 for no such file or neither proof right (the same).
        """
        refused = Refused(404, "not_found", "no such file, or not promotable with this token")
        try:
            meta = await self.store.get_file(check_file_id(file_id))  # type: ignore[arg-type]
        except (BadFileId, NotFound):
            hmac.compare_digest(hash_token(str(promotion_token)), "0" * 64)
            raise refused from None
        ok = False
        if isinstance(promotion_token, str):
            ok = hmac.compare_digest(
                hash_token(promotion_token), meta.promotion_token_hash or "-" * 64
            )
        if account_id is not None and meta.owner_account_id == account_id:
            ok = True
        if not ok:
            raise refused
        if meta.promoted:
            return meta
        promoted = await self.store.promote_file(meta.file_id)
        log.info("file {file_id} promoted", file_id=meta.file_id)
        return promoted

    async def sweep(self) -> int:
        """Delete the uploads whose time ran out unpromoted; how many."""
        expired = await self.store.list_expired_files(self.now())
        for meta in expired:
            # Blob first: a crash between the two leaves a record the next sweep finds.
            await self.blobs.delete(meta.file_id)
            try:
                await self.store.delete_file(meta.file_id)
            except NotFound:
                pass
        if expired:
            log.info("swept {count} unpromoted uploads", count=len(expired))
        return len(expired)
