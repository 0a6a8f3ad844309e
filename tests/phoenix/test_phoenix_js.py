"""
The npm phoenix client (as the Hubs web client uses it) against a real hubsd:
a daemon in this process, Node scenarios in tests/interop/phx_*.js.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest_twisted
from twisted.internet.defer import ensureDeferred

from hubsd.service import HubsdService
from tests.phoenix.nodeclient import run_scenario
from tests.phoenix.pyclient import create_room
from tests.rooms.wampclient import connect, until


def base(service: HubsdService) -> str:
    return f"ws://127.0.0.1:{service.test_port}"  # type: ignore[attr-defined]


@pytest_twisted.ensureDeferred
async def test_two_phoenix_clients_share_a_room(daemon: HubsdService) -> None:
    created = await create_room(daemon)
    sid = created["hub_sid"]
    out = await run_scenario(
        "phx_room.js", {"base": base(daemon), "sid": sid, "creatorToken": created["creator_token"]}
    )
    assert out["ret"]["status"] == "ok"
    assert out["ret"]["response"]["vapid_public_key"] is None
    join = out["joinA"]
    assert join["status"] == "ok"
    reply = join["response"]
    ann = reply["session_id"]
    assert out["ret"]["response"]["session_id"] == ann
    assert set(reply) >= {
        "hubs",
        "session_id",
        "session_token",
        "perms_token",
        "subscriptions",
        "hub_requires_oauth",
    }
    hub = reply["hubs"][0]
    assert hub["hub_id"] == sid and hub["name"] == "Phoenix room"
    assert "scene" in hub and hub["scene"] is None and "topics" not in hub
    claims = jwt.decode(reply["perms_token"], options={"verify_signature": False})
    assert claims["hub_id"] == sid and claims["kick_users"] is True and "exp" in claims
    # presence_state right after the join, with the joiner in it.
    assert list(out["stateA"]) == [ann]
    meta = out["stateA"][ann]["metas"][0]
    assert meta["presence"] == "lobby" and meta["profile"]["displayName"] == "Ann"
    assert meta["roles"]["creator"] is True and meta["phx_ref"]
    bob = out["joinB"]["response"]["session_id"]
    assert set(out["stateB"]) == {ann, bob}
    assert list(out["diffJoinB"]["joins"]) == [bob] and out["diffJoinB"]["leaves"] == {}
    # An update: the new meta joins with a fresh phx_ref naming the old one.
    entered = out["diffEnteredA"]
    new = entered["joins"][ann]["metas"][0]
    old = entered["leaves"][ann]["metas"][0]
    assert new["presence"] == "room" and new["phx_ref"] != old["phx_ref"]
    assert new["phx_ref_prev"] == old["phx_ref"]
    assert sorted(out["presenceListB"], key=lambda p: p["id"]) == sorted(
        [{"id": ann, "presence": "room"}, {"id": bob, "presence": "room"}], key=lambda p: p["id"]
    )
    # NAF both ways, the sender stamped by the server.
    assert out["nafAtB"]["from_session_id"] == ann
    assert out["nafAtB"]["data"]["owner"] == ann
    assert out["nafrAtA"]["from_session_id"] == bob and out["nafrAtA"]["dataType"] == "u"
    # Chat reaches everyone including the sender; no client-chosen "from".
    assert out["chatAtB"] == {"type": "chat", "body": "hello from ann", "session_id": ann}
    assert out["chatAtA"] == out["chatAtB"]
    assert out["chatFromB"] == {"type": "chat", "body": "hello from bob", "session_id": bob}
    # A spawn without permission is dropped, the member's next message is not.
    assert out["mediaAtA"] == 0
    assert out["kickDenied"]["status"] == "error"
    assert out["kickDenied"]["response"]["reason"] == "not_permitted"
    assert out["perms"]["status"] == "ok" and out["perms"]["response"]["perms_token"]
    assert out["unknown"]["status"] == "error"
    assert out["unknown"]["response"]["reason"] == "unknown_event"
    # Kicked: the socket closes with 1000 (Hubs' "you were removed"), the
    # others see the leave, and the client's automatic rejoin is refused.
    assert out["bobClose"]["code"] == 1000
    assert list(out["diffLeaveB"]["leaves"]) == [bob]
    assert out["rejoinB"]["status"] == "error"
    assert out["rejoinB"]["response"]["reason"] == "join_denied"


@pytest_twisted.ensureDeferred
async def test_idle_timeout_then_rejoin_as_the_same_session(strict_daemon: HubsdService) -> None:
    sid = (await create_room(strict_daemon))["hub_sid"]
    out = await run_scenario("phx_idle.js", {"base": base(strict_daemon), "sid": sid, "idle": 1000})
    me = out["join"]["response"]["session_id"]
    # Not 1000: Hubs would take that for a kick and leave the room.
    assert out["close"]["code"] == 1001 and out["close"]["reason"] == "idle timeout"
    assert out["rejoin"]["status"] == "ok"
    assert out["rejoin"]["response"]["session_id"] == me
    assert me in out["state"]
    # The heartbeating client was answered every time and never closed.
    assert out["liveCloses"] == 0 and int(out["liveHeartbeats"]) >= 4


@pytest_twisted.ensureDeferred
async def test_bad_input_gets_what_phoenix_gives(strict_daemon: HubsdService) -> None:
    sid = (await create_room(strict_daemon))["hub_sid"]
    out = await run_scenario("phx_bad.js", {"base": base(strict_daemon), "sid": sid, "big": 5000})
    assert out["noVsn"]["status"] == 400 and out["v1"]["status"] == 400
    assert "vsn=2.0.0" in out["v1"]["body"] + out["v1"]["statusMessage"]
    for case in ("notJson", "notArray", "shortArray"):
        assert out[case]["close"]["code"] == 1003, case
    assert "not JSON" in out["notJson"]["close"]["reason"]

    def reply(case: str, n: int = 0) -> Any:
        frames = [f for f in out[case]["frames"] if f[3] == "phx_reply"]
        return frames[n]

    assert reply("badPayload")[4] == {
        "status": "error",
        "response": {"reason": "payload must be a JSON object"},
    }
    assert reply("unknownTopic")[4]["response"] == {"reason": "unmatched topic"}
    assert reply("notJoined")[4]["response"] == {"reason": "unmatched topic"}
    assert reply("leaveNotJoined")[4] == {"status": "ok", "response": {}}
    assert reply("noProfile")[4]["response"]["reason"] == "join crashed"
    assert reply("noRoom")[4]["response"]["reason"] == "not_found"
    for case in ("link", "auth"):
        assert reply(case)[4]["status"] == "error"
        assert reply(case)[4]["response"]["reason"] == "not_supported"
    unknown = [f for f in out["unknownEvent"]["frames"] if f[1] == "3"][0]
    assert unknown[4]["response"]["reason"] == "unknown_event"
    # A second join of a joined topic: the old join is closed with its own
    # join_ref, then the new one is answered.
    kinds = [(f[0], f[3]) for f in out["rejoin"]["frames"] if f[3] in ("phx_reply", "phx_close")]
    assert kinds == [("1", "phx_reply"), ("1", "phx_close"), ("4", "phx_reply")]
    assert reply("rejoin", 1)[4]["status"] == "ok"
    leave = [(f[1], f[3]) for f in out["leave"]["frames"] if f[3] in ("phx_reply", "phx_close")]
    assert leave == [("1", "phx_reply"), ("5", "phx_reply"), ("1", "phx_close")]
    assert out["heartbeat"]["frames"][0] == [
        None,
        "9",
        "phoenix",
        "phx_reply",
        {"status": "ok", "response": {}},
    ]
    assert out["binary"]["close"]["code"] == 1003
    # A page of another origin may not open the socket; the server's own may.
    assert out["evilOrigin"]["status"] == 403
    assert out["ownOrigin"]["frames"][0][4] == {"status": "ok", "response": {}}
    assert out["oversized"]["close"]["code"] == 1009


@pytest_twisted.ensureDeferred
async def test_a_phoenix_and_a_wamp_member_exchange_naf_and_chat(daemon: HubsdService) -> None:
    created = await create_room(daemon)
    sid = created["hub_sid"]
    wamp = await connect(daemon.test_port)  # type: ignore[attr-defined]
    await wamp.join(sid, "Walt")
    running = ensureDeferred(
        run_scenario("phx_mixed.js", {"base": base(daemon), "sid": sid, "wampId": wamp.session_id})
    )
    others = lambda kw: set(kw["joins"]) - {wamp.session_id}  # noqa: E731
    joined = await until(wamp.inbox["presence"], others, 30)
    (phoebe,) = others(joined[0][1])
    naf = await until(wamp.inbox["naf"], lambda kw: kw.get("from_session_id") == phoebe, 30)
    assert naf[0][1]["data"]["networkId"] == "phoebe-avatar"
    assert naf[0][1]["data"]["creator"] == phoebe
    chat = await until(wamp.inbox["chat"], lambda kw: kw["session_id"] == phoebe, 30)
    assert chat[0][1] == {"type": "chat", "body": "hi from phoenix", "session_id": phoebe}
    t = 1.0e12
    avatar = {
        "networkId": "walt-avatar",
        "owner": wamp.session_id,
        "creator": wamp.session_id,
        "lastOwnerTime": t,
        "template": "#remote-avatar",
        "persistent": False,
        "parent": None,
        "components": {"0": {"x": 5}},
        "isFirstSync": True,
    }
    await wamp.publish(sid, "naf", dataType="u", data=avatar)
    await wamp.publish(sid, "chat", type="chat", body="hi from wamp")
    await wamp.publish(sid, "chat", type="chat", body="bye")
    out = await running
    assert wamp.session_id in out["state"] and phoebe in out["state"]
    assert out["naf"]["dataType"] == "u" and out["naf"]["data"]["networkId"] == "walt-avatar"
    assert out["chat"] == {"type": "chat", "body": "hi from wamp", "session_id": wamp.session_id}
    wamp.leave()


@pytest_twisted.ensureDeferred
async def test_a_missed_heartbeat_reply_then_rejoin(daemon: HubsdService) -> None:
    sid = (await create_room(daemon))["hub_sid"]
    args = {"base": base(daemon), "port": daemon.test_port, "sid": sid}  # type: ignore[attr-defined]
    out = await run_scenario("phx_heartbeat.js", args)
    assert out["closesBefore"] == 0  # answered heartbeats keep the socket open
    # The phoenix client closes its own socket (code 1000, "heartbeat
    # timeout") when a reply is late; the server's answering close frame is
    # lost on the frozen link, so the client reports 1006.
    assert out["close"]["code"] == 1006
    assert out["heartbeatTimeouts"] == 1
    assert out["connections"] >= 2
    assert out["rejoin"]["status"] == "ok"
    assert out["rejoin"]["response"]["session_id"] == out["join"]["response"]["session_id"]
    # The seat was held for the reconnect: the others saw no leave.
    assert out["leavesSeen"] == 0
