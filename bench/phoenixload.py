"""
A lean Phoenix channel load client (the Hubs web client's protocol), for the
fan-out benchmark's ``hubsd-phoenix`` and ``hubsd-mixed`` targets.

L{PhoenixMember} is a L{wampload.Member} that speaks V2 JSON frames at
``/socket/websocket?vsn=2.0.0`` instead of WAMP: it joins ``hub:<sid>``
(which seats and enters it, as reticulum's join does), pushes ``naf``, and
on the hot path only walks the websocket framing to count frames, exactly
like the WAMP member, so both cost the generator the same.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wampload import EVENT, Codec, Member, PublishTemplate, client_frame

REPLY = "phx_reply"


def sent_of_any(msg: list[Any]) -> float:
    """The send time of a room NAF event, a WAMP EVENT or a Phoenix ``naf`` push."""
    if msg[0] == EVENT:
        return float(msg[5]["data"]["d"][0]["sent"])
    return float(msg[4]["data"]["d"][0]["sent"])


class PhoenixMember(Member):
    """One Phoenix socket; C{call} is replaced by L{join_hub} and L{push}."""

    phoenix = True

    def __init__(self, codec: Codec, host: str, port: int, stats: Any) -> None:
        super().__init__(codec, host, port, "/socket/websocket?vsn=2.0.0", "", [], stats, True)
        self._ref = 0
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.channel = ""
        self.join_ref: str | None = None

    def upgrade_headers(self) -> str:
        return ""  # no subprotocol: the vsn in the path picks the serializer

    def opened(self) -> None:
        """The websocket is open: the socket is ready (no handshake of its own)."""
        self.alive = True
        self._ready()

    def send_frame(self, frame: list[Any]) -> None:
        data, _ = client_frame(json.dumps(frame, separators=(",", ":")).encode(), 1, self.mask)
        self.transport.write(data)

    def push(self, topic: str, event: str, payload: dict[str, Any], join_ref: str | None) -> str:
        self._ref += 1
        ref = str(self._ref)
        self.send_frame([join_ref, ref, topic, event, payload])
        return ref

    async def request(
        self, topic: str, event: str, payload: dict[str, Any], join_ref: str | None = None
    ) -> dict[str, Any]:
        """Push and wait for the reply; RuntimeError for an error reply."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        ref = self.push(topic, event, payload, join_ref)
        self._replies[ref] = fut
        reply = await fut
        if reply["status"] != "ok":
            raise RuntimeError(f"{event} on {topic}: {reply['response']}")
        response: dict[str, Any] = reply["response"]
        return response

    async def join_hub(self, hub_sid: str, n: int, token: str | None) -> dict[str, Any]:
        """phx_join hub:<sid> with the Hubs join params: the join reply."""
        self.channel = f"hub:{hub_sid}"
        self.hub_sid = hub_sid
        params: dict[str, Any] = {
            "profile": {"displayName": f"bench member {n}", "avatarId": "a"},
            "context": {"mobile": False, "embed": False, "hmd": False},
        }
        if token is not None:
            params["creator_assignment_token"] = token
        self._ref += 1
        ref = str(self._ref)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[ref] = fut
        self.send_frame([ref, ref, self.channel, "phx_join", params])
        reply = await fut
        if reply["status"] != "ok":
            raise RuntimeError(f"join {self.channel}: {reply['response']}")
        self.join_ref = ref
        self.session_id = reply["response"]["session_id"]
        return dict(reply["response"])

    def _on_message(self, msg: list[Any], size: int) -> None:
        if not isinstance(msg, list) or len(msg) != 5:
            return
        _, ref, _, event, payload = msg
        if event == REPLY and ref in self._replies:
            self._replies.pop(ref).set_result(payload)
        elif event != REPLY:
            self.received += 1

    def template(self, body: dict[str, Any], place: Any) -> PublishTemplate:
        return _PhoenixTemplate(self.codec, self.channel, body, self.mask, place)


class _PhoenixTemplate(PublishTemplate):
    def __init__(self, codec: Codec, channel: str, body: dict[str, Any], mask: bytes, place: Any):
        super().__init__(codec, channel, body, mask, True, place, phoenix=True)
