"""
``/api/v1/meta``: what this server is, what it offers and its limits.

The first keys are reticulum's (``version``, ``phx_host``, ``phx_port``,
``pool``: the Hubs client reads them); ``features`` says which optional
parts this daemon runs (each part that mounts itself adds its flag) and
``limits`` the configured sizes a client should stay within.
"""

from __future__ import annotations

from typing import Any

from twisted.web.server import Request

import hubsd
from hubsd.web.api.resource import Api, ApiResource


class MetaResource(ApiResource):
    """``GET /api/v1/meta``."""

    isLeaf = True

    def __init__(self, api: Api) -> None:
        super().__init__(api)
        service = api.service
        rooms = api.directory.settings
        #: Feature name -> on; parts mounted later add theirs (see hubsd.web.site).
        self.features: dict[str, bool] = {
            "room_api": True,
            "public_rooms": True,
            "anonymous_room_creation": rooms.allow_anonymous_create,
            "voice": bool(getattr(service.sfu, "forwards_media", False)),
        }
        self.limits: dict[str, int] = {
            "max_body_size": api.settings.max_body_size,
            "default_room_size": rooms.default_room_size,
            "max_room_size": rooms.max_room_size,
            "max_chat_length": rooms.max_chat_length,
            "max_profile_bytes": rooms.max_profile_bytes,
            "max_pinned": rooms.max_pinned,
            "page_size": api.settings.page_size,
            "max_upload_size": int(service.config.section("files")["max_upload_size"]),
            "max_message_size": int(service.config.section("wamp")["max_message_size"]),
        }

    def render_GET(self, request: Request) -> int:
        return self.json(request, self._meta)

    async def _meta(self) -> dict[str, Any]:
        host, port = self.api.settings.host_and_port()
        return {
            "version": hubsd.__version__,
            "phx_host": host,
            "phx_port": port,
            "pool": "hubsd",
            "features": dict(self.features),
            "limits": dict(self.limits),
        }
