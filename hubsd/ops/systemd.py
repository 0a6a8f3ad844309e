"""sd_notify: tell systemd (Type=notify) that hubsd is ready or stopping."""

from __future__ import annotations

import os
import socket


def sd_notify(state: str) -> bool:
    """
    Send C{state} (e.g. ``READY=1``) to $NOTIFY_SOCKET. Returns False when
    not run by systemd (no socket), which is not an error.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode("utf-8"))
    return True
