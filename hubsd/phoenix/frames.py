"""
Phoenix V2 JSON frames: ``[join_ref, ref, topic, event, payload]``.

Pure functions, no I/O. L{decode} never raises: a frame that is not one
gives a L{FrameError} value saying why (and, where the frame was at least
an array with a usable ref and topic, the ref and topic to answer with),
so that the caller decides between an error reply and closing the socket.
The encoders build the JSON text of a frame; websocket framing is added by
the transport.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

#: The topic and event of the socket-level heartbeat.
HEARTBEAT_TOPIC = "phoenix"
HEARTBEAT = "heartbeat"
JOIN = "phx_join"
LEAVE = "phx_leave"
REPLY = "phx_reply"
ERROR = "phx_error"
CLOSE = "phx_close"

#: Longest topic or event name accepted (Phoenix has no limit; ours keeps
#: a client from making the server hold megabyte-long dictionary keys).
MAX_NAME = 256

# The four header elements of a V2 frame as JSON text: null or a string for
# the refs, a string for topic and event. Used only after the whole frame
# parsed, to cut the payload's own JSON text out of it unchanged.
_STR = rb'"(?:[^"\\]|\\.)*"'
_HEAD = re.compile(
    rb"\s*\[\s*(?:null|"
    + _STR
    + rb")\s*,\s*(?:null|"
    + _STR
    + rb")\s*,\s*"
    + _STR
    + rb"\s*,\s*"
    + _STR
    + rb"\s*,\s*"
)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. C{raw_payload} is the payload's JSON text exactly
    as it arrived (None if it could not be cut out), so that relaying it
    needs no re-encoding."""

    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: dict[str, Any]
    raw_payload: bytes | None = None


@dataclass(frozen=True, slots=True)
class FrameError:
    """
    Why data is not a usable frame. C{fatal}: nothing can be answered (not
    JSON, not a five-element array, refs or topic unusable), close the
    socket. Otherwise C{join_ref}, C{ref} and C{topic} say where the error
    reply goes.
    """

    reason: str
    fatal: bool = True
    join_ref: str | None = None
    ref: str | None = None
    topic: str = ""


def _is_ref(value: object) -> bool:
    return value is None or (type(value) is str and len(value) <= MAX_NAME)


def _is_name(value: object) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_NAME


def decode(data: bytes | str) -> Frame | FrameError:
    """The frame in C{data} (one websocket text message), or why not."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        return FrameError(f"not JSON: {e}")
    if type(value) is not list or len(value) != 5:
        return FrameError("a frame is a JSON array [join_ref, ref, topic, event, payload]")
    join_ref, ref, topic, event, payload = value
    if not _is_ref(join_ref) or not _is_ref(ref):
        return FrameError("join_ref and ref must be strings or null")
    if not _is_name(topic):
        return FrameError(f"topic must be a string of 1 to {MAX_NAME} characters")
    if not _is_name(event):
        return FrameError(
            f"event must be a string of 1 to {MAX_NAME} characters", False, join_ref, ref, topic
        )
    if type(payload) is not dict:
        return FrameError("payload must be a JSON object", False, join_ref, ref, topic)
    raw = None
    m = _HEAD.match(data)
    if m is not None:
        raw = data[m.end() : data.rindex(b"]")].rstrip()
    return Frame(join_ref, ref, topic, event, payload, raw)


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def encode(join_ref: str | None, ref: str | None, topic: str, event: str, payload: Any) -> bytes:
    """The JSON text of one frame."""
    return _dumps([join_ref, ref, topic, event, payload])


def reply(join_ref: str | None, ref: str | None, topic: str, status: str, response: Any) -> bytes:
    """A ``phx_reply`` answering the request C{ref}: C{status} ok or error."""
    return encode(join_ref, ref, topic, REPLY, {"status": status, "response": response})


def push_raw(topic: str, event: str, payload_json: bytes, join_ref: str | None = None) -> bytes:
    """A push whose payload is already JSON text (a relayed payload, or one
    encoded once for many receivers)."""
    head = _dumps([join_ref, None, topic, event])
    return head[:-1] + b"," + payload_json + b"]"
