"""
The daemon's web listener: one ``twisted.web`` tree for every HTTP path.

Each feature mounts its resources here, in one place, so that the paths a
server answers can be read off one function:

- ``/ws``: WAMP over websocket (hubsd.wamp.websocket)
- ``/health``, ``/healthz``, ``/readyz``: the daemon's state, liveness and
  readiness (hubsd.web.health, hubsd.web.probes)
- ``/api/v1/hubs``, ``/api/v1/meta``, ``/api/v1/media/search``: the HTTP API
  (hubsd.web.api; other API paths go on the tree ``mount_api`` returns)
- ``/api/v1/accounts``: sign-in by e-mailed link (hubsd.web.accounts)
- ``/thumbnails``: thumbnails made by the media resolver (hubsd.web.thumbnails)
- ``/<sid>/<slug>``: the room page, GET and HEAD (hubsd.web.roompage)
- ``/socket/websocket``: Phoenix channels, the Hubs client's protocol (hubsd.phoenix)
- ``/api/v1/media``: uploads and URL resolution (hubsd.web.media); its
  multipart bodies stream through the site's request factory
  (hubsd.web.upload)
- ``/files``: uploaded files, with their token (hubsd.web.files)
- ``/`` and ``/assets/``: the web client (hubsd.web.clientfiles); the room
  pages answer its page (``clientfiles.room_page_for``)

The access log leaves out query strings (they carry tokens), and no request
body may be larger than the largest a path accepts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.web.server import Site

if TYPE_CHECKING:
    from hubsd.service import HubsdService


def build_site(service: HubsdService) -> Site:
    """The Site served on ``[listen] web``."""
    from autobahn.twisted.resource import WebSocketResource

    from hubsd.phoenix.websocket import mount_phoenix
    from hubsd.wamp.websocket import WampWebSocketFactory
    from hubsd.web.accesslog import access_log_line
    from hubsd.web.accounts import mount_accounts
    from hubsd.web.api import mount_api
    from hubsd.web.api.settings import HttpSettings
    from hubsd.web.bodylimit import bounded_request
    from hubsd.web.clientfiles import mount_client, room_page_for
    from hubsd.web.files import FilesResource
    from hubsd.web.health import HealthResource
    from hubsd.web.media import mount_media, upload_receiver
    from hubsd.web.probes import LiveResource, ReadyResource
    from hubsd.web.roompage import SiteRoot, placeholder_page
    from hubsd.web.thumbnails import ThumbnailResource
    from hubsd.web.upload import UploadRequest

    realm = service.router_settings.realms[0]
    web_client = service.config.section("web")["client"]
    page = room_page_for(realm) if web_client else placeholder_page
    root = SiteRoot(service.rooms.directory, page, service.reactor)
    ws_factory = WampWebSocketFactory(service.router, service.router_settings, service.reactor)
    root.putChild(b"ws", WebSocketResource(ws_factory))
    root.putChild(b"health", HealthResource(lambda: service.state))
    root.putChild(b"healthz", LiveResource())
    ready_timeout = HttpSettings.fromConfig(service.config).ready_timeout
    root.putChild(b"readyz", ReadyResource(service, ready_timeout))
    tree = mount_api(root, service)
    mount_media(tree, service)
    mount_accounts(root, service.accounts)
    root.putChild(b"thumbnails", ThumbnailResource(service.media.thumbnails))
    mount_phoenix(root, service)
    root.putChild(b"files", FilesResource(service.vault, service.reactor))
    if web_client:
        mount_client(root, realm)
    site = Site(root, logFormatter=access_log_line)
    site.displayTracebacks = False
    # No path takes more than an upload (plus its multipart framing).
    largest = max(
        HttpSettings.fromConfig(service.config).max_body_size,
        int(service.config.section("files")["max_upload_size"]),
    )
    # The ceiling first, then uploads streamed to the vault (hubsd.web.upload).
    request_class: Any = type(
        "HubsdRequest", (bounded_request(largest + 1024 * 1024), UploadRequest), {}
    )
    site.requestFactory = request_class
    site.upload_receiver = upload_receiver(service)  # type: ignore[attr-defined]
    return site
