"""The ``[phoenix]`` section of the config, typed (defaults and meanings in L{hubsd.schema})."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class _Config(Protocol):
    def section(self, name: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class PhoenixSettings:
    """Limits of the Phoenix socket (durations in seconds, sizes in bytes)."""

    enabled: bool = True
    max_frame_size: int = 1024 * 1024
    idle_timeout: float = 60.0
    max_channels: int = 16
    max_pending_frames: int = 256
    #: Origins allowed; empty: only C{public_origin}; "*" in it: any.
    allowed_origins: tuple[str, ...] = ()
    public_origin: str = "http://127.0.0.1:8080"

    @classmethod
    def fromConfig(cls, config: _Config) -> PhoenixSettings:
        s = config.section("phoenix")
        return cls(
            enabled=bool(s["enabled"]),
            max_frame_size=int(s["max_frame_size"]),
            idle_timeout=float(s["idle_timeout"]),
            max_channels=int(s["max_channels"]),
            max_pending_frames=int(s["max_pending_frames"]),
            allowed_origins=tuple(s["allowed_origins"]),
            public_origin=str(config.section("hubsd")["public_origin"]),
        )

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a page of C{origin} may open the socket (no Origin: not a browser)."""
        if origin is None:
            return True
        allowed = self.allowed_origins or (self.public_origin,)
        return "*" in allowed or origin.rstrip("/") in {o.rstrip("/") for o in allowed}
