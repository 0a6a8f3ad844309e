"""The 'local' cluster bus: one node, so nothing crosses process boundaries."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from hubsd.interfaces import IClusterBus


@implementer(IClusterBus)
class LocalClusterBus:
    """
    A bus with no other nodes: publish reaches nobody (there is nobody else),
    subscriptions never fire. Room traffic stays in this process's router.
    """

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> LocalClusterBus:
        return cls(socket.gethostname())

    def start(self) -> Deferred[None]:
        return succeed(None)

    def stop(self) -> Deferred[None]:
        return succeed(None)

    def publish(self, channel: str, payload: bytes) -> None:
        """No other node exists to receive it."""

    def subscribe(self, channel: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        return lambda: None
