"""
The daemon's web listener: one ``twisted.web`` tree for every HTTP path.

Each feature mounts its resources here, in one place, so that the paths a
server answers can be read off one function:

- ``/ws``: WAMP over websocket (hubsd.wamp.websocket)
- ``/health``: the daemon's state (hubsd.web.health)
- ``/api/v1/accounts``: sign-in by e-mailed link (hubsd.web.accounts)
- ``/thumbnails``: thumbnails made by the media resolver (hubsd.web.thumbnails)
- ``/api/v1/media``: uploads and URL resolution (hubsd.web.media); its
  multipart bodies stream through the site's request factory
  (hubsd.web.upload)
- ``/files``: uploaded files, with their token (hubsd.web.files)

Later features (the Phoenix socket, the HTTP API, files, the web client)
each add one ``mount_*`` call below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.web.resource import Resource
from twisted.web.server import Site

if TYPE_CHECKING:
    from hubsd.service import HubsdService


def build_site(service: HubsdService) -> Site:
    """The Site served on ``[listen] web``."""
    from autobahn.twisted.resource import WebSocketResource

    from hubsd.wamp.websocket import WampWebSocketFactory
    from hubsd.web.accesslog import access_log_line
    from hubsd.web.accounts import mount_accounts
    from hubsd.web.files import FilesResource
    from hubsd.web.health import HealthResource
    from hubsd.web.media import MediaResource, upload_receiver
    from hubsd.web.thumbnails import ThumbnailResource
    from hubsd.web.upload import UploadRequest

    root = Resource()
    ws_factory = WampWebSocketFactory(service.router, service.router_settings, service.reactor)
    root.putChild(b"ws", WebSocketResource(ws_factory))
    root.putChild(b"health", HealthResource(lambda: service.state))
    mount_accounts(root, service.accounts)
    root.putChild(b"thumbnails", ThumbnailResource(service.media.thumbnails))
    _mount(root, b"api/v1/media", MediaResource(service))
    root.putChild(b"files", FilesResource(service.vault, service.reactor))
    site = Site(root, requestFactory=UploadRequest, logFormatter=access_log_line)
    site.upload_receiver = upload_receiver(service)  # type: ignore[attr-defined]
    site.displayTracebacks = False
    return site


def _mount(root: Resource, path: bytes, resource: Resource) -> None:
    """Put C{resource} at C{path} (``a/b/c``), making or reusing the parents."""
    *parents, name = path.split(b"/")
    node = root
    for part in parents:
        child = node.children.get(part)
        if child is None:
            child = Resource()
            node.putChild(part, child)
        node = child
    node.putChild(name, resource)
