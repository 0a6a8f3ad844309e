"""
A Phoenix member pins an uploaded file as the Hubs client does (``pin
{id, gltf_node, file_id, file_access_token, promotion_token}``): the right
promotion token keeps the upload for good, a wrong one is an error reply
and pins nothing. A daemon in this process with the filesystem file store,
uploads over real HTTP, the Phoenix socket over a real websocket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted

from tests.files.httpd import png, running
from tests.phoenix.pyclient import connect, create_room
from tests.rooms.test_wamp_rooms import PERMISSIVE

GLTF = {"name": "photo", "extensions": {"HUBS_components": {"media": {"src": "x"}}}}


def pin_payload(upload: dict[str, Any], promotion_token: str) -> dict[str, Any]:
    return {
        "id": "photo-1",
        "gltf_node": GLTF,
        "file_id": upload["file_id"],
        "file_access_token": upload["meta"]["access_token"],
        "promotion_token": promotion_token,
    }


@pytest_twisted.ensureDeferred
async def test_a_phoenix_member_pins_an_upload_with_its_promotion_token(tmp_path: Path) -> None:
    async with running(tmp_path, files="unpromoted_ttl = 1h") as web:
        web.service.test_port = web.port  # type: ignore[attr-defined]
        pinned = (await web.upload(png(10_000))).json()
        other = (await web.upload(png(10_000, b"other"))).json()
        sid = (await create_room(web.service, member_permissions=PERMISSIVE))["hub_sid"]
        topic = f"hub:{sid}"
        ann, bob = await connect(web.port), await connect(web.port)
        a = await ann.join_hub(sid, "Ann")
        await bob.join_hub(sid, "Bob")
        store = web.service.store
        hub_id = (await store.get_room_by_sid(sid)).hub_id

        # Another upload's token: an error reply, nothing pinned or promoted.
        wrong = await ann.request(
            topic, "pin", pin_payload(pinned, other["meta"]["promotion_token"])
        )
        assert wrong["status"] == "error"
        assert wrong["response"]["reason"] == "invalid_payload"
        assert "promotion token" in wrong["response"]["message"]
        missing = await ann.request(topic, "pin", {**pin_payload(pinned, "x"), "file_id": None})
        assert missing["status"] == "error"
        assert "promotion_token needs a file_id" in missing["response"]["message"]
        assert not (await store.get_file(pinned["file_id"])).promoted
        assert await store.list_pinned(hub_id) == []
        assert bob.pushes("pin") == []

        # Its own token: ok, promoted for good, pinned, and the room is told.
        right = await ann.request(
            topic, "pin", pin_payload(pinned, pinned["meta"]["promotion_token"])
        )
        assert right == {"status": "ok", "response": {}}
        meta = await store.get_file(pinned["file_id"])
        assert (meta.promoted, meta.expires_at) == (True, None)
        [stored] = await store.list_pinned(hub_id)
        assert (stored.object_id, stored.file_id) == ("photo-1", pinned["file_id"])
        push = (await bob.wait(lambda f: f[3] == "pin"))[4]
        assert push == {"object_id": "photo-1", "gltf_node": GLTF, "pinned_by": a["session_id"]}
        assert not (await store.get_file(other["file_id"])).promoted
        for client in (ann, bob):
            assert client.proto is not None
            client.proto.sendClose()
