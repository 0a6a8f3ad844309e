"""
Multipart uploads streamed into the file vault as their bytes arrive.

``twisted.web`` spools a request body bigger than 100 KB to a temporary
file before any resource sees it: an upload would sit on disk in the clear.
L{UploadRequest} (the site's request factory) asks the site's
``upload_receiver`` at the end of the headers whether the body is an upload;
if so, the body never goes to ``request.content``: each chunk is fed to a
L{MultipartReceiver}, which parses the form with python-multipart's
streaming parser and hands the ``media`` part to a vault L{Upload} (sealed
at once, written by the blob store). While the store lags more than
L{HIGH_WATER} bytes behind, the connection stops being read.

The resource then calls L{MultipartReceiver.result}. Every way an upload
can fail (too large, wrong type, a truncated or malformed form, a client
that goes away) aborts the vault upload, so nothing stays on disk.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from twisted.logger import Logger
from twisted.web.server import Request

from hubsd.files.errors import FileStoreUnavailable
from hubsd.files.vault import FileVault, Refused, Upload
from hubsd.storage.errors import StorageUnavailable
from hubsd.web.http import HttpError

log = Logger()

#: Sealed bytes queued for the disk above which the connection is paused.
HIGH_WATER = 1024 * 1024
#: Form fields besides the file, and their longest value.
MAX_FIELDS = 8
MAX_FIELD_BYTES = 1024
#: What a form may add around the file (boundaries, part headers, fields).
FORM_OVERHEAD = 64 * 1024

#: upload_receiver(request, method, path, length): a receiver for the body, or None.
ReceiverFactory = Callable[[Request, bytes, bytes, int | None], "MultipartReceiver | None"]


class UploadRequest(Request):
    """A Request whose upload bodies stream to a receiver instead of a spool file."""

    upload: MultipartReceiver | None = None

    def gotLength(self, length: int | None) -> None:
        site = getattr(self.channel, "site", None)
        factory: ReceiverFactory | None = getattr(site, "upload_receiver", None)
        if factory is not None:
            # The request line is only kept by the channel until the body is
            # in (Request.method and .uri are set after it): private
            # attributes of twisted.web.http.HTTPChannel, tested in
            # tests/files/test_upload_http.py.
            method = getattr(self.channel, "_command", b"")
            path = getattr(self.channel, "_path", b"")
            self.upload = factory(self, method, path, length)
        if self.upload is None:
            super().gotLength(length)
        else:
            self.content = io.BytesIO()

    def handleContentChunk(self, data: bytes) -> None:
        if self.upload is None:
            super().handleContentChunk(data)
        else:
            self.upload.feed(data)

    def connectionLost(self, reason: Any) -> None:
        if self.upload is not None:
            self.upload.abort()
        super().connectionLost(reason)


class MultipartReceiver:
    """Parses one multipart/form-data body into a vault upload (see module docstring)."""

    def __init__(
        self,
        vault: FileVault,
        request: Request,
        boundary: bytes,
        owner_account_id: int | None,
        error: HttpError | None = None,
    ) -> None:
        self._vault = vault
        self._request = request
        self._owner = owner_account_id
        self.error = error
        self.upload: Upload | None = None
        self.fields: dict[str, str] = {}
        self._received = 0
        self._limit = vault.settings.max_upload_size + FORM_OVERHEAD
        self._ended = False
        self._part_headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._current: str | None = None
        self._paused = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_end": self._end,
            },
        )

    # -- the body as it arrives -----------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.error is not None:
            return  # the rest of a refused body is read and dropped
        self._received += len(data)
        try:
            if self._received > self._limit:
                raise HttpError(
                    413,
                    "too_large",
                    f"the file is larger than {self._vault.settings.max_upload_size} bytes",
                )
            self._parser.write(data)
        except Refused as e:
            self._fail(HttpError(e.status, e.code, e.message))
        except HttpError as e:
            self._fail(e)
        except MultipartParseError as e:
            self._fail(HttpError(400, "bad_multipart", f"the form cannot be parsed: {e}"))
        else:
            self._backpressure()

    def _fail(self, error: HttpError) -> None:
        self.error = error
        self.abort()

    def _backpressure(self) -> None:
        upload = self.upload
        if upload is None or self._paused or upload.pending <= HIGH_WATER:
            return
        transport: Any = self._request.channel.transport
        self._paused = True
        transport.pauseProducing()

        def resume(_: object) -> None:
            self._paused = False
            transport.resumeProducing()  # a no-op once the connection is gone

        upload.flushed().addBoth(resume)

    def abort(self) -> None:
        """Drop the upload (a refused body, or a client that went away)."""
        if self.upload is not None:
            self.upload.abort()

    # -- the parser's callbacks -------------------------------------------------

    def _part_begin(self) -> None:
        self._part_headers = {}
        self._current = None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._part_headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part_headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == "media":
            if self.upload is not None:
                raise HttpError(400, "bad_multipart", "the form has more than one media part")
            self.upload = self._vault.begin(self._owner)
        elif len(self.fields) >= MAX_FIELDS:
            raise HttpError(400, "bad_multipart", f"the form has more than {MAX_FIELDS} fields")
        else:
            self.fields[name] = ""
        self._current = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current == "media":
            assert self.upload is not None
            self.upload.feed(data[start:end])
        elif self._current is not None:
            value = self.fields[self._current] + data[start:end].decode("utf-8", "replace")
            if len(value) > MAX_FIELD_BYTES:
                raise HttpError(400, "bad_multipart", f"form field {self._current!r} is too long")
            self.fields[self._current] = value

    def _end(self) -> None:
        self._ended = True

    # -- the answer -------------------------------------------------------------

    async def result(self) -> dict[str, Any]:
        """The upload's reply, once the whole body is in. @raise HttpError."""
        if self.error is not None:
            raise self.error
        if not self._ended:
            self.abort()
            raise HttpError(400, "bad_multipart", "the form is truncated (no closing boundary)")
        if self.upload is None:
            raise HttpError(400, "bad_multipart", "the form has no 'media' part")
        mode = self.fields.get("promotion_mode")
        if mode not in (None, "with_token"):
            self.abort()
            raise HttpError(400, "bad_multipart", "promotion_mode must be with_token (or absent)")
        try:
            return await self.upload.finish(mode == "with_token")
        except Refused as e:
            raise HttpError(e.status, e.code, e.message) from None
        except (StorageUnavailable, FileStoreUnavailable) as e:
            log.error("an upload could not be stored: {reason}", reason=str(e))
            raise HttpError(503, "unavailable", "storage is unavailable; try again") from None


def multipart_boundary(request: Request) -> bytes | None:
    """The boundary of a multipart/form-data request, or None for any other body."""
    kind, options = parse_options_header(request.getHeader(b"content-type") or b"")
    if kind != b"multipart/form-data":
        return None
    boundary = options.get(b"boundary")
    return boundary if boundary and len(boundary) <= 200 else None
