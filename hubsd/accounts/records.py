"""
What a sign-in hands out: the credentials of a used link, and who an
account token says the caller is. Both give every transport the same JSON
shape (L{Credentials.as_dict}, L{AccountInfo.as_dict}).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Credentials:
    """
    What a used link gives: the account token (a secret) and who it is.

    @ivar told: How many waiters on the topic were handed these credentials
        (on the result of L{SignIn.verify}; 0 when nobody waited).
    """

    token: str
    account_id: int
    is_admin: bool
    told: int = 0

    def __repr__(self) -> str:
        return f"<Credentials account {self.account_id}>"

    def as_dict(self) -> dict[str, Any]:
        """As every transport hands them out: C{credentials} is the account
        token (the key Hubs' C{auth_credentials} reads); ids are strings
        (64-bit)."""
        return {
            "credentials": self.token,
            "account_id": str(self.account_id),
            "is_admin": self.is_admin,
        }


@dataclass(frozen=True)
class AccountInfo:
    """Who an account token says the caller is."""

    account_id: int
    is_admin: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Who-am-I as every transport answers it (the id as a string: 64-bit)."""
        return {
            "account_id": str(self.account_id),
            "is_admin": self.is_admin,
            "created_at": self.created_at.isoformat(),
        }
