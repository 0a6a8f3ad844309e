"""
Sign-in over HTTP: ``/api/v1/accounts/`` (docs/http-api.md, "Accounts").

- ``POST sign_in`` ``{email, topic?, origin?}``: e-mail a sign-in link;
  202 ``{topic}``.
- ``GET verify?auth_topic=&auth_token=&auth_origin=``: the e-mailed link's
  page. It only asks for a confirmation (mail scanners that open links must
  not use them up); its form posts back here.
- ``POST verify``: with the form, an HTML answer; with JSON ``{topic,
  token}``, 200 ``{credentials, account_id, is_admin}``.
- ``GET me`` with ``Authorization: Bearer <account token>``: who am I.

All of it is L{hubsd.accounts.signin.SignIn}, with the client's address for
the per-address limit; its errors become JSON errors (or HTML pages) here.
L{account_id_from_request} is what other endpoints use to learn who calls.
"""

from __future__ import annotations

import html
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger
from twisted.web.error import UnsupportedMethod
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from hubsd.accounts.errors import NotSignedIn, RateLimited, SignInError
from hubsd.accounts.signin import SignIn
from hubsd.web.http import (
    HttpError,
    bearer_token,
    client_address,
    read_json,
    serve_json,
    write_error,
)

log = Logger()

#: Sign-in bodies are a few short strings.
MAX_BODY = 4096

STATUS = {
    "invalid_request": 400,
    "not_signed_in": 401,
    "invalid_link": 403,
    "rate_limited": 429,
    "sign_in_unavailable": 503,
    "sign_in_timeout": 504,
}
_PAGE_HEADERS = {
    b"content-type": b"text/html; charset=utf-8",
    b"cache-control": b"no-store",
    b"referrer-policy": b"no-referrer",
    b"x-content-type-options": b"nosniff",
    b"content-security-policy": (
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        b"base-uri 'none'; frame-ancestors 'none'"
    ),
}


def http_error(e: SignInError) -> HttpError:
    """A sign-in error as the HTTP answer."""
    headers = {}
    if isinstance(e, RateLimited):
        headers["Retry-After"] = str(e.retry_after)
    if isinstance(e, NotSignedIn):
        headers["WWW-Authenticate"] = 'Bearer realm="hubsd"'
    return HttpError(STATUS.get(e.code, 400), e.code, e.message, headers)


def account_id_from_request(request: Request, sign_in: SignIn) -> int | None:
    """
    The account of the request's bearer account token: None without an
    C{Authorization} header; a 401 L{HttpError} for a malformed header or an
    invalid token. Checks the token only (see L{SignIn.account_of}).
    """
    token = bearer_token(request)
    if token is None:
        return None
    try:
        return sign_in.account_of(token)
    except NotSignedIn as e:
        raise http_error(e) from None


def _object(request: Request) -> dict[str, Any]:
    body = read_json(request, MAX_BODY)
    if not isinstance(body, dict):
        raise HttpError(400, "invalid_request", "the body must be a JSON object")
    return body


class _Endpoint(Resource):
    """One leaf of the accounts tree, over the node's L{SignIn}; a path
    below it is a JSON 404, a method it does not take a JSON 405."""

    isLeaf = True

    def __init__(self, sign_in: SignIn) -> None:
        super().__init__()
        self.sign_in = sign_in

    def render(self, request: Request) -> Any:
        if request.postpath and request.postpath != [b""]:
            write_error(request, HttpError(404, "not_found", "no such resource"))
            return NOT_DONE_YET
        try:
            return super().render(request)
        except UnsupportedMethod as e:
            methods: list[bytes] = list(e.allowedMethods)
            allowed = [m.decode("ascii") for m in methods if m != b"HEAD"]
            request.setHeader(b"allow", ", ".join(allowed).encode("ascii"))
            write_error(
                request, HttpError(405, "method_not_allowed", f"use {' or '.join(allowed)}")
            )
            return NOT_DONE_YET


class _SignInResource(_Endpoint):
    def render_POST(self, request: Request) -> int:
        async def handle() -> dict[str, Any]:
            body = _object(request)
            try:
                topic = await self.sign_in.request_link(
                    body.get("email"),
                    body.get("origin", ""),
                    body.get("topic"),
                    client_address(request),
                )
            except SignInError as e:
                raise http_error(e) from None
            return {"status": "sent", "topic": topic}

        return serve_json(request, handle, status=202)


class _MeResource(_Endpoint):
    def render_GET(self, request: Request) -> int:
        async def handle() -> dict[str, Any]:
            account_id = account_id_from_request(request, self.sign_in)
            if account_id is None:
                raise http_error(
                    NotSignedIn("sign in first: Authorization: Bearer <account token>")
                )
            try:
                return (await self.sign_in.account_record(account_id)).as_dict()
            except SignInError as e:
                raise http_error(e) from None

        return serve_json(request, handle)


def _arg(request: Request, name: bytes) -> str:
    values = (request.args or {}).get(name) or [b""]
    return values[0].decode("utf-8", "replace")


class _VerifyResource(_Endpoint):
    def render_GET(self, request: Request) -> bytes:
        topic, token = _arg(request, b"auth_topic"), _arg(request, b"auth_token")
        if not topic or not token:
            return self._page(
                request, 400, "This link is incomplete", "Copy the whole link from the e-mail."
            )
        form = (
            '<form method="post">'
            f'<input type="hidden" name="auth_topic" value="{html.escape(topic)}">'
            f'<input type="hidden" name="auth_token" value="{html.escape(token)}">'
            '<button type="submit">Sign in</button></form>'
            "<p>If you did not ask to sign in, close this page.</p>"
        )
        return self._page(
            request,
            200,
            f"Sign in to {self._site()}",
            "Someone asked to sign in with your e-mail address. If it was you, confirm:",
            form,
        )

    def render_POST(self, request: Request) -> int:
        kind = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
        if kind == "application/json":
            return self._verify_json(request)

        async def handle() -> None:
            try:
                verified = await self.sign_in.verify(
                    _arg(request, b"auth_topic"),
                    _arg(request, b"auth_token"),
                    client_address(request),
                )
            except SignInError as e:
                error = http_error(e)
                for name, value in error.headers.items():
                    request.setHeader(name, value)
                self._finish(request, self._page(request, error.status, "Not signed in", e.message))
            except Exception:
                log.failure("the sign-in page failed")
                self._finish(
                    request, self._page(request, 500, "Not signed in", "Something went wrong.")
                )
            else:
                text = (
                    "The page where you asked for this link is signed in now. "
                    "You can close this one."
                    if verified.told
                    else "But no page was waiting for this link any more: ask for a new "
                    "link on the page where you want to sign in, and keep that page open."
                )
                self._finish(request, self._page(request, 200, "You are signed in", text))

        ensureDeferred(handle())
        return NOT_DONE_YET

    def _verify_json(self, request: Request) -> int:
        async def handle() -> dict[str, Any]:
            body = _object(request)
            try:
                verified = await self.sign_in.verify(
                    body.get("topic"), body.get("token"), client_address(request)
                )
            except SignInError as e:
                raise http_error(e) from None
            return verified.as_dict()

        return serve_json(request, handle)

    def _site(self) -> str:
        return self.sign_in.site()

    @staticmethod
    def _finish(request: Request, page: bytes) -> None:
        if getattr(request, "_disconnected", False) or request.finished:
            return
        request.write(page)
        request.finish()

    @staticmethod
    def _page(request: Request, status: int, title: str, text: str, extra: str = "") -> bytes:
        request.setResponseCode(status)
        for name, value in _PAGE_HEADERS.items():
            request.setHeader(name, value)
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}"
            "button{font-size:1.2em;padding:.4em 1.2em}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{extra}</body></html>"
        )
        data = body.encode("utf-8")
        request.setHeader(b"content-length", str(len(data)).encode("ascii"))
        return data


class AccountsResource(Resource):
    """``/api/v1/accounts``: sign_in, verify and me."""

    def __init__(self, sign_in: SignIn) -> None:
        super().__init__()
        self.putChild(b"sign_in", _SignInResource(sign_in))
        self.putChild(b"verify", _VerifyResource(sign_in))
        self.putChild(b"me", _MeResource(sign_in))


def _branch(parent: Resource, name: bytes) -> Resource:
    """The child C{name} of C{parent}, a plain Resource made if missing."""
    child = parent.children.get(name)
    if child is None:
        child = Resource()
        parent.putChild(name, child)
    return child


def mount_accounts(root: Resource, sign_in: SignIn) -> None:
    """Put L{AccountsResource} at ``/api/v1/accounts`` (other ``/api/v1`` children stay)."""
    _branch(_branch(root, b"api"), b"v1").putChild(b"accounts", AccountsResource(sign_in))
