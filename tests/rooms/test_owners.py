"""
Owner actions from outside a room (hubsd.rooms.owners), with plain values:
a memory store, a directory, credentials. Who may change or close a room
without a seat, what its members are told, and that a room loaded only for
such a change does not stay loaded.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from hubsd.rooms.directory import Identity, RoomDirectory
from hubsd.rooms.errors import InvalidPayload, NoSuchRoom, NotPermitted
from hubsd.rooms.owners import Credential, RoomOwners
from hubsd.rooms.settings import RoomSettings
from hubsd.storage.errors import StorageUnavailable
from hubsd.storage.memory import MemoryRoomStore


class Tokens:
    def issue_session(self, session_id: str, lifetime: int) -> str:
        return "session"

    def issue_perms(self, *args: Any, **kwargs: Any) -> str:
        return "perms"


async def setup() -> tuple[MemoryRoomStore, RoomDirectory, RoomOwners, list[Any]]:
    store = MemoryRoomStore()
    await store.start()
    directory = RoomDirectory(store, Tokens(), RoomSettings(), Clock(), b"s" * 32)
    told: list[Any] = []
    directory.deliver = lambda room, notices: told.extend(notices)
    return store, directory, RoomOwners(directory), told


@pytest_twisted.ensureDeferred
async def test_the_creator_token_may_update_and_close_and_nothing_stays_loaded() -> None:
    store, directory, owners, told = await setup()
    created = await directory.create(Identity.anonymous(), {"name": "Room"})
    sid, token = created["hub_sid"], created["creator_token"]
    hub = await owners.update(Credential(creator_token=token), sid, {"name": "New", "public": True})
    assert (hub["name"], hub["public"]) == ("New", True)
    assert (await store.get_room_by_sid(sid)).name == "New"
    assert directory.rooms == {}
    closed = await owners.close(Credential(creator_token=token), sid)
    assert closed["entry_mode"] == "deny"
    assert directory.rooms == {}
    described = await owners.describe(sid, Credential(creator_token=token))
    assert described["embed_token"] == directory.embed_token_for(sid)
    assert (await owners.describe(sid, Credential()))["embed_token"] is None


@pytest.mark.parametrize(
    "credential",
    [
        Credential(),
        Credential(creator_token="wrong"),
        Credential(creator_token=""),
        Credential(account_id=99),
    ],
)
@pytest_twisted.ensureDeferred
async def test_without_the_right_credential_nothing_changes(credential: Credential) -> None:
    store, directory, owners, told = await setup()
    sid = (await directory.create(Identity.anonymous(), {"name": "Room"}))["hub_sid"]
    with pytest.raises(NotPermitted, match="update_hub"):
        await owners.update(credential, sid, {"name": "Taken"})
    with pytest.raises(NotPermitted, match="close_hub"):
        await owners.close(credential, sid)
    room = await store.get_room_by_sid(sid)
    assert (room.name, room.entry_mode) == ("Room", "allow")
    assert directory.rooms == {} and told == []


@pytest_twisted.ensureDeferred
async def test_account_roles_decide_for_an_account() -> None:
    store, directory, owners, told = await setup()
    owner = await store.create_account("owner@example.org")
    mod = await store.create_account("mod@example.org")
    sid = (await directory.create(Identity("s1", owner.account_id), {"name": "Room"}))["hub_sid"]
    record = await store.get_room_by_sid(sid)
    await store.set_role(record.hub_id, mod.account_id, "moderator")
    as_mod = Credential(account_id=mod.account_id)
    assert (await owners.update(as_mod, sid, {"description": "by mod"}))["description"] == "by mod"
    with pytest.raises(NotPermitted, match="update_hub_promotion"):
        await owners.update(as_mod, sid, {"public": True})
    with pytest.raises(NotPermitted, match="close_hub"):
        await owners.close(as_mod, sid)
    assert (await owners.describe(sid, as_mod))["embed_token"] is None
    as_owner = Credential(account_id=owner.account_id)
    assert (await owners.update(as_owner, sid, {"public": True}))["public"] is True
    assert (await owners.close(as_owner, sid))["entry_mode"] == "deny"


@pytest_twisted.ensureDeferred
async def test_members_are_told_of_an_outside_change_and_of_closing() -> None:
    store, directory, owners, told = await setup()
    created = await directory.create(Identity.anonymous(), {"name": "Room"})
    sid, owner = created["hub_sid"], Credential(creator_token=created["creator_token"])
    ann = Identity.anonymous()
    await directory.join(ann, "conn-ann", sid)
    await owners.update(owner, sid, {"name": "Renamed"})
    (refresh,) = [n for n in told if n.kind == "refresh"]
    assert refresh.payload == {"stale_fields": ["name"], "session_id": None}
    assert directory.rooms[sid].record.name == "Renamed"
    await owners.close(owner, sid)
    assert [n.kind for n in told if n.kind == "closed"] == ["closed"]
    assert sid not in directory.rooms  # everyone left


@pytest_twisted.ensureDeferred
async def test_bad_values_and_unknown_rooms_are_refused_and_unload() -> None:
    store, directory, owners, told = await setup()
    created = await directory.create(Identity.anonymous(), {"name": "Room"})
    sid, owner = created["hub_sid"], Credential(creator_token=created["creator_token"])
    for fields in ({"room_size": 0}, {"hub_id": 1}, {}, {"name": ""}, {"scene_url": "ftp://x"}):
        with pytest.raises(InvalidPayload):
            await owners.update(owner, sid, fields)
        assert directory.rooms == {}, fields
    for bad in ("nosuchx", "../x", 5, None):
        with pytest.raises(NoSuchRoom):
            await owners.update(owner, bad, {"name": "x"})
        with pytest.raises(NoSuchRoom):
            await owners.describe(bad, owner)


@pytest_twisted.ensureDeferred
async def test_a_store_failure_while_changing_leaves_no_room_loaded() -> None:
    store, directory, owners, told = await setup()
    created = await directory.create(Identity.anonymous(), {"name": "Room"})
    sid, owner = created["hub_sid"], Credential(creator_token=created["creator_token"])

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("down")

    store.update_room = broken  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        await owners.update(owner, sid, {"name": "x"})
    with pytest.raises(StorageUnavailable):
        await owners.close(owner, sid)
    assert directory.rooms == {} and told == []


@pytest_twisted.ensureDeferred
async def test_an_owner_may_reopen_a_closed_room() -> None:
    store, directory, owners, told = await setup()
    created = await directory.create(Identity.anonymous(), {"name": "Room"})
    sid, owner = created["hub_sid"], Credential(creator_token=created["creator_token"])
    await owners.close(owner, sid)
    reopened = await owners.update(owner, sid, {"entry_mode": "allow"})
    assert reopened["entry_mode"] == "allow"
    joined = await directory.join(Identity.anonymous(), "conn", sid)
    assert joined["room"]["entry_mode"] == "allow"
