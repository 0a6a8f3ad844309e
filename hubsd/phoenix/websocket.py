"""
The Phoenix socket's transport: ``/socket/websocket?vsn=2.0.0``.

The handshake refuses (HTTP 400, with the reason) a ``vsn`` other than
2.0.x (the only serializer hubsd speaks is V2 JSON; Phoenix's default
without ``vsn`` is V1) and a browser page whose Origin is not allowed
(HTTP 403). The connect params' ``session_token`` resumes a room session;
everything else in them is ignored, as reticulum does. Incoming frames take
the WAMP websocket's fast path (L{WampWebSocketProtocol.dataReceived});
frames over ``[phoenix] max_frame_size`` close the socket with 1009.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from autobahn.twisted.resource import WebSocketResource
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.web.resource import Resource

from hubsd.phoenix.gateway import PhoenixGateway
from hubsd.phoenix.session import CLOSE_UNSUPPORTED, PhoenixSession
from hubsd.phoenix.settings import PhoenixSettings
from hubsd.wamp.internals import drop_handshake_state, take_over_producer
from hubsd.wamp.websocket import WampWebSocketFactory, WampWebSocketProtocol

if TYPE_CHECKING:
    from hubsd.service import HubsdService


def _param(request: ConnectionRequest, name: str) -> str | None:
    values = request.params.get(name)
    return values[0] if values else None


class PhoenixWebSocketProtocol(WampWebSocketProtocol):
    """One Phoenix socket (the WAMP protocol's frame parsing, Phoenix's session)."""

    factory: PhoenixWebSocketFactory
    _session_token: str | None = None

    def onConnect(self, request: ConnectionRequest) -> None:  # type: ignore[override]
        vsn = _param(request, "vsn")
        if vsn is None or not (vsn == "2.0.0" or vsn.startswith("2.0.")):
            raise ConnectionDeny(
                ConnectionDeny.BAD_REQUEST,
                f"unsupported vsn {vsn!r}: this server speaks the V2 JSON serializer (vsn=2.0.0)",
            )
        origin = request.headers.get("origin")
        if not self.factory.settings.origin_allowed(origin):
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN, f"origin {origin!r} is not allowed")
        self._session_token = _param(request, "session_token")

    def onOpen(self) -> None:
        gateway = self.factory.gateway
        transport: Any = self.transport
        drop_handshake_state(self)
        info = {
            "type": "websocket",
            "protocol": "phoenix",
            "peer": str(self.peer),
            "address": str(getattr(transport.getPeer(), "host", "unknown")),
        }
        session = PhoenixSession(
            gateway,
            transport,
            self._close_with,
            lambda: self.dropConnection(abort=True),
            info,
            gateway.identity_for(self._session_token),
        )
        self._session_token = None
        try:
            gateway.open(session)
        except Exception as e:  # the router shuts down
            self.sendCloseFrame(1012, str(e).encode()[:120], isReply=False)
            return
        self._wamp = session  # type: ignore[assignment]
        take_over_producer(transport, session.out)

    def _close_with(self, code: int, reason: str) -> None:
        if self.state == self.STATE_OPEN:
            # Autobahn's sendClose allows applications 1000 and 3000-4999
            # only; a server's 1001/1003/1008/1012 are RFC 6455 codes too.
            self.sendCloseFrame(code, reason.encode()[:120], isReply=False)
        else:
            self.dropConnection(abort=True)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        session: Any = self._wamp
        if session is None:
            return
        if isBinary:
            session.close(CLOSE_UNSUPPORTED, "binary frames are not supported")
            return
        session.message_received(payload)

    def _lost(self) -> None:
        session: Any = self._wamp
        if session is not None:
            self._wamp = None
            session.connection_lost()
            self.factory.gateway.closed(session)

    def onCloseFrame(self, code: int, reasonRaw: bytes) -> Any:
        self._lost()
        return WampWebSocketProtocol.onCloseFrame(self, code, reasonRaw)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self._lost()


class PhoenixWebSocketFactory(WampWebSocketFactory):
    """Builds L{PhoenixWebSocketProtocol}s for one gateway: the WAMP factory's
    options, with the Phoenix frame limit and no subprotocol."""

    protocol = PhoenixWebSocketProtocol

    def __init__(self, gateway: PhoenixGateway, reactor: Any) -> None:
        settings = replace(
            gateway.router.settings, max_message_size=gateway.settings.max_frame_size
        )
        WampWebSocketFactory.__init__(self, gateway.router, settings, reactor)
        self.protocols = []
        self.gateway = gateway
        self.settings = gateway.settings
        # Say why (1009 for a frame over the limit) instead of dropping TCP.
        self.setProtocolOptions(failByDrop=False)


def mount_phoenix(root: Resource, service: HubsdService) -> PhoenixGateway | None:
    """Serve ``/socket/websocket`` on C{root} (unless ``[phoenix] enabled`` is false)."""
    settings = PhoenixSettings.fromConfig(service.config)
    if not settings.enabled:
        return None
    gateway = PhoenixGateway(
        service.router,
        service.router_settings.realms[0],
        service.rooms,
        settings,
        sign_in=getattr(service, "accounts", None),
        media=getattr(getattr(service, "sfu_signalling", None), "operations", None),
    )
    socket = Resource()
    socket.putChild(
        b"websocket", WebSocketResource(PhoenixWebSocketFactory(gateway, service.reactor))
    )
    root.putChild(b"socket", socket)
    return gateway
