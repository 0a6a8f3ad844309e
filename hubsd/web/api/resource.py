"""
What every resource under ``/api`` shares: JSON for every answer (unknown
paths and methods too), CORS for the allowed browser origins, and the
caller's credential from ``Authorization: Bearer``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from hubsd.rooms.owners import Credential
from hubsd.web.api.errors import answer
from hubsd.web.api.settings import HttpSettings
from hubsd.web.http import HttpError, bearer_token, serve_json, write_error

if TYPE_CHECKING:
    from hubsd.rooms.directory import RoomDirectory
    from hubsd.rooms.owners import RoomOwners
    from hubsd.rooms.tokens import Tokens
    from hubsd.web.addresslimit import AddressLimiter

_CORS_HEADERS = "authorization, content-type"
_CORS_MAX_AGE = "600"


@dataclass
class Api:
    """The parts the API's resources use, built once by L{hubsd.web.api.mount_api}."""

    settings: HttpSettings
    directory: RoomDirectory
    owners: RoomOwners
    tokens: Tokens
    create_limiter: AddressLimiter
    service: Any

    def credential(self, request: Request, required: bool) -> Credential:
        """
        Who the caller says it is: a bearer token with dots is an account token
        (a JWT, verified here: 401 if invalid), any other is taken for a room's
        creator token (checked by the room core against the room asked about).
        C{required}: 401 without one.
        """
        token = bearer_token(request)
        if token is None:
            if required:
                raise HttpError(
                    401,
                    "unauthorized",
                    "this needs Authorization: Bearer <creator token or account token>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return Credential()
        if "." in token:
            return Credential(account_id=self.tokens.verify_account(token))
        return Credential(creator_token=token)

    def hub_url(self, hub: dict[str, Any]) -> str:
        """The room's page: ``<public origin>/<sid>/<slug>``, as Hubs links it."""
        return f"{self.settings.public_origin}/{hub['hub_sid']}/{hub['slug']}"


class ApiResource(Resource):
    """
    A JSON resource: subclasses define ``render_<METHOD>`` returning
    L{ApiResource.json}; other methods get a JSON 405 with ``Allow``, and
    ``OPTIONS`` is the CORS preflight.
    """

    def __init__(self, api: Api) -> None:
        super().__init__()
        self.api = api

    def methods(self) -> list[str]:
        names = {n[len("render_") :] for n in dir(self) if n.startswith("render_")}
        if "GET" in names:
            names.add("HEAD")
        return sorted(n for n in names if n.isupper())

    def render(self, request: Request) -> Any:
        self._headers(request)
        if self.isLeaf and request.postpath:
            return NotFoundResource(self.api).render(request)  # /api/v1/meta/more
        method = (request.method or b"").decode("ascii", "replace")
        if method == "OPTIONS":
            request.setResponseCode(204)
            request.setHeader(b"allow", ", ".join(self.methods()).encode("ascii"))
            return b""
        if method not in self.methods():
            allow = ", ".join(self.methods())
            write_error(
                request,
                HttpError(
                    405, "method_not_allowed", f"{method} is not allowed here", {"Allow": allow}
                ),
            )
            return NOT_DONE_YET
        return super().render(request)

    def _headers(self, request: Request) -> None:
        """Headers of every API answer: no content sniffing, and CORS."""
        request.setHeader(b"x-content-type-options", b"nosniff")
        origin = request.getHeader("origin")
        request.setHeader(b"vary", b"Origin")
        if origin is None or origin.rstrip("/") not in self.api.settings.allowed_origins:
            return
        request.setHeader(b"access-control-allow-origin", origin.encode("latin-1"))
        request.setHeader(b"access-control-expose-headers", b"Location, Retry-After")
        if request.method == b"OPTIONS":
            methods = ", ".join(self.methods())
            request.setHeader(b"access-control-allow-methods", methods.encode("ascii"))
            request.setHeader(b"access-control-allow-headers", _CORS_HEADERS.encode("ascii"))
            request.setHeader(b"access-control-max-age", _CORS_MAX_AGE.encode("ascii"))

    def json(
        self, request: Request, handler: Callable[[], Awaitable[Any]], status: int = 200
    ) -> int:
        """Answer C{handler}'s value as JSON, room errors mapped (L{answer})."""
        return serve_json(request, lambda: answer(handler()), status)


class ApiNode(ApiResource):
    """A path segment that only holds children (``/api``, ``/api/v1``): JSON 404s
    for whatever it does not hold."""

    def getChild(self, path: bytes, request: Request) -> Resource:
        return NotFoundResource(self.api)

    def render(self, request: Request) -> Any:
        return NotFoundResource(self.api).render(request)


class NotFoundResource(ApiResource):
    """A JSON 404 for any path below it and any method."""

    isLeaf = True

    def render(self, request: Request) -> Any:
        self._headers(request)
        write_error(request, HttpError(404, "not_found", "no such API path"))
        return NOT_DONE_YET
