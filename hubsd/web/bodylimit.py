"""
A ceiling on request bodies for the whole web listener.

Twisted reads a request's whole body before any resource sees it (in memory,
or in a temporary file above 100 KB), so a resource's own size check comes
too late to spare the disk. L{bounded_request} makes the Site's requests
refuse a body larger than the largest any path accepts as soon as that is
known: at once when ``Content-Length`` says so, or when a chunked body
passes the ceiling. The client gets a 413 JSON answer and the connection
closes; nothing of the body is kept. Each path still checks its own,
smaller limit (``[http] max_body_size`` for the API).
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from twisted.web.server import Request


def refusal(ceiling: int) -> bytes:
    """The raw 413 answer (the request is not parsed far enough for a Request's own)."""
    body = json.dumps(
        {
            "error": {
                "code": "too_large",
                "message": f"the request body is larger than {ceiling} bytes",
            }
        }
    ).encode("ascii")
    head = (
        "HTTP/1.1 413 Request Entity Too Large\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class BoundedRequest(Request):
    """A Request that keeps at most C{ceiling} bytes of body (see module docstring)."""

    ceiling = 2**62

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._body_bytes = 0
        self._refused = False

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.ceiling:
            # No "100 Continue" for a body that will not be read.
            self.requestHeaders.removeHeader(b"expect")
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(data)
        if self._body_bytes > self.ceiling:
            self._refuse()
            return
        super().handleContentChunk(data)

    def _refuse(self) -> None:
        self._refused = True
        old, self.content = getattr(self, "content", None), BytesIO()
        if old is not None:
            old.close()  # a temporary file is deleted on close
        transport = self.channel.transport
        if transport is not None:
            transport.write(refusal(self.ceiling))
        self.channel.loseConnection()


def bounded_request(ceiling: int) -> type[BoundedRequest]:
    """A Request class for a Site whose bodies may be at most C{ceiling} bytes."""
    return type("BoundedRequest", (BoundedRequest,), {"ceiling": ceiling})
