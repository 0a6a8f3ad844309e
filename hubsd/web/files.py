"""
``GET|HEAD /files/<id>.<ext>?token=…``: uploaded files, decrypted as they are sent.

Only with the file's access token (``?token=`` or ``Authorization: Token
<t>``), before and after promotion alike. No token: 403. Unknown id, or a
wrong token: the same 404 after the same work (L{FileVault.open}). A path
that is not one id with an optional extension is a 404 before any lookup.

Answers carry ``Content-Type`` (as sniffed at upload), ``ETag`` (a strong
tag of the stored blob), ``Cache-Control: public, max-age=31536000,
immutable`` (the URL with its token never changes meaning), ``Accept-Ranges``,
``Date``, and ``X-Content-Type-Options: nosniff`` with a sandboxing CSP.
``If-None-Match`` gives 304; ``Range`` one span (206 with Content-Range) or
several (206 ``multipart/byteranges``), 416 when none fits; ``If-Range``
with another tag sends the whole file.

The body is produced by L{PlaintextProducer}, a push producer: it decrypts a
few chunks at a time and stops while the client's socket is full, so memory
stays flat whatever the file's size.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.web.http import datetimeToString
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from hubsd.files.errors import FileDamaged
from hubsd.files.vault import FileVault, OpenFile, Refused
from hubsd.storage.errors import StorageUnavailable
from hubsd.web.http import HttpError, write_error
from hubsd.web.ranges import Unsatisfiable, etag_matches, parse_ranges

log = Logger()

_NAME = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.[a-z0-9]{1,8})?$"
)
CACHE_CONTROL = b"public, max-age=31536000, immutable"

#: One piece of a response body: literal bytes, or a span of the file.
Piece = bytes | tuple[int, int]


class FilesResource(Resource):
    """The ``/files`` tree (a leaf: it reads the rest of the path itself)."""

    isLeaf = True

    def __init__(self, vault: FileVault, clock: Any) -> None:
        super().__init__()
        self._vault = vault
        self._clock = clock

    def render_GET(self, request: Request) -> int:
        ensureDeferred(self._serve(request, head=False))
        return NOT_DONE_YET

    def render_HEAD(self, request: Request) -> int:
        ensureDeferred(self._serve(request, head=True))
        return NOT_DONE_YET

    def render(self, request: Request) -> Any:
        if request.method not in (b"GET", b"HEAD"):
            error = HttpError(
                405,
                "method_not_allowed",
                "files are read-only here",
                headers={"Allow": "GET, HEAD"},
            )
            write_error(request, error)
            return NOT_DONE_YET
        return super().render(request)

    async def _serve(self, request: Request, head: bool) -> None:
        try:
            try:
                await self._answer(request, head)
            except FileDamaged as e:
                log.error("cannot serve a stored file: {reason}", reason=str(e))
                raise HttpError(500, "file_damaged", "the stored file is damaged") from None
            except StorageUnavailable:
                raise HttpError(503, "unavailable", "storage is unavailable; try again") from None
        except HttpError as e:
            for name in (b"etag", b"content-range", b"accept-ranges", b"content-type"):
                request.responseHeaders.removeHeader(name)
            write_error(request, e)
        except Exception:
            log.failure("GET {path} failed", path=request.path)
            write_error(request, HttpError(500, "internal", "internal server error"))

    async def _answer(self, request: Request, head: bool) -> None:
        match = _NAME.match(b"/".join(request.postpath or []).decode("latin-1"))
        if match is None:
            raise HttpError(404, "not_found", "no such file, or not with this token")
        token = _token(request)
        if token is None:
            raise HttpError(403, "token_required", "this file needs its access token (?token=)")
        try:
            opened = await self._vault.open(match.group(1), token)
        except Refused as e:
            raise HttpError(e.status, e.code, e.message) from None
        try:
            pieces = self._head(request, opened)
            if pieces is None or head or request.method == b"HEAD":
                opened.close()
                request.finish()
                return
            first = next(p for p in pieces if isinstance(p, tuple))
            # The first part is decrypted before the status goes out, so that
            # a damaged file still gets a clean 500 rather than a cut body.
            ahead = await opened.pieces(*first)
        except BaseException:
            opened.close()
            raise
        PlaintextProducer(request, opened, pieces, ahead).start()

    def _head(self, request: Request, opened: OpenFile) -> list[Piece] | None:
        """Set status and headers; the body's pieces, or None for no body."""
        meta = opened.meta
        request.setHeader(b"date", datetimeToString(self._clock.seconds()))
        request.setHeader(b"etag", opened.etag.encode("ascii"))
        request.setHeader(b"cache-control", CACHE_CONTROL)
        request.setHeader(b"accept-ranges", b"bytes")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"content-security-policy", b"default-src 'none'; sandbox")
        if etag_matches(_header(request, "if-none-match"), opened.etag):
            request.setResponseCode(304)
            return None
        size = opened.size
        content_type = meta.content_type.encode("ascii")
        spans: list[tuple[int, int]] | None = None
        if_range = _header(request, "if-range")
        if if_range is None or if_range.strip() == opened.etag:
            try:
                spans = parse_ranges(_header(request, "range"), size)
            except Unsatisfiable:
                request.setResponseCode(416)
                request.setHeader(b"content-range", f"bytes */{size}".encode("ascii"))
                request.setHeader(b"content-length", b"0")
                return None
        if spans is None:
            request.setResponseCode(200)
            request.setHeader(b"content-type", content_type)
            request.setHeader(b"content-length", str(size).encode("ascii"))
            return [(0, size)] if size else None
        request.setResponseCode(206)
        if len(spans) == 1:
            start, end = spans[0]
            request.setHeader(b"content-type", content_type)
            request.setHeader(b"content-range", f"bytes {start}-{end - 1}/{size}".encode("ascii"))
            request.setHeader(b"content-length", str(end - start).encode("ascii"))
            return [spans[0]]
        boundary = secrets.token_hex(16).encode("ascii")
        pieces: list[Piece] = []
        for start, end in spans:
            pieces.append(
                b"\r\n--" + boundary + b"\r\ncontent-type: " + content_type + b"\r\n"
                b"content-range: bytes %d-%d/%d\r\n\r\n" % (start, end - 1, size)
            )
            pieces.append((start, end))
        pieces.append(b"\r\n--" + boundary + b"--\r\n")
        length = sum(len(p) if isinstance(p, bytes) else p[1] - p[0] for p in pieces)
        request.setHeader(b"content-type", b"multipart/byteranges; boundary=" + boundary)
        request.setHeader(b"content-length", str(length).encode("ascii"))
        return pieces


@implementer(IPushProducer)
class PlaintextProducer:
    """
    Writes C{pieces} to C{request}, decrypting spans a few chunks at a time;
    pauses while the transport is full. C{ahead}: the first span's first
    part, already read.
    """

    def __init__(
        self,
        request: Request,
        opened: OpenFile,
        pieces: Sequence[Piece],
        ahead: list[bytes] | None,
    ) -> None:
        self._request = request
        self._opened = opened
        self._pieces = list(pieces)
        self._index = 0
        self._position: int | None = None
        self._ahead = ahead
        self._paused = False
        self._stopped = False
        self._running = False

    def start(self) -> None:
        self._request.registerProducer(self, True)
        self._request.notifyFinish().addErrback(lambda _: self.stopProducing())
        self.resumeProducing()

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        if not self._running and not self._stopped:
            ensureDeferred(self._run())

    def stopProducing(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._opened.close()

    async def _run(self) -> None:
        self._running = True
        try:
            while not (self._paused or self._stopped):
                if self._index == len(self._pieces):
                    self._done()
                    return
                piece = self._pieces[self._index]
                if isinstance(piece, bytes):
                    self._request.write(piece)
                    self._index += 1
                    continue
                start, end = piece
                position = start if self._position is None else self._position
                if self._ahead is not None:
                    data, self._ahead = self._ahead, None
                else:
                    data = await self._opened.pieces(position, end)
                if self._stopped:
                    return
                for part in data:
                    self._request.write(part)
                    position += len(part)
                if position >= end:
                    self._index += 1
                    self._position = None
                else:
                    self._position = position
        except FileDamaged as e:
            log.error("a stored file broke while being sent: {reason}", reason=str(e))
            self.stopProducing()
            # The status is out already: cut the connection so that the
            # client sees a failed transfer, never wrong bytes.
            self._request.unregisterProducer()
            _abort(self._request)
        except Exception:
            log.failure("sending a file failed")
            self.stopProducing()
            _abort(self._request)
        finally:
            self._running = False

    def _done(self) -> None:
        self._stopped = True
        self._request.unregisterProducer()
        self._request.finish()
        self._opened.close()


def _abort(request: Request) -> None:
    transport: Any = request.channel.transport
    transport.abortConnection()


def _header(request: Request, name: str) -> str | None:
    value = request.getHeader(name)
    return None if value is None else str(value)


def _token(request: Request) -> str | None:
    given = (request.args or {}).get(b"token")
    if given and given[0]:
        return given[0].decode("utf-8", "replace")
    auth = _header(request, "authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "token" and value.strip():
            return value.strip()
    return None
