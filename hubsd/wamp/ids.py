"""WAMP identifiers: random in [1, 2^53] as the spec asks for global/router scope."""

from __future__ import annotations

import random

MAX_ID = 2**53

_random = random.Random()


def new_id() -> int:
    """A fresh random id in [1, 2^53]."""
    return _random.randint(1, MAX_ID)


def new_unique_id(taken: object) -> int:
    """A random id not already a key/member of C{taken}."""
    while True:
        i = _random.randint(1, MAX_ID)
        if i not in taken:  # type: ignore[operator]
            return i
