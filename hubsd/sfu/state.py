"""What the SFU's signalling keeps: its settings, members and handles (plain values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SfuSettings:
    """The ``[sfu]`` limits the signalling enforces."""

    max_publishers: int = 24
    max_handles: int = 64

    @classmethod
    def fromConfig(cls, config: Any) -> SfuSettings:
        section = config.section("sfu")
        return cls(section["max_publishers"], section["max_handles"])


@dataclass
class Handle:
    """One peer connection on the media plane, owned by one member of one room."""

    id: str
    hub_sid: str
    session_id: str
    kind: str  # "publisher" or "subscriber"
    #: subscriber: the publisher's session id and handle.
    publisher: str | None = None
    publisher_handle: str | None = None
    connected: bool = False
    muted: bool = False
    kinds: tuple[str, ...] = ()
    #: Why the server ended it, once it has.
    ended: str | None = None


@dataclass
class Member:
    """A member joined to a room's media over one connection, with its handles."""

    session_id: str
    connection: Any
    hub_sid: str
    handles: set[str] = field(default_factory=set)
    publisher: str | None = None
