"""The operator's settings for the HTTP API (``[http]``, and ``[hubsd] public_origin``), typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit


class _Config(Protocol):
    def section(self, name: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class HttpSettings:
    """Limits of the API and where it is reached from (sizes in bytes, times in seconds)."""

    public_origin: str = "http://127.0.0.1:8080"
    max_body_size: int = 64 * 1024
    cors_origins: tuple[str, ...] = ()
    create_rate: float = 1.0
    create_burst: int = 5
    page_size: int = 24
    ready_timeout: float = 5.0

    @classmethod
    def fromConfig(cls, config: _Config) -> HttpSettings:
        s = config.section("http")
        return cls(
            public_origin=str(config.section("hubsd")["public_origin"]).rstrip("/"),
            max_body_size=int(s["max_body_size"]),
            cors_origins=tuple(o.rstrip("/") for o in s["cors_origins"]),
            create_rate=float(s["create_rate"]),
            create_burst=int(s["create_burst"]),
            page_size=int(s["page_size"]),
            ready_timeout=float(s["ready_timeout"]),
        )

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Browser origins whose pages may call the API (CORS)."""
        return frozenset((self.public_origin, *self.cors_origins))

    def host_and_port(self) -> tuple[str, str]:
        """The public origin's host and port (the port as text, as Hubs' meta has it)."""
        parts = urlsplit(self.public_origin)
        default = "443" if parts.scheme == "https" else "80"
        return parts.hostname or "", str(parts.port) if parts.port else default
