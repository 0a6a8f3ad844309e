"""
What every JSON endpoint of hubsd shares: errors, bodies, async handlers.

An endpoint raises L{HttpError} (or returns a JSON-able value) from an
``async`` function run by L{serve_json}; the client gets ``{"error":
{"code", "message"}}`` with the error's status, and an unexpected exception
becomes one logged failure and a 500 without a traceback. A client that
disconnects before the answer is ready is not written to.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger
from twisted.web.server import NOT_DONE_YET, Request

log = Logger()


class HttpError(Exception):
    """An answer other than success: HTTP status, a stable code, and words for people."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON answer: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}


def write_json(request: Request, status: int, body: Any) -> None:
    """Finish C{request} with C{body} as JSON (unless the client has gone)."""
    if getattr(request, "_disconnected", False) or request.finished:
        return
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"content-length", str(len(data)).encode("ascii"))
    if request.method != b"HEAD":
        request.write(data)
    request.finish()


def write_error(request: Request, error: HttpError) -> None:
    for name, value in error.headers.items():
        request.setHeader(name.encode("ascii"), value.encode("latin-1"))
    write_json(request, error.status, error.body())


def read_json(request: Request, max_bytes: int) -> Any:
    """The request body as JSON; 413 above C{max_bytes}, 415/400 when it is not JSON."""
    kind = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HttpError(415, "unsupported_media_type", "the body must be application/json")
    body = request.content.read(max_bytes + 1) if request.content is not None else b""
    if len(body) > max_bytes:
        raise HttpError(413, "too_large", f"the body is larger than {max_bytes} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise HttpError(400, "bad_json", f"the body is not valid JSON: {e}") from None


def bearer_token(request: Request) -> str | None:
    """The token of an C{Authorization: Bearer <token>} header, if any."""
    value = request.getHeader("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(401, "bad_authorization", "Authorization must be 'Bearer <token>'")
    return token.strip()


def client_address(request: Request) -> str:
    """The peer's IP address (hubsd does not trust forwarding headers)."""
    peer = request.getClientAddress()
    return str(getattr(peer, "host", "unknown"))


def serve_json(request: Request, handler: Callable[[], Awaitable[Any]], status: int = 200) -> int:
    """Run C{handler} and answer its value as JSON; use as ``return serve_json(...)``
    from a ``render_*`` method."""

    async def run() -> None:
        try:
            body = await handler()
        except HttpError as e:
            write_error(request, e)
        except Exception:
            log.failure("{method} {path} failed", method=request.method, path=request.path)
            write_error(request, HttpError(500, "internal", "internal server error"))
        else:
            write_json(request, status, body)

    ensureDeferred(run())
    return NOT_DONE_YET
