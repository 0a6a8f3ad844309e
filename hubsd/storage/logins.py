"""
The login tokens of sign-in by e-mailed link, as every room store keeps them.

A store never sees a login token itself, nor an e-mail address: it keeps the
SHA-256 of the token (L{hubsd.storage.records.hash_token}) with the hash of
the address (L{hubsd.storage.records.hash_email}), the login topic the link
was asked for, and when the token stops being valid. The rules live here once
so that the memory, SQLite and PostgreSQL stores accept and refuse alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hubsd.storage.errors import InvalidValue
from hubsd.storage.records import check_moment

#: Login topics are chosen by clients (Hubs uses a uuid4): long enough not to
#: be guessed, short enough to keep, in a URL-safe alphabet.
TOPIC = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class LoginToken:
    """
    One unused sign-in link.

    @ivar token_hash: SHA-256 hex of the token in the link.
    @ivar email_hash: L{hubsd.storage.records.hash_email} of the address it
        was sent to.
    @ivar topic: The login topic whose waiters are told when it is used.
    """

    token_hash: str
    email_hash: str
    topic: str
    created_at: datetime
    expires_at: datetime


def check_digest(what: str, value: object) -> str:
    """
    @raise InvalidValue: unless C{value} is 64 lower-case hex digits (never
        quoted: a wrong value may be the secret itself).
    """
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise InvalidValue(f"{what} must be 64 lower-case hex digits (a SHA-256)")
    return value


def check_topic(topic: object) -> str:
    """@raise InvalidValue: unless C{topic} is 16 to 128 of A-Z a-z 0-9 _ -."""
    if not isinstance(topic, str) or not TOPIC.fullmatch(topic):
        raise InvalidValue("topic must be 16 to 128 characters of A-Z, a-z, 0-9, _ and -")
    return topic


def new_login_token(
    token_hash: object, email_hash: object, topic: object, expires_at: object, now: datetime
) -> LoginToken:
    """
    The record C{add_login_token} keeps, made at C{now}.

    @raise InvalidValue: naming the bad argument.
    """
    token = check_digest("token_hash", token_hash)
    email = check_digest("email_hash", email_hash)
    kept_topic = check_topic(topic)
    check_moment("expires_at", expires_at)
    assert isinstance(expires_at, datetime)
    return LoginToken(token, email, kept_topic, now, expires_at)
