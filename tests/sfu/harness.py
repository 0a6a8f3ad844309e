"""A hubsd daemon with the aiortc SFU in this process, and members that publish and listen."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from autobahn.wamp.exception import ApplicationError
from twisted.internet import reactor
from twisted.internet.task import deferLater

from hubsd.service import HubsdService
from tests.phoenix.pyclient import PhoenixClient
from tests.phoenix.pyclient import connect as phoenix_connect
from tests.rooms.wampclient import Member, connect, start_daemon
from tests.sfu import peers
from tests.wamp.harness import Inbox, timeout

Refusal = TypeVar("Refusal", bound=Exception)

PERMISSIVE = {"voice_chat": True, "text_chat": True}


def write_config(
    state_dir: Path, port: int, sfu: str = "", rooms: str = "", backend: str = "aiortc"
) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    ini = state_dir / "hubsd.ini"
    ini.write_text(
        f"[hubsd]\nstate_dir = {state_dir}\n"
        f"[listen]\nweb = tcp:{port}:interface=127.0.0.1\n"
        "[storage]\nbackend = memory\n"
        "[files]\nbackend = memory\n"
        f"[rooms]\n{rooms}\n"
        f"[sfu]\nbackend = {backend}\n{sfu}\n"
    )
    return ini


async def sleep(seconds: float) -> None:
    await deferLater(reactor, seconds, lambda: None)


async def poll(check: Any, seconds: float = 10.0, every: float = 0.05) -> Any:
    """Wait until C{check()} (maybe async) is true; its last value."""
    waited = 0.0
    while True:
        value = check()
        if hasattr(value, "__await__"):
            value = await value
        if value:
            return value
        if waited >= seconds:
            raise AssertionError(f"not true after {seconds}s: {check}")
        await sleep(every)
        waited += every


class MediaMember:
    """A room member with its SFU events, its publisher and its subscriptions."""

    def __init__(self, member: Member, loop: peers.Loop, hub_sid: str) -> None:
        self.member = member
        self.loop = loop
        self.hub_sid = hub_sid
        self.events = Inbox()
        self.publisher: peers.Peer | None = None
        self.publisher_handle: str | None = None
        self.subscriptions: dict[str, tuple[str, peers.Peer]] = {}

    @property
    def session_id(self) -> str:
        return self.member.session_id

    async def sfu(self, procedure: str, **kwargs: Any) -> Any:
        return await timeout(self.member.client.call("hubsd.sfu." + procedure, **kwargs), 30)

    async def join_media(self, token: str | None = None) -> Any:
        await timeout(self.member.client.subscribe(self.events, f"hubsd.sfu.{self.hub_sid}.events"))
        perms = token if token is not None else self.member.joined["perms_token"]
        return await self.sfu("join", hub_sid=self.hub_sid, perms_token=perms)

    async def publish(self, video: bool = False) -> str:
        peer, offer = await self.loop.run(peers.publisher_offer(video))
        reply = await self.sfu("publish", hub_sid=self.hub_sid, sdp=offer)
        await self.loop.run(peers.accept_answer(peer, reply["sdp"]))
        self.publisher, self.publisher_handle = peer, reply["handle_id"]
        return str(reply["handle_id"])

    async def subscribe(self, other: MediaMember) -> peers.Peer:
        reply = await self.sfu("subscribe", hub_sid=self.hub_sid, session_id=other.session_id)
        peer, answer = await self.loop.run(peers.subscriber_answer(reply["sdp"]))
        await self.sfu("answer", handle_id=reply["handle_id"], sdp=answer)
        self.subscriptions[other.session_id] = (reply["handle_id"], peer)
        return peer

    def heard(self, other: MediaMember, kind: str = "audio") -> int:
        """How many of C{other}'s sent payloads this member received, byte for byte."""
        _, peer = self.subscriptions[other.session_id]
        assert other.publisher is not None
        return sum(1 for h in peer.received[kind] if h in other.publisher.sent)

    def events_of(self, name: str) -> list[dict[str, Any]]:
        return [kw for _, kw in self.events.events if kw.get("event") == name]

    async def close_peers(self) -> None:
        for peer in [self.publisher] + [p for _, p in self.subscriptions.values()]:
            if peer is not None:
                await self.loop.run(peers.close(peer))


class PhoenixRefused(Exception):
    """A Phoenix error reply to an ``sfu:*`` request: C{reason} and C{message}."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__(response)
        self.response = response
        self.reason = response.get("reason")
        self.message = response.get("message")


class PhoenixMediaMember(MediaMember):
    """
    A member on a Phoenix socket: its hub channel's ``sfu:*`` requests stand
    for the WAMP procedures (the channel names the room, so no ``hub_sid``),
    its ``sfu:*`` pushes for the WAMP events; publishing, subscribing and
    what it heard are L{MediaMember}'s.
    """

    def __init__(
        self, client: PhoenixClient, joined: dict[str, Any], loop: peers.Loop, hub_sid: str
    ) -> None:
        self.client = client
        self.joined = joined
        self.loop = loop
        self.hub_sid = hub_sid
        self.topic = f"hub:{hub_sid}"
        self.publisher = None
        self.publisher_handle = None
        self.subscriptions = {}

    @property
    def session_id(self) -> str:
        return str(self.joined["session_id"])

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The whole reply to one request on the hub channel."""
        return await self.client.request(self.topic, event, payload)

    async def sfu(self, procedure: str, **kwargs: Any) -> Any:
        kwargs.pop("hub_sid", None)
        reply = await self.request("sfu:" + procedure, kwargs)
        if reply["status"] != "ok":
            raise PhoenixRefused(reply["response"])
        return reply["response"]

    async def join_media(self, token: str | None = None) -> Any:
        perms = token if token is not None else self.joined["perms_token"]
        return await self.sfu("join", perms_token=perms)

    def events_of(self, name: str) -> list[dict[str, Any]]:
        return [f[4] for f in self.client.frames if f[2] == self.topic and f[3] == "sfu:" + name]


async def phoenix_member(
    service: HubsdService, loop: peers.Loop, sid: str, name: str
) -> PhoenixMediaMember:
    """A Phoenix socket seated in room C{sid} (not yet joined to its media)."""
    client = await phoenix_connect(service.test_port)  # type: ignore[attr-defined]
    joined = await client.join_hub(sid, name)
    return PhoenixMediaMember(client, joined, loop, sid)


async def flowing(m: MediaMember, other: MediaMember, kind: str = "audio", n: int = 10) -> None:
    start = m.heard(other, kind)
    await poll(lambda: m.heard(other, kind) >= start + n, seconds=20)


async def stays_silent(m: MediaMember, other: MediaMember, kind: str = "audio") -> None:
    # A packet or two may be on the wire when the rule applies.
    await sleep(0.3)
    before = m.heard(other, kind)
    await sleep(1.0)
    assert m.heard(other, kind) <= before + 1


LEAK_KEYS = ("handles", "peer_connections", "udp_sockets", "tasks", "threads")


async def baseline(daemon: Any) -> dict[str, int]:
    stats = await daemon.sfu.stats()
    counts = {k: stats[k] for k in LEAK_KEYS}
    # The daemon's side: handles the signalling and the supervisor know, and
    # requests waiting for a worker's reply.
    signalling = daemon.sfu_signalling.signalling
    counts["daemon_handles"] = len(signalling.handles)
    counts["placed_handles"] = len(daemon.sfu.supervisor.handles)
    counts["pending"] = sum(len(w._pending) for w in daemon.sfu.supervisor.workers if w)
    return counts


async def back_to(daemon: Any, before: dict[str, int]) -> None:
    async def same() -> bool:
        return await baseline(daemon) == before

    try:
        await poll(same, seconds=15, every=0.2)
    except AssertionError:
        stats = await daemon.sfu.stats()
        raise AssertionError(f"leaked: {stats} after, {before} before") from None


async def room_of(service: HubsdService, n: int) -> tuple[str, list[Member]]:
    port = service.test_port  # type: ignore[attr-defined]
    owner = await connect(port)
    created = await owner.call("create", name="Voice room", member_permissions=PERMISSIVE)
    sid = created["hub_sid"]
    await owner.join(sid, "Owner", creator_token=created["creator_token"])
    others = []
    for i in range(n - 1):
        m = await connect(port)
        await m.join(sid, f"Member {i}")
        others.append(m)
    return sid, [owner, *others]


async def media_room(
    service: HubsdService, loop: peers.Loop, n: int
) -> tuple[str, list[MediaMember]]:
    sid, members = await room_of(service, n)
    media = [MediaMember(m, loop, sid) for m in members]
    for m in media:
        await m.join_media()
    return sid, media


async def refused(d: Any, error: type[Refusal] = ApplicationError) -> Refusal:  # type: ignore[assignment]
    """The refusal C{d} fails with: a WAMP error, or (C{PhoenixRefused}) a Phoenix error reply."""
    try:
        await d
    except error as e:
        return e
    raise AssertionError("the call was not refused")


__all__ = [
    "MediaMember",
    "PhoenixMediaMember",
    "media_room",
    "phoenix_member",
    "poll",
    "refused",
    "room_of",
    "sleep",
    "start_daemon",
]
