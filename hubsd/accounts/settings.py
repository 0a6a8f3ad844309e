"""
The operator's settings for accounts (config section ``[accounts]``), typed.

The schema in L{hubsd.schema} declares every key; L{AccountSettings.fromConfig}
reshapes the validated values and reads the SMTP password from its file.
Tests build the dataclass directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hubsd.accounts.mailer import SmtpSettings


class _Config(Protocol):
    def section(self, name: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class AccountSettings:
    """Sign-in rules and limits (durations in seconds); C{smtp} None: no e-mail."""

    public_origin: str = "http://127.0.0.1:8080"
    verify_path: str = "/api/v1/accounts/verify"
    smtp: SmtpSettings | None = None
    link_lifetime: float = 1800.0
    account_token_lifetime: float = 84 * 86400.0
    allow_sign_up: bool = True
    admins: tuple[str, ...] = field(default=(), repr=False)
    rate_per_address: float = 0.2
    burst_per_address: int = 5
    links_per_email_per_hour: int = 5
    links_per_minute: int = 60
    max_waiters: int = 10000

    @classmethod
    def fromConfig(cls, config: _Config) -> AccountSettings:
        """
        Settings from the daemon's validated config.

        @raise ValueError: if the SMTP password file cannot be read (the
            message names the file, never its content).
        """
        s = config.section("accounts")
        smtp = None
        if s["smtp_host"]:
            smtp = SmtpSettings(
                host=s["smtp_host"],
                port=int(s["smtp_port"]),
                security=s["smtp_security"],
                sender=s["sender"],
                username=s["smtp_username"],
                password=_read_secret(s["smtp_password_file"]),
                ca_file=s["smtp_ca_file"],
                timeout=float(s["smtp_timeout"]),
            )
        return cls(
            public_origin=config.section("hubsd")["public_origin"].rstrip("/"),
            verify_path=s["verify_path"],
            smtp=smtp,
            link_lifetime=float(s["link_lifetime"]),
            account_token_lifetime=float(s["account_token_lifetime"]),
            allow_sign_up=bool(s["allow_sign_up"]),
            admins=tuple(s["admins"]),
            rate_per_address=float(s["rate_per_address"]),
            burst_per_address=int(s["burst_per_address"]),
            links_per_email_per_hour=int(s["links_per_email_per_hour"]),
            links_per_minute=int(s["links_per_minute"]),
            max_waiters=int(s["max_waiters"]),
        )


def _read_secret(path: str) -> str:
    """The first line of C{path} (no line end); "" for no path."""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            secret = f.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or "not UTF-8 text"
        raise ValueError(f"[accounts] smtp_password_file {path}: {reason}") from None
    if not secret:
        raise ValueError(f"[accounts] smtp_password_file {path} is empty")
    return secret
