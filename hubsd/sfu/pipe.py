"""
The framing between the daemon and an SFU worker process.

Each message is a 4-byte big-endian length and that many bytes of UTF-8
JSON, over the worker's stdin (daemon to worker) and stdout (worker to
daemon); stderr carries the worker's log lines. Three shapes:

- request ``{"id": n, "op": name, "args": {...}}`` (daemon to worker);
- reply ``{"id": n, "result": value}`` or ``{"id": n, "error": [name, text]}``;
- event ``{"event": name, "handle": id, ...}`` (worker to daemon, unasked).

Both ends are plain functions over bytes, so the Twisted side and the
asyncio side share them.
"""

from __future__ import annotations

import json
import struct
from typing import Any

_LENGTH = struct.Struct("!I")
#: Largest message either side accepts (SDP of a few kilobytes is typical).
MAX_MESSAGE = 1 << 20


class FrameError(Exception):
    """The other side sent something that is not a frame of this protocol."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_MESSAGE:
        raise FrameError(f"message of {len(body)} bytes is over {MAX_MESSAGE}")
    return _LENGTH.pack(len(body)) + body


class Decoder:
    """Feed bytes in, get whole messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        out = []
        while len(self._buffer) >= 4:
            (length,) = _LENGTH.unpack_from(self._buffer)
            if length > MAX_MESSAGE:
                raise FrameError(f"frame of {length} bytes is over {MAX_MESSAGE}")
            if len(self._buffer) < 4 + length:
                break
            body = bytes(self._buffer[4 : 4 + length])
            del self._buffer[: 4 + length]
            try:
                message = json.loads(body)
            except ValueError as e:
                raise FrameError(f"frame is not JSON: {e}") from None
            if not isinstance(message, dict):
                raise FrameError("frame is not a JSON object")
            out.append(message)
        return out
