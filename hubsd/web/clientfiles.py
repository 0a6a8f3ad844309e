"""
The web client's built files (hubsd/web/client/, made by web/build.mjs).

- ``/``: the client's page (``index.html``), ``Cache-Control: no-cache``,
  so a new build reaches browsers at once.
- ``/assets/<name>-<hash>.<ext>``: the bundle, named by its content hash,
  ``Cache-Control: public, max-age=31536000, immutable``; gzip-encoded
  when the browser accepts it (compressed once, on first use).

Nothing is fetched from elsewhere at run time. Room pages (``/<sid>/<slug>``)
serve the same page: `room_page_for` makes the room-page resource's ``render``.
"""

from __future__ import annotations

import gzip
import html
from collections.abc import Callable, Mapping
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from hubsd.web.http import HttpError, write_error

IMMUTABLE = b"public, max-age=31536000, immutable"
NO_CACHE = b"no-cache"

CONTENT_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".txt": b"text/plain; charset=utf-8",
    ".html": b"text/html; charset=utf-8",
    ".map": b"application/json",
}


def client_dir() -> Traversable:
    """Where the built client is (inside the installed package)."""
    return files("hubsd.web").joinpath("client")


@cache
def client_page(realm: str = "hubsd") -> bytes:
    """
    The client's HTML page (the same bytes for ``/`` and every room page),
    telling the client the WAMP realm of the room API (the first of
    ``[wamp] realms``) in a ``<meta name="hubsd-realm">``.
    """
    page = client_dir().joinpath("index.html").read_bytes()
    meta = '<meta name="hubsd-realm" content="%s">' % html.escape(realm, quote=True)
    return page.replace(b"<head>", b"<head>\n" + meta.encode("utf-8"), 1)


def room_page_for(realm: str) -> Callable[[Mapping[str, Any]], bytes]:
    """
    The ``render`` callable of the room-page resource (``/<sid>/<slug>``):
    every room gets the client's page, which reads the room from its URL.
    """

    def room_page(room: Mapping[str, Any]) -> bytes:
        return client_page(realm)

    return room_page


@cache
def _asset(name: str) -> tuple[bytes, bytes] | None:
    # Only plain names of built files: no paths, no dotfiles.
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    kind = CONTENT_TYPES.get("." + name.rsplit(".", 1)[-1]) if "." in name else None
    if kind is None:
        return None
    path = client_dir().joinpath("assets", name)
    if not path.is_file():
        return None
    return path.read_bytes(), kind


@cache
def _gzipped(name: str) -> bytes:
    found = _asset(name)
    assert found is not None
    # mtime=0: the same bytes every time, so caches and ETags agree.
    return gzip.compress(found[0], 9, mtime=0)


def _accepts_gzip(request: Request) -> bool:
    header = (request.getHeader("accept-encoding") or "").lower()
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False


def _send(request: Request, body: bytes, kind: bytes, cache_control: bytes) -> bytes:
    request.setHeader(b"content-type", kind)
    request.setHeader(b"cache-control", cache_control)
    request.setHeader(b"x-content-type-options", b"nosniff")
    request.setHeader(b"content-length", str(len(body)).encode("ascii"))
    return b"" if request.method == b"HEAD" else body


class ClientPage(Resource):
    """``/``: the client's page, never cached without revalidation."""

    isLeaf = True

    def __init__(self, realm: str) -> None:
        super().__init__()
        self._realm = realm

    def render_GET(self, request: Request) -> bytes | int:
        if request.postpath not in ([], [b""]):
            write_error(request, HttpError(404, "not_found", "no such page"))
            return NOT_DONE_YET
        return _send(request, client_page(self._realm), CONTENT_TYPES[".html"], NO_CACHE)

    render_HEAD = render_GET


class ClientAssets(Resource):
    """``/assets/<name>``: the hashed bundle files, cached for a year."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes | int:
        name = b"/".join(request.postpath or []).decode("utf-8", "replace")
        found = _asset(name)
        if found is None:
            write_error(request, HttpError(404, "not_found", f"no asset named {name!r}"))
            return NOT_DONE_YET
        body, kind = found
        request.setHeader(b"vary", b"accept-encoding")
        if _accepts_gzip(request):
            request.setHeader(b"content-encoding", b"gzip")
            body = _gzipped(name)
        return _send(request, body, kind, IMMUTABLE)

    render_HEAD = render_GET


def mount_client(root: Resource, realm: str) -> None:
    """Serve the client (for room API realm C{realm}) at ``/`` and its assets at ``/assets/``."""
    root.putChild(b"", ClientPage(realm))
    root.putChild(b"assets", ClientAssets())
