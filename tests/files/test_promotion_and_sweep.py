"""
Promotion and sweeping over the running daemon: a pin with the promotion
token keeps an upload for good (a wrong one refuses the pin), the owner can
promote with an account token, unpromoted uploads are swept after
C{unpromoted_ttl} (a controlled clock), and per-account quotas hold.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from twisted.internet.task import Clock

from tests.files.httpd import Web, png, running
from tests.rooms.wampclient import connect

GLTF = {"name": "photo", "extensions": {"HUBS_components": {"media": {"src": "x"}}}}


def controlled_clock(web: Web) -> Clock:
    clock = Clock()
    clock.advance(time.time())
    web.service.vault.clock = clock
    return clock


async def fetch(web: Web, reply: dict[str, Any], token: str | None = None) -> int:
    token = token if token is not None else reply["meta"]["access_token"]
    return (await web.request("GET", f"/files/{reply['file_id']}.png?token={token}")).status


@pytest_twisted.ensureDeferred
async def test_pinning_with_the_promotion_token_keeps_the_file(
    tmp_path: Path, storage: str
) -> None:
    async with running(tmp_path, storage, files="unpromoted_ttl = 1h") as web:
        clock = controlled_clock(web)
        pinned = (await web.upload(png(10_000))).json()
        left = (await web.upload(png(10_000))).json()

        owner = await connect(web.port)
        created = await owner.call("create", name="Gallery")
        sid = created["hub_sid"]
        await owner.join(sid, "Owner", creator_token=created["creator_token"])

        async def pin(promotion_token: str) -> None:
            await owner.call(
                "pin",
                hub_sid=sid,
                object_id="photo-1",
                gltf=GLTF,
                file_id=pinned["file_id"],
                promotion_token=promotion_token,
            )

        with pytest.raises(ApplicationError) as refused:
            await pin(left["meta"]["promotion_token"])
        assert "promotion token" in refused.value.args[0]
        assert not (await web.service.store.get_file(pinned["file_id"])).promoted
        room = await web.service.store.get_room_by_sid(sid)
        assert await web.service.store.list_pinned(room.hub_id) == []
        await pin(pinned["meta"]["promotion_token"])
        meta = await web.service.store.get_file(pinned["file_id"])
        assert (meta.promoted, meta.expires_at) == (True, None)
        # Pinning again with the same token is fine.
        await pin(pinned["meta"]["promotion_token"])
        owner.leave()

        clock.advance(3601)
        assert await web.service.vault.sweep() == 1
        # Promoted: still there, and still only with its token.
        assert await fetch(web, pinned) == 200
        assert await fetch(web, pinned, "f" * 32) == 404
        assert (await web.request("GET", f"/files/{pinned['file_id']}.png")).status == 403
        assert await fetch(web, left) == 404
        assert len(web.blob_paths()) == 1


@pytest_twisted.ensureDeferred
async def test_unpromoted_uploads_are_swept_after_their_time(tmp_path: Path) -> None:
    async with running(tmp_path, files="unpromoted_ttl = 10m") as web:
        clock = controlled_clock(web)
        first = (await web.upload(png(5000))).json()
        clock.advance(300)
        second = (await web.upload(png(5000))).json()
        clock.advance(299)
        assert await web.service.vault.sweep() == 0
        assert await fetch(web, first) == 200
        clock.advance(1)  # the first upload's expiry, to the second
        assert await web.service.vault.sweep() == 1
        assert await fetch(web, first) == 404
        assert await fetch(web, second) == 200
        assert len(web.blob_paths()) == 1
        clock.advance(300)
        assert await web.service.vault.sweep() == 1
        assert web.blob_paths() == []
        assert await web.service.vault.sweep() == 0


@pytest_twisted.ensureDeferred
async def test_owners_promote_with_their_account_token_and_quotas_hold(tmp_path: Path) -> None:
    async with running(tmp_path, files="account_quota = 100KiB") as web:
        store, tokens = web.service.store, web.service.rooms.tokens
        ann = await store.create_account("ann@example.org")
        bob = await store.create_account("bob@example.org")
        as_ann = {"Authorization": f"Bearer {tokens.issue_account(ann.account_id)}"}
        as_bob = {"Authorization": f"Bearer {tokens.issue_account(bob.account_id)}"}

        owned = (await web.upload(png(60_000), with_token=False, headers=as_ann)).json()
        assert (await store.get_file(owned["file_id"])).owner_account_id == ann.account_id
        over = await web.upload(png(60_000), headers=as_ann)
        assert over.status == 413
        assert over.json()["error"]["code"] == "over_quota"
        assert len(web.blob_paths()) == 1
        assert await store.account_file_usage(ann.account_id) == 60_000
        assert (await web.upload(png(60_000), headers=as_bob)).status == 200
        assert (await web.upload(png(60_000))).status == 200  # anonymous: no quota

        promote = f"/api/v1/media/{owned['file_id']}/promote"
        assert (await web.request("POST", promote, as_bob)).status == 404
        assert (await web.request("POST", promote)).status == 401
        bad = await web.request("POST", promote, {"Authorization": "Bearer nope"})
        assert (bad.status, bad.json()["error"]["code"]) == (401, "not_signed_in")
        done = await web.request("POST", promote, as_ann)
        assert (done.status, done.json()) == (200, {"file_id": owned["file_id"], "promoted": True})
        assert (await store.get_file(owned["file_id"])).promoted
        assert await fetch(web, owned) == 200
        bad_upload = await web.upload(png(100), headers={"Authorization": "Bearer nope"})
        assert bad_upload.status == 401

        anonymous = (await web.upload(png(1000))).json()
        url = f"/api/v1/media/{anonymous['file_id']}/promote"
        body = b'{"promotion_token": "%s"}' % anonymous["meta"]["promotion_token"].encode()
        wrong = await web.request(
            "POST", url, {"Content-Type": "application/json"}, b'{"promotion_token": "x"}'
        )
        assert wrong.status == 404
        right = await web.request("POST", url, {"Content-Type": "application/json"}, body)
        assert right.status == 200
        assert (await store.get_file(anonymous["file_id"])).promoted
