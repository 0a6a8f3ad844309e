"""
What a sign-in request may carry: an e-mail address, a login topic, an origin.

Addresses are taken in the plain form every SMTP server accepts: an ASCII
dot-atom local part, an ``@``, and a domain of two or more DNS labels (no
quoted local parts, no address literals, no SMTPUTF8). That refuses header
injection (no CR, LF or ``<>``) and anything a mail server would bounce.
"""

from __future__ import annotations

import re

from hubsd.accounts.errors import BadRequest
from hubsd.storage.logins import TOPIC

MAX_EMAIL_LENGTH = 254
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ORIGIN = re.compile(r"[A-Za-z0-9._-]{0,64}")


def check_email(email: object) -> str:
    """
    The address, surrounding spaces removed.

    @raise BadRequest: for anything that is not a plain address (the
        message does not quote it).
    """
    if not isinstance(email, str):
        raise BadRequest("email must be a string")
    address = email.strip()
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(address) > MAX_EMAIL_LENGTH
        or len(local) > 64
        or not _LOCAL.fullmatch(local)
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise BadRequest("email must be an address such as ann@example.org")
    return address


def check_topic(topic: object) -> str:
    """@raise BadRequest: unless C{topic} is 16 to 128 of A-Z a-z 0-9 _ - (a uuid is)."""
    if not isinstance(topic, str) or not TOPIC.fullmatch(topic):
        raise BadRequest("topic must be 16 to 128 characters of A-Z, a-z, 0-9, _ and -")
    return topic


def check_origin(origin: object) -> str:
    """The client's name for itself carried in the link (Hubs sends "hubs")."""
    if origin is None:
        return ""
    if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
        raise BadRequest("origin must be at most 64 characters of A-Z, a-z, 0-9, ., _ and -")
    return origin
