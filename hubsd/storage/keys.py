"""
Keys that cannot name a record, answered before any backend sees them.

The room core and the HTTP edge look records up by values that came from
clients. Given a key that cannot be one (a hub id that is not an int in the
signed 64-bit range, a sid that is not a string, a string with a NUL or a
lone surrogate), the memory store would simply not find it, SQLite raises
C{OverflowError} or C{ProgrammingError}, PostgreSQL a C{DataError} or "can't
adapt". L{keyed} makes all three answer the same C{NotFound}, before a query
runs, so callers never meet a driver's exception.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from twisted.internet.defer import Deferred, fail

from hubsd.storage.errors import NotFound

P = ParamSpec("P")
T = TypeVar("T")

#: What each key argument names, by the argument's name in IRoomStore.
KINDS = {
    "hub_id": "room",
    "hub_sid": "room",
    "account_id": "account",
    "created_by": "account",
    "owner_account_id": "account",
    "email": "account",
    "role": "role",
    "object_id": "pinned object",
    "file_id": "file",
    "token_hash": "login token",
    "topic": "login token",
}
_INTEGER_KEYS = frozenset({"hub_id", "account_id", "created_by", "owner_account_id"})
#: Keys that may be None: "nobody" (no pinner, no owner), not a lookup.
_OPTIONAL_KEYS = frozenset({"created_by", "owner_account_id"})
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def can_name(argument: str, value: object) -> bool:
    """Whether C{value} could be the key C{argument} of some record."""
    if argument in _INTEGER_KEYS:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and _INT64_MIN <= value <= _INT64_MAX
        )
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def keyed(*arguments: str) -> Callable[[Callable[P, Deferred[T]]], Callable[P, Deferred[T]]]:
    """
    Decorate a store method so that, when one of its C{arguments} cannot
    name a record, it returns a Deferred failing with C{NotFound(kind, key)}
    without running.
    """
    unknown = set(arguments) - set(KINDS)
    if unknown:
        raise ValueError(f"not key arguments: {sorted(unknown)}")

    def decorate(method: Callable[P, Deferred[T]]) -> Callable[P, Deferred[T]]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def checked(*args: P.args, **kwargs: P.kwargs) -> Deferred[T]:
            given = signature.bind(*args, **kwargs).arguments
            for argument in arguments:
                if argument not in given:
                    continue  # left to its default
                value: Any = given[argument]
                if value is None and argument in _OPTIONAL_KEYS:
                    continue
                if not can_name(argument, value):
                    return fail(NotFound(KINDS[argument], value))
            return method(*args, **kwargs)

        return checked

    return decorate
