"""
A web site on loopback for the media resolver to fetch: pages, images,
redirects, and the bad things (loops, bombs, oversized and fake bodies).

It records every request it gets, so a test of a refused URL can show that
nothing reached it.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site


def png(width: int, height: int, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real PNG of that size (a gradient, so it compresses like a picture)."""
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, max(1, width // 32)):
        image.paste((x % 256, 100, 255 - x % 256), (x, 0, min(width, x + 4), height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims C{width} x C{height} (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


PAGE = """<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="  A page   with a picture ">
<meta property="og:description" content="Described &amp; shared.">
<meta property="og:image" content="{image}">
<link rel="icon" href="/favicon.png">
</head><body><p>Hello</p></body></html>
"""

ICON_PAGE = """<html><head><title>Only an icon</title>
<meta name="description" content="no picture here">
<link rel="icon" href="/favicon.png"></head><body></body></html>"""


@dataclass
class Origin:
    """The site and what it was asked for."""

    port: int = 0
    requests: list[str] = field(default_factory=list)
    hanging: list[Request] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    listening: IListeningPort | None = None
    host: str = "127.0.0.1"

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"


class _Site(Resource):
    isLeaf = True

    def __init__(self, origin: Origin) -> None:
        super().__init__()
        self.origin = origin
        self.image = png(800, 600)

    def render_GET(self, request: Request) -> Any:
        path = request.path.decode()
        self.origin.requests.append(path)
        args = {k.decode(): v[0].decode() for k, v in request.args.items()}
        handler = getattr(
            self, "page_" + path.strip("/").split("/")[0].replace(".", "_").replace("-", "_"), None
        )
        if handler is None:
            request.setResponseCode(404)
            return b"not here"
        return handler(request, path, args)

    def _send(self, request: Request, kind: str, body: bytes) -> bytes:
        request.setHeader(b"content-type", kind.encode())
        return body

    def page_page_html(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        image = args.get("image", "/image.png")
        return self._send(request, "text/html; charset=utf-8", PAGE.format(image=image).encode())

    def page_icon_html(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "text/html", ICON_PAGE.encode())

    def page_long_html(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        # The tags first, then megabytes the resolver must not read.
        head = PAGE.format(image="/image.png").encode()
        return self._send(request, "text/html", head + b"<p>filler</p>" * 400_000)

    def page_image_png(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "image/png", self.image)

    def page_favicon_png(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "image/png", png(64, 64, (10, 200, 10)))

    def page_huge_png(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "image/png", png(3000, 3000))

    def page_bomb_png(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "image/png", png_claiming(100_000, 100_000))

    def page_fake_png(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "image/png", b"<html>this is no picture</html>" * 10)

    def page_truncated_png(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "image/png", self.image[: len(self.image) // 2])

    def page_big_png(self, request: Request, path: str, args: dict[str, str]) -> Any:
        """2 MiB; with ?chunked=1 without a Content-Length (streamed)."""
        request.setHeader(b"content-type", b"image/png")
        body = self.image + b"\0" * (2 * 1024 * 1024)
        if args.get("chunked"):
            for i in range(0, len(body), 65536):
                request.write(body[i : i + 65536])
            request.finish()
            return NOT_DONE_YET
        return body

    def page_video_mp4(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        return self._send(request, "video/mp4", b"\0" * (4 * 1024 * 1024))

    def page_gzip_html(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        request.setHeader(b"content-encoding", b"gzip")
        return self._send(request, "text/html", gzip.compress(b"<html>" + b" " * 10_000_000))

    def page_redirect(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        request.setResponseCode(int(args.get("status", "302")))
        request.setHeader(b"location", args["to"].encode())
        return b""

    def page_loop(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        """/loop/a -> /loop/b -> /loop/a ..."""
        request.setResponseCode(302)
        request.setHeader(b"location", b"/loop/b" if path.endswith("/a") else b"/loop/a")
        return b""

    def page_chain(self, request: Request, path: str, args: dict[str, str]) -> bytes:
        """/chain/N redirects to /chain/N-1; /chain/0 is the image."""
        n = int(path.rsplit("/", 1)[1])
        if n == 0:
            return self.page_image_png(request, path, args)
        request.setResponseCode(301)
        request.setHeader(b"location", f"/chain/{n - 1}".encode())
        return b""

    def page_slow_png(self, request: Request, path: str, args: dict[str, str]) -> Any:
        """Headers and a first part of the body, then nothing."""
        request.setHeader(b"content-type", b"image/png")
        request.write(self.image[:1000])
        self.origin.hanging.append(request)
        request.notifyFinish().addErrback(lambda _: self.origin.dropped.append(path))
        return NOT_DONE_YET

    def page_hang(self, request: Request, path: str, args: dict[str, str]) -> Any:
        self.origin.hanging.append(request)
        return NOT_DONE_YET


def serve(reactor: Any, host: str = "127.0.0.1") -> Origin:
    origin = Origin(host=host)
    site = Site(_Site(origin))
    origin.listening = reactor.listenTCP(0, site, interface=host)
    origin.port = origin.listening.getHost().port
    return origin
