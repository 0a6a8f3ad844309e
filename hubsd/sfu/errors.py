"""The SFU's refusals, each with its WAMP error URI (docs/sfu.md, "Errors")."""

from __future__ import annotations

PREFIX = "hubsd.sfu.error."

#: Every error name the SFU may answer with.
NAMES = frozenset(
    {
        "not_joined",
        "invalid_token",
        "not_permitted",
        "room_full",
        "no_such_publisher",
        "no_such_handle",
        "too_many_handles",
        "bad_sdp",
        "bad_request",
        "unsupported_codec",
        "media_unavailable",
    }
)


class SfuError(Exception):
    """A refusal: C{name} is one of L{NAMES}; C{str()} is the message for the client."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        # A worker's unexpected failure is reported as the media being unavailable.
        self.name = name if name in NAMES else "media_unavailable"

    @property
    def uri(self) -> str:
        return PREFIX + self.name
