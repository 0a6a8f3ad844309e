"""
Pages of room lists: the public rooms (``GET /api/v1/hubs?public`` and the
Hubs client's ``/api/v1/media/search?source=rooms``) and an account's rooms.

Cursors are page numbers, as in reticulum: absent, 0 and 1 are the first
page, and a page says the next one's number, or null after the last.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from hubsd.storage.errors import NotFound
from hubsd.storage.records import MAX_PUBLIC_ROOMS
from hubsd.web.api.resource import Api
from hubsd.web.http import HttpError

#: A cursor larger than this cannot name a page that exists.
_MAX_CURSOR = 100_000


def query_arg(request: Any, name: str) -> str | None:
    """
    The first value of query argument C{name}: "" for a bare ``?name``
    (which C{request.args} drops), None if absent; 400 for a query that is
    not UTF-8 or has more than 64 arguments.
    """
    query = request.uri.partition(b"?")[2]
    try:
        args = parse_qs(query.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "bad_request", "the query is not UTF-8 or too long") from None
    values = args.get(name)
    return values[0] if values else None


def page_number(cursor: str | None) -> int:
    """The page a cursor names (1-based); 400 unless it is a whole number."""
    if cursor is None or cursor == "":
        return 1
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 6:
        raise HttpError(400, "bad_request", "cursor must be a page number")
    number = int(cursor)
    if number > _MAX_CURSOR:
        raise HttpError(400, "bad_request", f"cursor must be at most {_MAX_CURSOR}")
    return max(number, 1)


def one_page(items: list[Any], page: int, size: int) -> tuple[list[Any], int | None]:
    """Page C{page} of C{items} and the next page's number (None after the last)."""
    start = (page - 1) * size
    chosen = items[start : start + size]
    return chosen, (page + 1 if len(items) > start + size else None)


async def public_page(api: Api, cursor: str | None) -> tuple[list[dict[str, Any]], int | None]:
    """The public rooms of one page (newest first), and the next cursor."""
    page = page_number(cursor)
    size = api.settings.page_size
    # The store lists the newest rooms first, at most MAX_PUBLIC_ROOMS: ask
    # for this page and one room more, to know whether a next page exists.
    want = min(page * size + 1, MAX_PUBLIC_ROOMS)
    if (page - 1) * size >= want:
        return [], None
    rooms = await api.directory.list_public(limit=want)
    return one_page(rooms, page, size)


async def account_page(
    api: Api, account_id: int, cursor: str | None
) -> tuple[list[dict[str, Any]], int | None]:
    """The rooms an account created (newest first), one page of them."""
    page = page_number(cursor)
    store = api.service.store
    roles = await store.roles_for_account(account_id)
    hub_ids = sorted({r.hub_id for r in roles if r.role == "creator"}, reverse=True)
    chosen, after = one_page(hub_ids, page, api.settings.page_size)
    rooms = []
    for hub_id in chosen:
        try:
            record = await store.get_room(hub_id)
        except NotFound:
            continue  # deleted since the roles were read
        rooms.append(api.directory.public(record, api.directory.rooms.get(record.hub_sid)))
    return rooms, after
