"""
The HTTP API under ``/api/v1``: rooms (``hubs``), the server's ``meta`` and
the Hubs client's ``media/search`` lists. JSON in and out
(L{hubsd.web.http}), errors ``{"error": {"code", "message"}}``, CORS for
the configured origins. Described in docs/http-api.md and docs/openapi.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.web.resource import Resource

if TYPE_CHECKING:
    from hubsd.service import HubsdService
    from hubsd.web.api.meta import MetaResource
    from hubsd.web.api.resource import Api, ApiNode


@dataclass
class ApiTree:
    """The mounted API, for parts that add their own paths: put children on
    C{v1} (``/api/v1/<name>``) or C{media} (``/api/v1/media/<name>``, whose
    own POST is the uploads' and URL resolution's), and flags in
    C{meta.features}."""

    api: Api
    v1: ApiNode
    media: ApiNode
    meta: MetaResource


def mount_api(root: Resource, service: HubsdService) -> ApiTree:
    """Mount ``/api`` on C{root}, with everything this package serves."""
    from hubsd.rooms.owners import RoomOwners
    from hubsd.web.addresslimit import AddressLimiter
    from hubsd.web.api.hubs import HubsResource
    from hubsd.web.api.meta import MetaResource
    from hubsd.web.api.resource import Api, ApiNode
    from hubsd.web.api.search import MediaSearchResource
    from hubsd.web.api.settings import HttpSettings

    settings = HttpSettings.fromConfig(service.config)
    directory = service.rooms.directory
    api = Api(
        settings=settings,
        directory=directory,
        owners=RoomOwners(directory),
        tokens=service.rooms.tokens,
        create_limiter=AddressLimiter(
            "room creation", settings.create_rate, settings.create_burst, service.reactor.seconds
        ),
        service=service,
    )
    top, v1, media = ApiNode(api), ApiNode(api), ApiNode(api)
    root.putChild(b"api", top)
    top.putChild(b"v1", v1)
    v1.putChild(b"hubs", HubsResource(api))
    meta = MetaResource(api)
    v1.putChild(b"meta", meta)
    v1.putChild(b"media", media)
    media.putChild(b"search", MediaSearchResource(api))
    return ApiTree(api, v1, media, meta)
