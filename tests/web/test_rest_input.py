"""
Bad requests to the HTTP API, over real HTTP: each gets a JSON error with
the right status and changes nothing; and the parts every API path shares
(unknown paths and methods, CORS, the rate limit on room creation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from hubsd.rooms.errors import ALL_ERRORS, RoomError
from hubsd.rooms.keys import KeyRing
from hubsd.rooms.tokens import Tokens
from hubsd.service import HubsdService
from hubsd.web.api.errors import ROOM_ERROR_STATUS, http_error
from tests.web.restclient import Http, api_daemon

HTTP = "max_body_size = 2KiB\ncreate_burst = 3\ncreate_rate = 0.001\ncors_origins = http://localhost:8081"


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path: Path) -> Any:
    service = await api_daemon(tmp_path, http=HTTP, rooms="max_room_size = 30")
    yield service
    await service.stopService()


@pytest_twisted.async_yield_fixture
async def roomy(tmp_path: Path) -> Any:
    """A daemon whose room-creation limit no test here reaches."""
    service = await api_daemon(tmp_path, http="max_body_size = 2KiB\ncreate_burst = 1000")
    yield service
    await service.stopService()


def http(service: HubsdService) -> Http:
    return service.http  # type: ignore[attr-defined, no-any-return]


async def room_count(service: HubsdService) -> int:
    return len(await service.store.list_rooms())


#: Room fields the room core (or the HTTP mapping) refuses: 422 invalid_payload.
INVALID_ROOMS = [
    {},
    {"name": ""},
    {"name": 5},
    {"name": None},
    {"name": "x\u0000"},
    {"name": "x", "room_size": 51},
    {"name": "x", "room_size": True},
    {"name": "x", "room_size": None},
    {"name": "x", "entry_mode": "open"},
    {"name": "x", "hub_id": 1},
    {"name": "x", "scene_id": "abc"},
    {"name": "x", "scene_id": None},
    {"name": "x", "member_permissions": None},
    {"name": "x", "member_permissions": {"fly": 1}},
    {"name": "x", "scene_url": "file:///etc/passwd"},
    {"name": "x", "public": True, "allow_promotion": True},
]

BAD_CREATES = [
    # (raw body, content type, status, code)
    (b'{"hub": {"name": "x"', "application/json", 400, "bad_json"),
    (b"\xff\xfe", "application/json", 400, "bad_json"),
    (b'{"hub": {"name": "x"}}', "text/plain", 415, "unsupported_media_type"),
    (b'{"hub": {"name": "x"}}', "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"[]", "application/json", 400, "bad_request"),
    (b'{"name": "flat"}', "application/json", 400, "bad_request"),
    (b'{"hub": "x"}', "application/json", 400, "bad_request"),
    (b'{"hub": {"name": "x"}, "extra": 1}', "application/json", 400, "bad_request"),
    *(
        (json.dumps({"hub": room}).encode(), "application/json", 422, "invalid_payload")
        for room in INVALID_ROOMS
    ),
]


@pytest.mark.parametrize("body, kind, status, code", BAD_CREATES)
@pytest_twisted.ensureDeferred
async def test_a_bad_create_is_refused_and_creates_nothing(
    roomy: HubsdService, body: bytes, kind: str, status: int, code: str
) -> None:
    reply = await http(roomy).request(
        "POST", "/api/v1/hubs", data=body, headers={"content-type": kind}
    )
    assert (reply.status, reply.error_code()) == (status, code), reply.body
    assert await room_count(roomy) == 0


@pytest_twisted.ensureDeferred
async def test_a_body_over_the_limit_is_refused_with_413(roomy: HubsdService) -> None:
    client = http(roomy)
    big = {"hub": {"name": "x", "description": "d" * 2100}}
    reply = await client.request("POST", "/api/v1/hubs", big)
    assert (reply.status, reply.error_code()) == (413, "too_large")
    assert "2048" in reply.json()["error"]["message"]
    created = await client.create()
    patch = await client.request(
        "PATCH", f"/api/v1/hubs/{created['hub_id']}", big, token=created["creator_assignment_token"]
    )
    assert patch.status == 413
    # Just under the limit is fine.
    fits = {"hub": {"name": "x", "description": "d" * 1900}}
    assert (await client.request("POST", "/api/v1/hubs", fits)).status == 201


@pytest_twisted.ensureDeferred
async def test_bad_updates_change_nothing(roomy: HubsdService) -> None:
    client = http(roomy)
    created = await client.create(name="Before")
    sid, token = created["hub_id"], created["creator_assignment_token"]
    for body, status in [
        ({"hub": {}}, 422),
        ({"hub": {"name": "x", "user_data": {}}}, 422),
        ({"hub": {"room_size": 0}}, 422),
        ({"hub": {"entry_mode": 3}}, 422),
        ({"nothub": {}}, 400),
    ]:
        reply = await client.request("PATCH", f"/api/v1/hubs/{sid}", body, token=token)
        assert reply.status == status, (body, reply.body)
        reply.error_code()
    bad_auth = await client.request(
        "PATCH", f"/api/v1/hubs/{sid}", {"hub": {"name": "x"}}, headers={"authorization": "Basic x"}
    )
    assert (bad_auth.status, bad_auth.error_code()) == (401, "bad_authorization")
    forged = await client.request(
        "PATCH", f"/api/v1/hubs/{sid}", {"hub": {"name": "x"}}, token="eyJ0.eyJ0.sig"
    )
    assert (forged.status, forged.error_code()) == (401, "invalid_token")
    hub = (await client.request("GET", f"/api/v1/hubs/{sid}")).json()["hubs"][0]
    assert hub["name"] == "Before" and hub["room_size"] == 24


SIDS = [
    "nosuchx",
    "..",
    "%2e%2e",
    "..%2f..%2fetc%2fpasswd",
    "%2Fetc%2Fpasswd",
    "a%00b",
    "%C3%A9t%C3%A9",
    "x" * 200,
    "%ff",
    "abc%20def",
]


@pytest.mark.parametrize("sid", SIDS)
@pytest_twisted.ensureDeferred
async def test_unknown_or_impossible_sids_are_404(roomy: HubsdService, sid: str) -> None:
    client = http(roomy)
    created = await client.create()
    token = created["creator_assignment_token"]
    for method, body in [("GET", None), ("PATCH", {"hub": {"name": "y"}}), ("DELETE", None)]:
        reply = await client.request(method, f"/api/v1/hubs/{sid}", body, token=token)
        assert (reply.status, reply.error_code()) == (404, "no_such_room"), (method, reply.body)


@pytest_twisted.ensureDeferred
async def test_deeper_paths_and_unknown_paths_are_json_404s(roomy: HubsdService) -> None:
    client = http(roomy)
    sid = (await client.create())["hub_id"]
    for path in [
        f"/api/v1/hubs/{sid}/extra",
        f"/api/v1/hubs/{sid}/../../meta",
        "/api/v1/nothing",
        "/api",
        "/api/v2/hubs",
        "/api/v1/media/search/deeper",
    ]:
        reply = await client.request("GET", path)
        assert (reply.status, reply.error_code()) == (404, "not_found"), path


@pytest_twisted.ensureDeferred
async def test_methods_a_path_does_not_have_are_405_with_allow(roomy: HubsdService) -> None:
    client = http(roomy)
    sid = (await client.create())["hub_id"]
    for method, path, allow in [
        ("DELETE", "/api/v1/hubs", "GET, HEAD, POST"),
        ("POST", f"/api/v1/hubs/{sid}", "DELETE, GET, HEAD, PATCH, PUT"),
        ("POST", "/api/v1/meta", "GET, HEAD"),
        ("PUT", "/api/v1/media/search", "GET, HEAD"),
    ]:
        reply = await client.request(method, path)
        assert (reply.status, reply.error_code()) == (405, "method_not_allowed"), path
        assert reply.header("allow") == allow
    head = await client.request("HEAD", f"/api/v1/hubs/{sid}")
    assert head.status == 200 and head.body == b""


@pytest_twisted.ensureDeferred
async def test_bad_list_queries_are_400(roomy: HubsdService) -> None:
    client = http(roomy)
    for path, code in [
        ("/api/v1/hubs", "bad_request"),
        ("/api/v1/hubs?public=no", "bad_request"),
        ("/api/v1/hubs?public&cursor=-1", "bad_request"),
        ("/api/v1/hubs?public&cursor=1.5", "bad_request"),
        ("/api/v1/hubs?public&cursor=99999999", "bad_request"),
        ("/api/v1/hubs?public&cursor=%ff", "bad_request"),
        ("/api/v1/media/search?source=sketchfab", "unsupported_source"),
        ("/api/v1/media/search", "unsupported_source"),
    ]:
        reply = await client.request("GET", path)
        assert (reply.status, reply.error_code()) == (400, code), path
    mine = await client.request("GET", "/api/v1/media/search?source=rooms&filter=created&user=1")
    assert (mine.status, mine.error_code()) == (401, "unauthorized")
    await client.create(public=True)
    for query, source in [
        ("filter=base&source=avatar_listings", "avatar_listings"),
        ("source=favorites&type=rooms&user=1", "favorites"),
        ("source=rooms&filter=favorites", "favorites_rooms"),
        ("source=rooms", "no_rooms"),
    ]:
        empty = await client.request("GET", "/api/v1/media/search?" + query)
        assert empty.json() == {
            "meta": {"source": source, "next_cursor": None},
            "entries": [],
            "suggestions": None,
        }, query


@pytest_twisted.ensureDeferred
async def test_an_invalid_account_token_on_create_gets_the_answer_hubs_retries_on(
    roomy: HubsdService, tmp_path: Path
) -> None:
    """What the Hubs client's createAndRedirectToNewHub does: it looks for
    error == "invalid_token", forgets its token and creates anonymously."""
    client = http(roomy)
    (tmp_path / "elsewhere").mkdir()
    foreign = Tokens(KeyRing.load_or_create(str(tmp_path / "elsewhere"))).issue_account(7)
    for token in (foreign, "a.b.c", "creator-token-is-no-account-token"):
        first = await client.request(
            "POST",
            "/api/v1/hubs",
            {"hub": {"name": "x"}},
            headers={"authorization": f"bearer {token}"},
        )
        assert first.status == 401
        answer = first.json()
        assert answer["error"] == "invalid_token" and answer["message"]
    assert await room_count(roomy) == 0
    again = await client.request("POST", "/api/v1/hubs", {"hub": {"name": "x"}})
    assert again.status == 201 and again.json()["url"]


@pytest_twisted.ensureDeferred
async def test_room_creation_is_rate_limited_per_address(daemon: HubsdService) -> None:
    client = http(daemon)
    for _ in range(3):
        await client.create()
    reply = await client.request("POST", "/api/v1/hubs", {"hub": {"name": "one more"}})
    assert (reply.status, reply.error_code()) == (429, "rate_limited")
    assert int(reply.header("retry-after") or 0) >= 1
    assert await room_count(daemon) == 3
    # Reading is not limited.
    assert (await client.request("GET", "/api/v1/hubs?public")).status == 200


@pytest_twisted.ensureDeferred
async def test_cors_answers_the_public_origin_and_the_configured_ones_only(
    daemon: HubsdService,
) -> None:
    client = http(daemon)
    for origin in ("https://rooms.example", "http://localhost:8081"):
        pre = await client.request(
            "OPTIONS",
            "/api/v1/hubs",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert pre.status == 204
        assert pre.header("access-control-allow-origin") == origin
        assert "POST" in (pre.header("access-control-allow-methods") or "")
        assert "authorization" in (pre.header("access-control-allow-headers") or "")
        got = await client.request("GET", "/api/v1/meta", headers={"origin": origin})
        assert got.header("access-control-allow-origin") == origin
        assert got.header("vary") == "Origin"
        assert got.header("x-content-type-options") == "nosniff"
    for stranger in ("https://evil.example", "null", "https://rooms.example.evil"):
        pre = await client.request("OPTIONS", "/api/v1/hubs", headers={"origin": stranger})
        assert pre.header("access-control-allow-origin") is None
        got = await client.request("GET", "/api/v1/meta", headers={"origin": stranger})
        assert got.header("access-control-allow-origin") is None


@pytest_twisted.ensureDeferred
async def test_meta_says_version_host_features_and_the_configured_limits(
    daemon: HubsdService,
) -> None:
    import hubsd

    reply = await http(daemon).request("GET", "/api/v1/meta")
    assert reply.status == 200
    meta = reply.json()
    assert meta["version"] == hubsd.__version__
    assert (meta["phx_host"], meta["phx_port"], meta["pool"]) == ("rooms.example", "443", "hubsd")
    assert meta["features"]["room_api"] is True
    assert meta["features"]["anonymous_room_creation"] is True
    assert meta["features"]["voice"] is False  # [sfu] backend = none
    assert meta["limits"]["max_body_size"] == 2048
    assert meta["limits"]["max_room_size"] == 30
    assert meta["limits"]["max_upload_size"] == 100 * 1024 * 1024
    assert json.loads(reply.body) == meta


def test_every_room_error_has_an_http_status() -> None:
    assert set(ALL_ERRORS) <= set(ROOM_ERROR_STATUS)
    for kind in ALL_ERRORS:
        args: tuple[str, ...] = ("x",) if kind.__init__ is RoomError.__init__ else ("x", "why")
        error = http_error(kind(*args))
        assert 400 <= error.status < 500
        assert error.code == kind.uri.rsplit(".", 1)[-1]
    assert http_error(RoomError("plain")).status == 400


@pytest_twisted.ensureDeferred
async def test_without_anonymous_creation_a_room_needs_an_account(tmp_path: Path) -> None:
    service = await api_daemon(tmp_path, rooms="allow_anonymous_create = false")
    try:
        client = http(service)
        refused = await client.request("POST", "/api/v1/hubs", {"hub": {"name": "x"}})
        assert (refused.status, refused.error_code()) == (403, "not_permitted")
        meta = (await client.request("GET", "/api/v1/meta")).json()
        assert meta["features"]["anonymous_room_creation"] is False
        account = await service.store.create_account("a@example.org")
        token = service.rooms.tokens.issue_account(account.account_id)
        assert (await client.create(token=token))["hub_id"]
        assert await room_count(service) == 1
    finally:
        await service.stopService()
