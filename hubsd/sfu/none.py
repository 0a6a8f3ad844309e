"""The 'none' SFU: the room works without voice or video forwarding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from hubsd.interfaces import ISFU


@implementer(ISFU)
class NoSFU:
    """Forwards nothing; clients are told media is unavailable."""

    name = "none"
    forwards_media = False

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> NoSFU:
        return cls()

    def start(self) -> Deferred[None]:
        return succeed(None)

    def stop(self) -> Deferred[None]:
        return succeed(None)
