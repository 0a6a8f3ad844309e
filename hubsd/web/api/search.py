"""
``/api/v1/media/search``: the Hubs client's lists, for what hubsd keeps.

``source=rooms&filter=public`` is the home page's public rooms and
``source=rooms&filter=created&user=<account id>`` (with that account's
token) "my rooms"; the answer is reticulum's ``{meta: {source, next_cursor},
entries, suggestions}``. hubsd keeps no avatar, scene or favorite listings:
those sources (and room lists other than public and created) answer an
empty page, so that the client's menus load; any other source is a 400.
"""

from __future__ import annotations

from typing import Any

from twisted.web.server import Request

from hubsd.web.api.listing import account_page, page_number, public_page, query_arg
from hubsd.web.api.resource import Api, ApiResource
from hubsd.web.http import HttpError

#: Sources of the Hubs client's menus that hubsd has nothing for.
EMPTY_SOURCES = frozenset(
    {"avatar_listings", "avatars", "scene_listings", "scenes", "favorites", "assets"}
)


class MediaSearchResource(ApiResource):
    """``GET /api/v1/media/search`` (see module docstring)."""

    isLeaf = True

    def render_GET(self, request: Request) -> int:
        return self.json(request, lambda: self._search(request))

    async def _search(self, request: Request) -> dict[str, Any]:
        source = query_arg(request, "source")
        filter_ = query_arg(request, "filter")
        cursor = query_arg(request, "cursor")
        page_number(cursor)  # a bad cursor is a 400 whatever the source
        if source in EMPTY_SOURCES:
            meta = {"source": source, "next_cursor": None}
            return {"meta": meta, "entries": [], "suggestions": None}
        if source != "rooms":
            raise HttpError(400, "unsupported_source", f"hubsd does not list source {source!r}")
        if filter_ == "public":
            rooms, after = await public_page(self.api, cursor)
            kind = "public_rooms"
        elif filter_ == "created":
            account_id = self._own_account(request)
            rooms, after = await account_page(self.api, account_id, cursor)
            kind = "my_rooms"
        else:
            # Other room lists of the Hubs client (favorites, ...) hubsd does not keep.
            rooms, after, kind = [], None, f"{filter_ or 'no'}_rooms"
        return {
            "meta": {"source": kind, "next_cursor": after},
            "entries": [room_entry(self.api, r) for r in rooms],
            "suggestions": None,
        }

    def _own_account(self, request: Request) -> int:
        credential = self.api.credential(request, required=True)
        user = query_arg(request, "user")
        if credential.account_id is None or user != str(credential.account_id):
            raise HttpError(403, "not_permitted", "you can only list the rooms of your own account")
        return credential.account_id


def room_entry(api: Api, hub: dict[str, Any]) -> dict[str, Any]:
    """A room as a search entry (the fields the Hubs client's room tiles read)."""
    return {
        "id": hub["hub_sid"],
        "url": api.hub_url(hub),
        "type": "room",
        "name": hub["name"],
        "description": hub["description"],
        "room_size": hub["room_size"],
        "member_count": hub["member_count"],
        "lobby_count": hub["lobby_count"],
        "scene_id": hub["scene_id"],
        "user_data": None,
        # hubsd makes no room thumbnails: the tile shows the client's own image.
        "images": {"preview": {"url": f"{api.settings.public_origin}/app-thumbnail.png"}},
    }
