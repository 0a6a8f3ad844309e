"""
The daemon's web listener: one ``twisted.web`` tree for every HTTP path.

Each feature mounts its resources here, in one place, so that the paths a
server answers can be read off one function:

- ``/ws``: WAMP over websocket (hubsd.wamp.websocket)
- ``/health``: the daemon's state (hubsd.web.health)
- ``/<sid>/<slug>``: the room page, GET and HEAD (hubsd.web.roompage)
- ``/socket/websocket``: Phoenix channels, the Hubs client's protocol (hubsd.phoenix)

Later features (the Phoenix socket, the HTTP API, files, the web client)
each add one ``mount_*`` call below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.web.server import Site

if TYPE_CHECKING:
    from hubsd.service import HubsdService


def build_site(service: HubsdService) -> Site:
    """The Site served on ``[listen] web``."""
    from autobahn.twisted.resource import WebSocketResource

    from hubsd.phoenix.websocket import mount_phoenix
    from hubsd.wamp.websocket import WampWebSocketFactory
    from hubsd.web.health import HealthResource
    from hubsd.web.roompage import SiteRoot, placeholder_page

    root = SiteRoot(service.rooms.directory, placeholder_page, service.reactor)
    ws_factory = WampWebSocketFactory(service.router, service.router_settings, service.reactor)
    root.putChild(b"ws", WebSocketResource(ws_factory))
    root.putChild(b"health", HealthResource(lambda: service.state))
    mount_phoenix(root, service)
    site = Site(root)
    site.displayTracebacks = False
    return site
