"""
``/api/v1/hubs``: create a room, read it, change it, close it, list public rooms.

The shapes are the Hubs client's and reticulum's (``{"hub": {...}}`` in;
``hub_id``, ``url``, ``creator_assignment_token``, ``embed_token`` out of a
create; ``{"hubs": [room]}`` out of a read or change). Who may do what is
decided by the room core (L{hubsd.rooms.directory}, L{hubsd.rooms.owners});
this module only maps requests to it and answers to JSON.
"""

from __future__ import annotations

from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

from hubsd.rooms.directory import Identity
from hubsd.rooms.errors import InvalidToken
from hubsd.web.api.listing import public_page, query_arg
from hubsd.web.api.resource import Api, ApiResource, NotFoundResource
from hubsd.web.http import HttpError, client_address, read_json

#: Hubs' and reticulum's names for room fields -> hubsd's.
_ALIASES = {"default_environment_gltf_bundle_url": "scene_url", "allow_promotion": "public"}


class HubsTokenError(HttpError):
    """
    A refused account token on room creation, in the shape the Hubs client
    looks for (``res.error === "invalid_token"``, then it retries anonymously):
    the one API answer whose ``error`` is a string.
    """

    def __init__(self, message: str) -> None:
        super().__init__(
            401, "invalid_token", message, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )

    def body(self) -> dict[str, Any]:
        return {"error": "invalid_token", "message": self.message}


def room_fields(body: object) -> dict[str, Any]:
    """The room fields of a ``{"hub": {...}}`` body, Hubs' names mapped to hubsd's."""
    if not isinstance(body, dict) or set(body) != {"hub"} or not isinstance(body["hub"], dict):
        raise HttpError(400, "bad_request", 'the body must be {"hub": {...room fields...}}')
    fields: dict[str, Any] = {}
    for name, value in body["hub"].items():
        if name == "scene_id":
            raise HttpError(
                422,
                "invalid_payload",
                "scene_id: hubsd keeps no scene listings; give scene_url (a glTF URL) instead",
            )
        target = _ALIASES.get(str(name), str(name))
        if value is None and target != "scene_url":
            # Only scene_url has a meaning for null (no scene of its own).
            raise HttpError(422, "invalid_payload", f"{name} must not be null")
        if target == "room_size" and isinstance(value, float) and value.is_integer():
            # JSON has one kind of number: 12.0 is the integer 12 (as JSON Schema says).
            value = int(value)
        if target in fields:
            raise HttpError(422, "invalid_payload", f"{target} is given twice ({name})")
        fields[target] = value
    return fields


class HubsResource(ApiResource):
    """``/api/v1/hubs``: POST creates a room, GET ``?public`` lists public ones."""

    def getChild(self, path: bytes, request: Request) -> Resource:
        if path == b"":
            return self
        if request.postpath:
            return NotFoundResource(self.api)  # /api/v1/hubs/<sid>/more
        return HubResource(self.api, path.decode("utf-8", "replace"))

    def render_POST(self, request: Request) -> int:
        return self.json(request, lambda: self._create(request), 201)

    async def _create(self, request: Request) -> dict[str, Any]:
        api = self.api
        api.create_limiter.check(client_address(request))
        try:
            credential = api.credential(request, required=False)
        except InvalidToken as e:
            raise HubsTokenError(str(e)) from None
        if credential.creator_token is not None:
            raise HubsTokenError("invalid account token: malformed")
        fields = room_fields(read_json(request, api.settings.max_body_size))
        identity = Identity(Identity.anonymous().session_id, credential.account_id)
        created = await api.directory.create(identity, fields)
        hub = await api.directory.describe(created["hub_sid"])
        # The creator is an owner, and owners may embed their room.
        hub["embed_token"] = api.directory.embed_token_for(created["hub_sid"])
        request.setHeader(b"location", f"/api/v1/hubs/{created['hub_sid']}".encode("ascii"))
        return {
            "status": "ok",
            "hub_id": created["hub_sid"],
            "url": api.hub_url(hub),
            "creator_assignment_token": created["creator_token"],
            "embed_token": hub["embed_token"],
            "hub": hub_object(api, hub),
        }

    def render_GET(self, request: Request) -> int:
        return self.json(request, lambda: self._list(request))

    async def _list(self, request: Request) -> dict[str, Any]:
        if query_arg(request, "public") not in ("", "true", "1"):
            raise HttpError(400, "bad_request", "only public rooms are listed: ask ?public")
        hubs, after = await public_page(self.api, query_arg(request, "cursor"))
        return {"hubs": [hub_object(self.api, h) for h in hubs], "next_cursor": after}


class HubResource(ApiResource):
    """``/api/v1/hubs/<sid>``: GET, PATCH or PUT (the same), DELETE (closes)."""

    isLeaf = True

    def __init__(self, api: Api, hub_sid: str) -> None:
        super().__init__(api)
        self.hub_sid = hub_sid

    def render_GET(self, request: Request) -> int:
        return self.json(request, lambda: self._get(request))

    async def _get(self, request: Request) -> dict[str, Any]:
        credential = self.api.credential(request, required=False)
        hub = await self.api.owners.describe(self.hub_sid, credential)
        return {"hubs": [hub_object(self.api, hub)]}

    def render_PATCH(self, request: Request) -> int:
        return self.json(request, lambda: self._update(request))

    render_PUT = render_PATCH

    async def _update(self, request: Request) -> dict[str, Any]:
        api = self.api
        credential = api.credential(request, required=True)
        fields = room_fields(read_json(request, api.settings.max_body_size))
        await api.owners.update(credential, self.hub_sid, fields)
        hub = await api.owners.describe(self.hub_sid, credential)
        return {"hubs": [hub_object(api, hub)]}

    def render_DELETE(self, request: Request) -> int:
        return self.json(request, lambda: self._close(request))

    async def _close(self, request: Request) -> dict[str, Any]:
        api = self.api
        credential = api.credential(request, required=True)
        await api.owners.close(credential, self.hub_sid)
        hub = await api.owners.describe(self.hub_sid, credential)
        return {"hubs": [hub_object(api, hub)]}


def hub_object(api: Api, hub: dict[str, Any]) -> dict[str, Any]:
    """A room as the API answers it: the room core's public description, with
    Hubs' ``hub_id`` (the sid), the room's page ``url`` and ``embed_token``."""
    out = dict(hub)
    out["hub_id"] = hub["hub_sid"]
    out["url"] = api.hub_url(hub)
    out.setdefault("embed_token", None)
    return out
