"""
The room page, ``/<sid>/<slug>``: the URL a Hubs room is visited at.

``GET`` answers the web client's HTML for a room that exists (404 JSON for
one that does not). ``HEAD`` answers the same headers without a body: the
Hubs client estimates the server's clock from this response's ``Date``
header (it stamps networked-object ownership with it), so ``Date`` is set
when the answer is written, not when the request arrived.

The HTML comes from a callable given by L{hubsd.web.site} (the web
client's index.html once it is built; until then a page that says so), so
that this module knows nothing of how the client is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from email.utils import formatdate
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from hubsd.rooms.errors import NoSuchRoom
from hubsd.web.http import HttpError, write_error

log = Logger()

#: render(room description) -> the page's HTML.
RenderPage = Callable[[Mapping[str, Any]], bytes]

_SID = re.compile(rb"^[A-Za-z0-9_-]{1,32}$")


def placeholder_page(room: Mapping[str, Any]) -> bytes:
    """A small page for a room while the web client is not built."""
    from html import escape

    name = escape(str(room.get("name", "")))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{name} | hubsd</title></head><body>"
        f"<h1>{name}</h1><p>The hubsd web client is not built on this server yet. "
        "Clients that speak Phoenix channels can join this room at /socket.</p>"
        "</body></html>"
    ).encode()


class RoomPage(Resource):
    """``/<sid>`` and ``/<sid>/<slug>`` of one room sid (the slug is not checked,
    as in reticulum: a renamed room keeps its old links)."""

    isLeaf = True

    def __init__(self, directory: Any, sid: str, render: RenderPage, clock: Any) -> None:
        super().__init__()
        self._directory = directory
        self._sid = sid
        self._render = render
        self._clock = clock

    def render_GET(self, request: Request) -> Any:
        if len(request.postpath or ()) > 1:
            write_error(request, HttpError(404, "not_found", "no such page"))
            return NOT_DONE_YET
        ensureDeferred(self._answer(request))
        return NOT_DONE_YET

    render_HEAD = render_GET

    async def _answer(self, request: Request) -> None:
        try:
            room = await self._directory.describe(self._sid)
        except NoSuchRoom:
            write_error(request, HttpError(404, "no_such_room", f"no room {self._sid!r}"))
            return
        except Exception:
            log.failure("room page {sid} failed", sid=self._sid)
            write_error(request, HttpError(500, "internal", "internal server error"))
            return
        if getattr(request, "_disconnected", False) or request.finished:
            return
        body = self._render(room)
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        # The clock sample the client takes: now, not the request's arrival.
        request.setHeader(b"date", formatdate(self._clock.seconds(), usegmt=True).encode())
        if request.method != b"HEAD":
            request.write(body)
        request.finish()


class SiteRoot(Resource):
    """The site's root: named children first (``/ws``, ``/health``, ...), then
    any other first path segment that looks like a room sid is a room page."""

    def __init__(self, directory: Any, render: RenderPage, clock: Any) -> None:
        super().__init__()
        self._directory = directory
        self._render = render
        self._clock = clock

    def getChild(self, path: bytes, request: Request) -> Resource:
        if _SID.match(path):
            return RoomPage(self._directory, path.decode("ascii"), self._render, self._clock)
        return super().getChild(path, request)
