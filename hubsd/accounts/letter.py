"""
The sign-in e-mail's words and its link.

The link is Hubs' (``auth_topic``, ``auth_token``, ``auth_origin``) on
``[hubsd] public_origin`` + ``[accounts] verify_path``, so it can open
hubsd's own confirmation page or a web client's ``/verify`` page alike.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from hubsd.accounts.settings import AccountSettings


def site_name(public_origin: str) -> str:
    """The host (and port) of an origin, as people read it."""
    return urlsplit(public_origin).netloc or public_origin


def sign_in_link(settings: AccountSettings, topic: str, token: str, origin: str) -> str:
    """The link that uses C{token} for C{topic}."""
    query = urlencode({"auth_topic": topic, "auth_token": token, "auth_origin": origin})
    return f"{settings.public_origin}{settings.verify_path}?{query}"


def letter(site: str, link: str, lifetime: float) -> str:
    """The e-mail's text: who asked, the link, how long it works, what if it was not you."""
    minutes = max(1, round(lifetime / 60))
    return (
        f"Someone, hopefully you, asked to sign in to {site} with this e-mail address.\n\n"
        f"To sign in, open this link within {minutes} minutes. It works once:\n\n"
        f"{link}\n\n"
        "If you did not ask for it, ignore this e-mail: nobody can sign in without the link.\n"
    )
