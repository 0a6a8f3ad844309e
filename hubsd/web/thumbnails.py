"""
``/thumbnails/<key>.jpg``: the thumbnails the media resolver made.

Held in memory for ``[media] thumbnail_ttl`` (the resolver's L{TtlCache});
the key is a hash of the JPEG, so a thumbnail never changes under its URL
and may be cached by browsers and CDNs until it expires here. An unknown,
expired or malformed key is a 404 JSON error.
"""

from __future__ import annotations

import re

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from hubsd.media.cache import TtlCache
from hubsd.web.http import HttpError, write_error

_NAME = re.compile(r"^([0-9a-f]{32})\.jpg$")


class ThumbnailResource(Resource):
    isLeaf = True

    def __init__(self, thumbnails: TtlCache[str, bytes]) -> None:
        super().__init__()
        self._thumbnails = thumbnails

    def render_GET(self, request: Request) -> bytes | int:
        path = request.postpath or []
        match = _NAME.match(path[0].decode("latin-1")) if len(path) == 1 else None
        key = match.group(1) if match else None
        data = self._thumbnails.get(key) if key else None
        age = self._thumbnails.age(key) if key else None
        if key is None or data is None or age is None:
            write_error(request, HttpError(404, "not_found", "no such thumbnail (or it expired)"))
            return NOT_DONE_YET  # write_error has finished the request
        etag = f'"{key}"'.encode("ascii")
        request.setHeader(b"etag", etag)
        remaining = max(0, int(self._thumbnails.ttl - age))
        request.setHeader(b"cache-control", f"public, max-age={remaining}".encode("ascii"))
        request.setHeader(b"x-content-type-options", b"nosniff")
        if request.getHeader("if-none-match") == etag.decode("ascii"):
            request.setResponseCode(304)
            return b""
        request.setHeader(b"content-type", b"image/jpeg")
        request.setHeader(b"content-length", str(len(data)).encode("ascii"))
        return data
