"""The 'none' SFU: the room works without voice or video forwarding."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from hubsd.interfaces import ISFU
from hubsd.sfu.errors import SfuError


def _unavailable() -> Deferred[Any]:
    return fail(SfuError("media_unavailable", "this server forwards no voice or video"))


@implementer(ISFU)
class NoSFU:
    """Holds no handles and forwards nothing: publish and subscribe are refused."""

    name = "none"
    forwards_media = False

    @classmethod
    def fromConfig(cls, options: Mapping[str, Any], context: Any) -> NoSFU:
        return cls()

    def start(self) -> Deferred[None]:
        return succeed(None)

    def stop(self) -> Deferred[None]:
        return succeed(None)

    def set_listener(self, listener: Callable[[str, str, str | None], None]) -> None:
        pass

    def publish(self, handle_id: str, placement: str, sdp: Any, muted: bool = False) -> Any:
        return _unavailable()

    def subscribe(self, handle_id: str, publisher_id: str, blocked: bool = False) -> Any:
        return _unavailable()

    def answer(self, handle_id: str, sdp: Any) -> Any:
        return fail(SfuError("no_such_handle", "no such handle"))

    def add_candidate(self, handle_id: str, candidate: Any) -> Any:
        return fail(SfuError("no_such_handle", "no such handle"))

    def close(self, handle_id: str) -> Any:
        return succeed(None)

    def set_muted(self, handle_id: str, muted: bool) -> Any:
        return fail(SfuError("no_such_handle", "no such handle"))

    def set_blocked(self, handle_id: str, blocked: bool) -> Any:
        return fail(SfuError("no_such_handle", "no such handle"))

    def stats(self) -> Any:
        keys = ("handles", "publishers", "peer_connections", "udp_sockets", "forwarded", "dropped")
        return succeed({**{k: 0 for k in keys}, "workers": 0, "restarts": 0})
