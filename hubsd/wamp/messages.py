"""
WAMP message type codes and the pure checks of the hot-path message.

PUBLISH is validated here without Autobahn's generic parser (it is the
message that arrives thousands of times a second); everything else goes
through C{autobahn.wamp.message.*.parse}.
"""

from __future__ import annotations

import re
from typing import Any

from hubsd.wamp.errors import ProtocolViolation
from hubsd.wamp.ids import MAX_ID
from hubsd.wamp.payload import Payload

ABORT, GOODBYE, ERROR = 3, 6, 8
PUBLISH, PUBLISHED = 16, 17
SUBSCRIBE, SUBSCRIBED, UNSUBSCRIBE, UNSUBSCRIBED = 32, 33, 34, 35
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
