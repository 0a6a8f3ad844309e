"""
``POST /api/v1/media``: upload a file (multipart), or resolve a URL (JSON).

The two forms of Hubs' media endpoint, chosen by the body:

- ``multipart/form-data`` with a ``media`` file part (and optionally
  ``promotion_mode=with_token``): the file is streamed into the vault while
  it arrives (L{hubsd.web.upload}); the reply is ``{file_id, origin, meta:
  {access_token, promotion_token, expected_content_type}}``. With an
  ``Authorization: Bearer <account token>`` the account owns the file (its
  quota applies, and it may promote the file itself).
- ``application/json`` ``{media: {url, quality}}``: URL resolution, answered
  by the service's ``media`` helper (501 where the server has none).

``POST /api/v1/media/<file_id>/promote`` keeps an upload for good: with
``{"promotion_token": …}``, or with the owner's account token.
"""

from __future__ import annotations

from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

from hubsd.files.vault import FileVault, Refused
from hubsd.web.api import ApiTree
from hubsd.web.api.resource import Api, ApiNode, ApiResource, NotFoundResource
from hubsd.web.http import HttpError, client_address, read_json, serve_json
from hubsd.web.upload import MultipartReceiver, multipart_boundary

#: The path whose multipart bodies are uploads.
UPLOAD_PATH = b"/api/v1/media"
MAX_JSON_BYTES = 64 * 1024


def upload_receiver(service: Any) -> Any:
    """The site's C{upload_receiver}: a receiver for upload bodies, None for the rest."""

    def receiver(
        request: Request, method: bytes, path: bytes, length: int | None
    ) -> MultipartReceiver | None:
        if method != b"POST" or path.split(b"?", 1)[0] != UPLOAD_PATH:
            return None
        boundary = multipart_boundary(request)
        if boundary is None:
            return None
        vault: FileVault = service.vault
        error = None
        owner = None
        try:
            owner = account_of(service, request)
        except HttpError as e:
            error = e
        limit = vault.settings.max_upload_size
        if error is None and length is not None and length > limit + 64 * 1024:
            error = HttpError(413, "too_large", f"the file is larger than {limit} bytes")
        return MultipartReceiver(vault, request, boundary, owner, error)

    return receiver


def account_of(service: Any, request: Request) -> int | None:
    """The account of a request's bearer token, None without one. @raise HttpError: 401."""
    from hubsd.web.accounts import account_id_from_request

    return account_id_from_request(request, service.accounts)


class MediaResource(ApiResource):
    """
    ``/api/v1/media`` (the API's CORS, JSON 404s and 405s) with the API's
    own children (``search``) kept, and ``<file_id>/promote`` below it.
    """

    def __init__(self, api: Api, service: Any) -> None:
        super().__init__(api)
        self._service = service

    def getChild(self, path: bytes, request: Request) -> Resource:
        if path == b"":
            return self
        return _FileNode(self.api, self._service, path)

    def render_POST(self, request: Request) -> int:
        upload: MultipartReceiver | None = getattr(request, "upload", None)
        if upload is not None:
            return serve_json(request, upload.result)
        return self.json(request, lambda: self._resolve(request))

    async def _resolve(self, request: Request) -> Any:
        if multipart_boundary(request) is not None:
            # Only bodies the upload request factory streamed are uploads.
            raise HttpError(500, "internal", "the upload was not streamed")
        body = read_json(request, MAX_JSON_BYTES)
        media = getattr(self._service, "media", None)
        if media is None:
            raise HttpError(501, "not_implemented", "this server does not resolve media URLs")
        return await media.resolve(body, client_address(request))


class _FileNode(ApiNode):
    """``/api/v1/media/<file_id>``: holds ``promote`` only."""

    def __init__(self, api: Api, service: Any, file_id: bytes) -> None:
        super().__init__(api)
        self._service = service
        self._file_id = file_id

    def getChild(self, path: bytes, request: Request) -> Resource:
        if path == b"promote":
            return _PromoteResource(self.api, self._service, self._file_id)
        return NotFoundResource(self.api)


class _PromoteResource(ApiResource):
    isLeaf = True

    def __init__(self, api: Api, service: Any, file_id: bytes) -> None:
        super().__init__(api)
        self._service = service
        self._file_id = file_id.decode("latin-1")

    def render_POST(self, request: Request) -> int:
        return self.json(request, lambda: self._promote(request))

    async def _promote(self, request: Request) -> Any:
        account = account_of(self._service, request)
        token = None
        if request.getHeader("content-type") is not None:
            body = read_json(request, MAX_JSON_BYTES)
            token = body.get("promotion_token") if isinstance(body, dict) else None
        if token is None and account is None:
            raise HttpError(401, "token_required", "give a promotion_token or an account token")
        try:
            meta = await self._service.vault.promote(self._file_id, token, account)
        except Refused as e:
            raise HttpError(e.status, e.code, e.message) from None
        return {"file_id": meta.file_id, "promoted": True}


def mount_media(tree: ApiTree, service: Any) -> None:
    """Put L{MediaResource} at ``/api/v1/media``, keeping the children the API put there."""
    media = MediaResource(tree.api, service)
    for name, child in tree.media.children.items():
        media.putChild(name, child)
    tree.v1.putChild(b"media", media)
    tree.meta.features["uploads"] = True
    tree.meta.limits["max_upload_size"] = service.vault.settings.max_upload_size
