"""
The room API over real HTTP: treq on loopback against a daemon in this
process, on SQLite and on PostgreSQL. Room members, where a test needs them,
are real Autobahn clients (tests/rooms/wampclient.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from hubsd.service import HubsdService
from tests.rooms.wampclient import connect
from tests.web.restclient import Http, api_daemon

ORIGIN = "https://rooms.example"


@pytest_twisted.async_yield_fixture(params=["sqlite", "postgres"])
async def daemon(request: Any, tmp_path: Path) -> Any:
    storage = "backend = sqlite"
    if request.param == "postgres":
        storage = f"backend = postgres\ndsn = {request.getfixturevalue('pg_dsn')}"
    service = await api_daemon(tmp_path, storage=storage, http="create_burst = 50\npage_size = 2")
    yield service
    await service.stopService()


def http(service: HubsdService) -> Http:
    return service.http  # type: ignore[attr-defined, no-any-return]


async def account_token(service: HubsdService, email: str) -> tuple[int, str]:
    account = await service.store.create_account(email)
    return account.account_id, service.rooms.tokens.issue_account(account.account_id)


@pytest_twisted.ensureDeferred
async def test_create_answers_the_hubs_client_shape(daemon: HubsdService) -> None:
    client = http(daemon)
    reply = await client.request("POST", "/api/v1/hubs", {"hub": {"name": "Bright Meadow"}})
    assert reply.status == 201
    created = reply.json()
    sid = created["hub_id"]
    assert created["status"] == "ok"
    assert created["url"] == f"{ORIGIN}/{sid}/bright-meadow"
    assert len(created["creator_assignment_token"]) >= 32
    assert len(created["embed_token"]) == 32
    assert reply.header("location") == f"/api/v1/hubs/{sid}"
    assert created["hub"]["name"] == "Bright Meadow" and created["hub"]["hub_sid"] == sid
    got = await client.request("GET", f"/api/v1/hubs/{sid}")
    assert got.status == 200
    (hub,) = got.json()["hubs"]
    assert hub["hub_id"] == sid and hub["name"] == "Bright Meadow" and hub["room_size"] == 24
    assert hub["embed_token"] is None  # not shown to someone without a token
    owner = await client.request(
        "GET", f"/api/v1/hubs/{sid}", token=created["creator_assignment_token"]
    )
    assert owner.json()["hubs"][0]["embed_token"] == created["embed_token"]


@pytest_twisted.ensureDeferred
async def test_the_creator_token_of_a_create_makes_its_holder_the_creator_in_the_room(
    daemon: HubsdService,
) -> None:
    created = await http(daemon).create()
    member = await connect(daemon.port)  # type: ignore[attr-defined]
    try:
        joined = await member.join(
            created["hub_id"], creator_token=created["creator_assignment_token"]
        )
        assert joined["roles"]["creator"] and joined["permissions"]["close_hub"]
    finally:
        member.leave()


@pytest_twisted.ensureDeferred
async def test_update_needs_the_creator_token_or_an_owners_account(daemon: HubsdService) -> None:
    client = http(daemon)
    created = await client.create()
    sid, token = created["hub_id"], created["creator_assignment_token"]
    change = {"hub": {"name": "Renamed", "room_size": 10}}
    nobody = await client.request("PATCH", f"/api/v1/hubs/{sid}", change)
    assert nobody.status == 401 and nobody.error_code() == "unauthorized"
    assert nobody.header("www-authenticate") == "Bearer"
    wrong = await client.request("PATCH", f"/api/v1/hubs/{sid}", change, token="x" * 32)
    assert wrong.status == 403 and wrong.error_code() == "not_permitted"
    _, stranger = await account_token(daemon, "stranger@example.org")
    other = await client.request("PUT", f"/api/v1/hubs/{sid}", change, token=stranger)
    assert other.status == 403 and "update_hub" in other.json()["error"]["message"]
    assert (await client.request("GET", f"/api/v1/hubs/{sid}")).json()["hubs"][0]["name"] == (
        "Test room"
    )
    ok = await client.request("PATCH", f"/api/v1/hubs/{sid}", change, token=token)
    assert ok.status == 200
    (hub,) = ok.json()["hubs"]
    assert (hub["name"], hub["room_size"]) == ("Renamed", 10)
    # Another room's creator token is no good here.
    elsewhere = await client.create()
    theirs = await client.request(
        "PATCH", f"/api/v1/hubs/{sid}", change, token=elsewhere["creator_assignment_token"]
    )
    assert theirs.status == 403


@pytest_twisted.ensureDeferred
async def test_a_room_created_with_an_account_token_is_that_accounts(daemon: HubsdService) -> None:
    client = http(daemon)
    account_id, token = await account_token(daemon, "owner@example.org")
    created = await client.create(token=token, name="Mine")
    sid = created["hub_id"]
    ok = await client.request(
        "PATCH", f"/api/v1/hubs/{sid}", {"hub": {"public": True}}, token=token
    )
    assert ok.status == 200 and ok.json()["hubs"][0]["public"] is True
    mine = await client.request(
        "GET", f"/api/v1/media/search?source=rooms&filter=created&user={account_id}", token=token
    )
    assert mine.status == 200
    assert [e["id"] for e in mine.json()["entries"]] == [sid]
    assert mine.json()["meta"] == {"source": "my_rooms", "next_cursor": None}
    _, other = await account_token(daemon, "other@example.org")
    theirs = await client.request(
        "GET", f"/api/v1/media/search?source=rooms&filter=created&user={account_id}", token=other
    )
    assert theirs.status == 403
    closed = await client.request("DELETE", f"/api/v1/hubs/{sid}", token=token)
    assert closed.status == 200 and closed.json()["hubs"][0]["entry_mode"] == "deny"


@pytest_twisted.ensureDeferred
async def test_a_moderator_account_may_change_settings_but_not_list_or_close(
    daemon: HubsdService,
) -> None:
    client = http(daemon)
    created = await client.create()
    sid = created["hub_id"]
    account_id, token = await account_token(daemon, "mod@example.org")
    record = await daemon.store.get_room_by_sid(sid)
    await daemon.store.set_role(record.hub_id, account_id, "moderator")
    ok = await client.request("PATCH", f"/api/v1/hubs/{sid}", {"hub": {"name": "Mod"}}, token=token)
    assert ok.status == 200
    public = await client.request(
        "PATCH", f"/api/v1/hubs/{sid}", {"hub": {"public": True}}, token=token
    )
    assert public.status == 403 and "update_hub_promotion" in public.json()["error"]["message"]
    close = await client.request("DELETE", f"/api/v1/hubs/{sid}", token=token)
    assert close.status == 403 and "close_hub" in close.json()["error"]["message"]
    owner = await client.request("GET", f"/api/v1/hubs/{sid}", token=token)
    assert owner.json()["hubs"][0]["embed_token"] is None  # embed_hub is the owners'


@pytest_twisted.ensureDeferred
async def test_closing_over_http_tells_the_members_and_bars_entry(daemon: HubsdService) -> None:
    client = http(daemon)
    created = await client.create(public=True)
    sid, token = created["hub_id"], created["creator_assignment_token"]
    ann = await connect(daemon.port)  # type: ignore[attr-defined]
    carl = await connect(daemon.port)  # type: ignore[attr-defined]
    try:
        await ann.join(sid, "Ann")
        changed = await client.request(
            "PATCH", f"/api/v1/hubs/{sid}", {"hub": {"description": "new"}}, token=token
        )
        assert changed.status == 200 and changed.json()["hubs"][0]["lobby_count"] == 1
        refresh = await ann.inbox["refresh"].wait(1)
        assert refresh[0][1]["stale_fields"] == ["description"]
        assert refresh[0][1]["session_id"] is None  # changed from outside the room
        wrong = await client.request("DELETE", f"/api/v1/hubs/{sid}", token="not-the-token")
        assert wrong.status == 403
        closed = await client.request("DELETE", f"/api/v1/hubs/{sid}", token=token)
        assert closed.status == 200
        assert closed.json()["hubs"][0]["entry_mode"] == "deny"
        await ann.inbox["closed"].wait(1)
        with pytest.raises(ApplicationError) as e:
            await carl.call("join", hub_sid=sid)
        assert e.value.error == "hubsd.error.room_closed"
        listed = await client.request("GET", "/api/v1/hubs?public")
        assert sid not in [h["hub_id"] for h in listed.json()["hubs"]]
    finally:
        ann.leave()
        carl.leave()


@pytest_twisted.ensureDeferred
async def test_public_rooms_are_listed_newest_first_in_pages(daemon: HubsdService) -> None:
    client = http(daemon)
    sids = [(await client.create(name=f"Room {i}", public=True))["hub_id"] for i in range(5)]
    await client.create(name="Private")
    newest_first = list(reversed(sids))
    seen: list[str] = []
    cursor: Any = None
    pages = 0
    while True:
        path = "/api/v1/hubs?public" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.request("GET", path)).json()
        seen += [h["hub_id"] for h in page["hubs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first and pages == 3
    # The Hubs client's home page asks the same list from cursor 0.
    search = "/api/v1/media/search?source=rooms&filter=public&cursor="
    first = (await client.request("GET", search + "0")).json()
    assert first["meta"] == {"source": "public_rooms", "next_cursor": 2}
    assert [e["id"] for e in first["entries"]] == newest_first[:2]
    entry = first["entries"][0]
    assert entry["type"] == "room" and entry["url"] == f"{ORIGIN}/{entry['id']}/room-4"
    assert entry["images"]["preview"]["url"].startswith(ORIGIN)
    last = (await client.request("GET", search + "3")).json()
    assert [e["id"] for e in last["entries"]] == newest_first[4:]
    assert last["meta"]["next_cursor"] is None
    beyond = (await client.request("GET", search + "9")).json()
    assert beyond["entries"] == [] and beyond["meta"]["next_cursor"] is None
