"""
Every private detail of Twisted and Autobahn that hubsd's hot path relies on.

Two shortcuts made fan-out fast and both need something neither library
offers publicly: sending straight to a TCP socket when Twisted has nothing
buffered for it (no public API says whether a transport's write buffer is
empty), and parsing whole websocket frames ourselves while Autobahn's own
parser holds nothing (its frame state is not public either). Each detail is
read here and nowhere else, by a small function named for the question it
answers.

C{tests/wamp/test_internals_contract.py} checks every one of them against the
installed Twisted and Autobahn over real sockets and names the attribute
when one changed; C{setup.cfg} pins both packages to the minor versions that
test passed with. If an attribute disappears anyway (an upgrade outside the
pins), the functions here answer "no shortcut": hubsd falls back to the
libraries' public paths, slower but correct, and says so once in the log.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from twisted.internet import tcp
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger

log = Logger()

#: Attributes Autobahn keeps after the opening handshake that it never reads
#: again once the connection is open (request headers, cookies, raw
#: handshake bytes). Where Autobahn declares a class attribute of the same
#: name, that one takes over after ours is dropped.
HANDSHAKE_ONLY = (
    "http_request_data",
    "http_response_data",
    "http_headers",
    "http_status_line",
    "http_request_uri",
    "http_request_path",
    "http_request_params",
    "http_request_host",
    "websocket_extensions",
    "websocket_protocols",
    "websocket_origin",
    "websocket_extensions_in_use",
)

_warned: set[str] = set()


def _changed(detail: str) -> None:
    """Say once that a private detail is gone and the shortcut is off."""
    if detail not in _warned:
        _warned.add(detail)
        log.warn(
            "{detail} is not what hubsd expects (Twisted or Autobahn upgraded past the "
            "pins in setup.cfg?); using the slower public path",
            detail=detail,
        )


# -- Twisted ---------------------------------------------------------------


def idle_socket(transport: Any) -> socket.socket | None:
    """
    The socket under C{transport} if bytes may be sent on it directly right
    now, else None.

    Only a plain TCP connection (L{twisted.internet.tcp.Connection}, TLS not
    started) that is connected, not closing, and has nothing in Twisted's
    write buffer qualifies: anything written directly then goes out in
    order. Reads C{FileDescriptor.dataBuffer}, C{FileDescriptor._tempDataBuffer},
    C{tcp.Connection.TLS} and C{tcp.Connection.socket}.
    """
    if not isinstance(transport, tcp.Connection):
        return None
    try:
        # dataBuffer holds what doWrite could not send yet (emptied once all
        # is sent); _tempDataBuffer what write() appended since the last doWrite.
        # TLS is set by startTLS, after which bytes must go through the TLS layer.
        if (
            not transport.connected
            or transport.disconnecting
            or transport.TLS
            or transport.dataBuffer
            or transport._tempDataBuffer
        ):
            return None
        sock = transport.socket
    except AttributeError:
        _changed("twisted.internet.tcp.Connection write buffer")
        return None
    return sock


def send_now(transport: Any, data: bytes) -> None:
    """
    Write C{data} to C{transport}: straight to the socket when
    L{idle_socket} allows it (no epoll registration, no wait for the next
    reactor turn); whatever the socket does not take goes through
    C{transport.write} as usual, behind it.
    """
    sock = idle_socket(transport)
    if sock is not None:
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as e:
            # Twisted's writeSomeData treats ENOBUFS as "try later" too.
            if e.errno != errno.ENOBUFS:
                return  # the connection is gone; the reactor reports it on read
            sent = 0
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)


def take_over_producer(transport: Any, producer: IPushProducer) -> None:
    """
    Make C{producer} the streaming producer of C{transport}, in place of
    any producer already registered there (twisted.web's C{HTTPChannel}
    when a websocket took over an HTTP connection): C{registerProducer}
    refuses a second one. Reads C{FileDescriptor.producer}, which no
    interface declares.
    """
    if getattr(transport, "producer", None) is not None:
        transport.unregisterProducer()
    transport.registerProducer(producer, True)


# -- Autobahn --------------------------------------------------------------


def parser_idle(protocol: Any) -> bool:
    """
    True if Autobahn's frame parser holds nothing for C{protocol}: no frame
    in progress, no buffered bytes, not inside a fragmented message. Only
    then may we parse the next frame ourselves. Reads
    C{WebSocketProtocol.current_frame}, C{.data} and C{.inside_message}.
    """
    try:
        return protocol.current_frame is None and not protocol.data and not protocol.inside_message
    except AttributeError:
        _changed("autobahn WebSocketProtocol frame state")
        return False


def sends_queued(protocol: Any) -> bool:
    """
    True if Autobahn has chopped or synchronous writes queued for
    C{protocol} (C{WebSocketProtocol.send_queue}): a frame of ours must
    then wait behind them, through Autobahn's own C{sendData}.
    """
    try:
        return bool(protocol.send_queue)
    except AttributeError:
        _changed("autobahn WebSocketProtocol.send_queue")
        return True


def drop_handshake_state(protocol: Any) -> None:
    """
    Forget what Autobahn kept from C{protocol}'s opening handshake (the
    L{HANDSHAKE_ONLY} attributes, which include the request's cookies) and
    its incremental UTF-8 validator, unused because the factory turns
    C{utf8validateIncoming} off (the decoders validate UTF-8 themselves).
    The instance dict is then rebuilt: Autobahn grows it to ~100 entries
    during the handshake, and a fresh copy is a third smaller for the
    connection's life.
    """
    attrs = protocol.__dict__
    for name in HANDSHAKE_ONLY:
        attrs.pop(name, None)
    if not protocol.utf8validateIncoming:
        protocol.utf8validator = None
    protocol.__dict__ = dict(attrs)
