"""
The daemon's web listener: one ``twisted.web`` tree for every HTTP path.

Each feature mounts its resources here, in one place, so that the paths a
server answers can be read off one function:

- ``/ws``: WAMP over websocket (hubsd.wamp.websocket)
- ``/health``: the daemon's state (hubsd.web.health)
- ``/`` and ``/assets/``: the web client (hubsd.web.clientfiles); room
  pages ``/<sid>/<slug>`` answer `clientfiles.room_page_for`

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
    from hubsd.web.clientfiles import mount_client
    from hubsd.web.health import HealthResource

    root = Resource()
    ws_factory = WampWebSocketFactory(service.router, service.router_settings, service.reactor)
    root.putChild(b"ws", WebSocketResource(ws_factory))
    root.putChild(b"health", HealthResource(lambda: service.state))
    if service.config.section("web")["client"]:
        mount_client(root, service.router_settings.realms[0])
    site = Site(root)
    site.displayTracebacks = False
    return site
