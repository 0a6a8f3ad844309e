"""
WAMP message type codes and the shape checks every incoming message passes.

PUBLISH is validated here without Autobahn's generic parser (it is the
message that arrives thousands of times a second). Every other message a
peer sends is checked by L{check_shape} (length and the type of each
field) before C{autobahn.wamp.message.*.parse} sees it: Autobahn's
constructors check some fields with C{assert}, which C{python -O} removes
and which otherwise surfaces as an unexpected exception with a traceback.
A bad shape raises L{ProtocolViolation} naming the field, and the session
is aborted.
"""

from __future__ import annotations

import re
from typing import Any

from hubsd.wamp.errors import ProtocolViolation
from hubsd.wamp.ids import MAX_ID
from hubsd.wamp.payload import Payload

HELLO, WELCOME, ABORT, CHALLENGE, AUTHENTICATE, GOODBYE, ERROR = 1, 2, 3, 4, 5, 6, 8
PUBLISH, PUBLISHED = 16, 17
SUBSCRIBE, SUBSCRIBED, UNSUBSCRIBE, UNSUBSCRIBED, EVENT = 32, 33, 34, 35, 36
CALL, CANCEL, RESULT = 48, 49, 50
REGISTER, REGISTERED, UNREGISTER, UNREGISTERED = 64, 65, 66, 67
INVOCATION, INTERRUPT, YIELD = 68, 69, 70

# Strict-enough URI check for concrete URIs (the spec's loose rule).
URI = re.compile(r"^([^\s\.#]+\.)*([^\s\.#]+)$")
_PUBLISH_BOOL = ("acknowledge", "exclude_me", "disclose_me", "retain", "droppable")
_PUBLISH_LISTS = (
    "exclude",
    "eligible",
    "exclude_authid",
    "eligible_authid",
    "exclude_authrole",
    "eligible_authrole",
)


def check_publish_options(options: Any) -> None:
    if type(options) is not dict:
        raise ProtocolViolation("PUBLISH.Options must be a dict")
    for k in _PUBLISH_BOOL:
        v = options.get(k)
        if v is not None and type(v) is not bool:
            raise ProtocolViolation(f"PUBLISH.Options.{k} must be a bool")
    for k in _PUBLISH_LISTS:
        v = options.get(k)
        if v is not None and type(v) is not list:
            raise ProtocolViolation(f"PUBLISH.Options.{k} must be a list")


# Field kinds of L{check_shape}: an id is an int in [0, 2^53].
_ID, _INT, _STR, _DICT, _LIST = "id", "integer", "string", "dict", "list"
_FIELD_TYPES: dict[str, type] = {_ID: int, _INT: int, _STR: str, _DICT: dict, _LIST: list}

#: type -> (name, required fields, optional trailing fields) of the messages
#: a peer may send besides PUBLISH (which L{parse_publish} checks).
SHAPES: dict[int, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    HELLO: ("HELLO", (_STR, _DICT), ()),
    AUTHENTICATE: ("AUTHENTICATE", (_STR, _DICT), ()),
    ABORT: ("ABORT", (_DICT, _STR), ()),
    GOODBYE: ("GOODBYE", (_DICT, _STR), ()),
    ERROR: ("ERROR", (_INT, _ID, _DICT, _STR), (_LIST, _DICT)),
    SUBSCRIBE: ("SUBSCRIBE", (_ID, _DICT, _STR), ()),
    UNSUBSCRIBE: ("UNSUBSCRIBE", (_ID, _ID), (_DICT,)),
    CALL: ("CALL", (_ID, _DICT, _STR), (_LIST, _DICT)),
    CANCEL: ("CANCEL", (_ID, _DICT), ()),
    REGISTER: ("REGISTER", (_ID, _DICT, _STR), ()),
    UNREGISTER: ("UNREGISTER", (_ID, _ID), (_DICT,)),
    YIELD: ("YIELD", (_ID, _DICT), (_LIST, _DICT)),
}


def check_shape(msg: list[Any]) -> None:
    """
    Raise L{ProtocolViolation} unless C{msg} (a decoded message whose type
    is in L{SHAPES}) has the right length and field types. Does not
    rely on C{assert}; the field's position and expected kind are named.
    """
    shape = SHAPES.get(msg[0])
    if shape is None:
        raise ProtocolViolation(f"unexpected message type {msg[0]!r}")
    name, required, optional = shape
    n = len(msg) - 1
    if n < len(required) or n > len(required) + len(optional):
        raise ProtocolViolation(
            f"{name} has {len(required) + 1} to {len(required) + len(optional) + 1} elements"
        )
    for i, kind in enumerate(required + optional[: n - len(required)], start=1):
        v = msg[i]
        # type() is exact: bool is not an int here, a dict subclass is not a dict.
        ok = type(v) is _FIELD_TYPES[kind]
        if not ok or (kind == _ID and not 0 <= msg[i] <= MAX_ID):
            raise ProtocolViolation(f"{name} element {i} must be a {kind}")


def is_uri(uri: str) -> bool:
    """True for a concrete URI under the spec's loose rules."""
    return URI.match(uri) is not None


def parse_publish(msg: list[Any]) -> tuple[int, dict[str, Any], str, Payload]:
    """Validate a PUBLISH; return (request, options, topic, payload)."""
    n = len(msg)
    if n < 4 or n > 6:
        raise ProtocolViolation("PUBLISH has 4 to 6 elements")
    request, options, topic = msg[1], msg[2], msg[3]
    if type(request) is not int or not 0 <= request <= MAX_ID:
        raise ProtocolViolation("PUBLISH.Request must be an id")
    if type(topic) is not str:
        raise ProtocolViolation("PUBLISH.Topic must be a string")
    check_publish_options(options)
    if n == 4:
        payload = Payload.from_values()
    elif type(msg[4]) is Payload:
        payload = msg[4]
    else:
        args, kwargs = msg[4], (msg[5] if n > 5 else None)
        if type(args) is not list or (kwargs is not None and type(kwargs) is not dict):
            raise ProtocolViolation("PUBLISH args must be a list, kwargs a dict")
        payload = Payload.from_values(args, kwargs)
    return request, options, topic, payload
