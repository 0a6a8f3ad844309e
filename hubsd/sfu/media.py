"""
The media plane of one SFU worker: peer connections and forwarding.

L{MediaPlane} knows handles, not rooms or members: a *publisher* handle is
a peer connection that receives one member's audio (and video); a
*subscriber* handle is a peer connection that sends one publisher's streams
to one member. Which handle may subscribe to which, who is blocked or muted,
is decided in the daemon (L{hubsd.sfu.signalling}) and told here. Packets go
from a publisher's receivers straight into each subscriber's L{Leg}; nothing
is decoded (L{hubsd.sfu.aiortc_hooks}).

Runs on asyncio inside the worker process (L{hubsd.sfu.worker}).
"""

from __future__ import annotations

import asyncio
import gc
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.rtp import RtpPacket

from hubsd.sfu import aiortc_hooks as hooks
from hubsd.sfu.aiortc_hooks import Leg
from hubsd.sfu.shedding import Shedding

AUDIO_CODEC = "audio/opus"
VIDEO_CODEC = "video/VP8"
#: Keyframe requests a publisher gets at most this often, whoever asks.
KEYFRAME_INTERVAL = 0.2
#: Remote candidates one handle accepts.
MAX_CANDIDATES = 64

Emit = Callable[[dict[str, Any]], None]


class MediaError(Exception):
    """A request the media plane refuses: C{name} is the error's short name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _codecs(kind: str, mime: str) -> list[Any]:
    caps = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in caps if c.mimeType.lower() == mime.lower()]
    if kind == "video":
        chosen += [c for c in caps if c.mimeType.lower() == "video/rtx"]
    return chosen


def check_offer(text: object) -> list[str]:
    """The media kinds of a publisher's offer; MediaError unless hubsd can take it."""
    if not isinstance(text, str) or not text.strip() or len(text) > 65536:
        raise MediaError("bad_sdp", "sdp must be an SDP offer of at most 64 KiB")
    try:
        description = aiortc_sdp.SessionDescription.parse(text)
    except Exception as e:
        raise MediaError("bad_sdp", f"SDP does not parse: {type(e).__name__}") from None
    if any(m.kind == "application" for m in description.media):
        raise MediaError(
            "bad_sdp",
            "data channels are not relayed: send networked-aframe messages on the room's topic",
        )
    kinds = [m.kind for m in description.media if m.kind in ("audio", "video")]
    if kinds.count("audio") != 1 or kinds.count("video") > 1:
        raise MediaError("bad_sdp", "a publisher offers one audio and at most one video section")
    for media in description.media:
        if media.kind not in ("audio", "video"):
            continue
        want = AUDIO_CODEC if media.kind == "audio" else VIDEO_CODEC
        if not any(f"{media.kind}/{c.name}".lower() == want.lower() for c in media.rtp.codecs):
            raise MediaError(
                "unsupported_codec", f"{media.kind} must be offered as {want.split('/')[1]}"
            )
    return sorted(set(kinds))


def announce(text: str, mapping: dict[str, str]) -> str:
    """SDP with the host candidates' addresses replaced by their public ones."""
    if not mapping:
        return text

    def swap(match: re.Match[str]) -> str:
        return match.group(1) + mapping.get(match.group(2), match.group(2)) + match.group(3)

    text = re.sub(r"(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host)", swap, text)
    return re.sub(r"(c=IN IP[46] )(\S+)()", swap, text)


class _Handle:
    kind = ""

    def __init__(self, plane: MediaPlane, handle_id: str, pc: RTCPeerConnection) -> None:
        self.plane = plane
        self.id = handle_id
        self.pc = pc
        self.connected = False
        self.closed = False
        self.candidates = 0
        pc.on("connectionstatechange", self._state_changed)

    def _state_changed(self) -> None:
        state = self.pc.connectionState
        if state == "connected" and not self.connected:
            self.connected = True
            self.plane.emit({"event": "connected", "handle": self.id})
        elif state in ("failed", "closed") and not self.closed:
            asyncio.ensure_future(self.plane.close(self.id, "failed"))

    async def close(self) -> None:
        self.closed = True
        await self.pc.close()


class Publisher(_Handle):
    kind = "publisher"

    def __init__(self, plane: MediaPlane, handle_id: str, pc: RTCPeerConnection) -> None:
        super().__init__(plane, handle_id, pc)
        self.audio_muted = False
        #: What it sends: ["audio"] or ["audio", "video"] (its offer's sections).
        self.kinds: list[str] = []
        self.subscribers: set[Subscriber] = set()
        self._audio: tuple[Leg, ...] = ()
        self._video: tuple[Leg, ...] = ()
        self.video_receiver: Any = None
        self.video_ssrc: int | None = None
        self._last_keyframe_request = 0.0
        self.received = 0
        #: Packets not forwarded because they were already late (L{shedding}).
        self.shed = 0

    def relink(self) -> None:
        self._audio = tuple(s.legs["audio"] for s in self.subscribers if "audio" in s.legs)
        self._video = tuple(s.legs["video"] for s in self.subscribers if "video" in s.legs)

    def on_audio(self, packet: RtpPacket, arrived: float) -> None:
        self.received += 1
        if self.audio_muted:
            return
        if self.plane.shedding.late(arrived):
            self.shed += 1
            return
        for leg in self._audio:
            leg.forward(packet)

    def on_video(self, packet: RtpPacket, arrived: float) -> None:
        self.received += 1
        self.video_ssrc = packet.ssrc
        if self.plane.shedding.late(arrived):
            self.shed += 1
            return
        for leg in self._video:
            leg.forward(packet)

    def request_keyframe(self) -> None:
        now = hooks.now()
        if self.video_ssrc is None or now - self._last_keyframe_request < KEYFRAME_INTERVAL:
            return
        self._last_keyframe_request = now
        hooks.request_keyframe(self.video_receiver, self.video_ssrc)


class Subscriber(_Handle):
    kind = "subscriber"

    def __init__(
        self, plane: MediaPlane, handle_id: str, pc: RTCPeerConnection, publisher: Publisher
    ) -> None:
        super().__init__(plane, handle_id, pc)
        self.publisher = publisher
        self.legs: dict[str, Leg] = {}
        self.blocked = False

    def keyframe(self) -> None:
        if not self.blocked and not self.closed:
            self.publisher.request_keyframe()


class MediaPlane:
    """All handles of one worker (see module docstring)."""

    def __init__(
        self,
        emit: Emit,
        ice_timeout: float = 15.0,
        public: dict[str, str] | None = None,
        shedding: Shedding | None = None,
    ) -> None:
        self.emit = emit
        #: Ticking on the running loop: the plane is made inside the worker's.
        self.shedding = shedding or Shedding()
        self.shedding.start(asyncio.get_running_loop())
        self.ice_timeout = ice_timeout
        self.public = dict(public or {})
        self.handles: dict[str, Publisher | Subscriber] = {}
        #: Handles being set up, and those of them asked to close meanwhile.
        self._creating: set[str] = set()
        self._cancelled: set[str] = set()
        self._pcs: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()
        #: Packets counted by handles that have ended (totals never go down).
        self._forwarded_closed = 0
        self._dropped_closed = 0
        self._received_closed = 0
        self._shed_closed = 0

    def _new_pc(self) -> RTCPeerConnection:
        # No STUN or TURN server: the host candidates are the configured
        # addresses (announced as the public ones where set).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pcs.add(pc)
        return pc

    def _handle(self, handle_id: object) -> Publisher | Subscriber:
        handle = self.handles.get(handle_id) if isinstance(handle_id, str) else None
        if handle is None:
            raise MediaError("no_such_handle", "no such handle")
        return handle

    def _new_id(self, handle_id: object) -> str:
        if not isinstance(handle_id, str) or not handle_id or len(handle_id) > 64:
            raise MediaError("bad_request", "a handle id is a string of 1 to 64 characters")
        if handle_id in self.handles or handle_id in self._creating:
            raise MediaError("bad_request", "that handle exists")
        self._creating.add(handle_id)
        return handle_id

    async def _watch(self, handle: _Handle) -> None:
        self._creating.discard(handle.id)
        if handle.id in self._cancelled:
            self._cancelled.discard(handle.id)
            await handle.close()
            raise MediaError("bad_request", "closed while it was set up")
        self.handles[handle.id] = handle  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        loop.call_later(self.ice_timeout, self._check_connected, handle)

    def _check_connected(self, handle: _Handle) -> None:
        if not handle.connected and self.handles.get(handle.id) is handle:
            asyncio.ensure_future(self.close(handle.id, "ice_timeout"))

    async def publish(self, handle: object, sdp: object, muted: bool = False) -> dict[str, Any]:
        """Answer a publisher's offer; its streams are forwarded once connected."""
        kinds = check_offer(sdp)
        handle_id = self._new_id(handle)
        pc = self._new_pc()
        pub = Publisher(self, handle_id, pc)
        pub.audio_muted = bool(muted)
        pub.kinds = kinds
        try:
            for kind in kinds:
                t = pc.addTransceiver(kind, direction="recvonly")
                mime = AUDIO_CODEC if kind == "audio" else VIDEO_CODEC
                t.setCodecPreferences(_codecs(kind, mime))
                hooks.tap_receiver(
                    t.receiver,
                    pub.on_audio if kind == "audio" else pub.on_video,
                    self.shedding.arrival,
                )
                if kind == "video":
                    pub.video_receiver = t.receiver
            await pc.setRemoteDescription(RTCSessionDescription(sdp=str(sdp), type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as e:
            self._creating.discard(handle_id)
            self._cancelled.discard(handle_id)
            await pc.close()
            raise MediaError("bad_sdp", f"offer refused: {e}") from None
        await self._watch(pub)
        return {"sdp": announce(pc.localDescription.sdp, self.public), "kinds": kinds}

    async def subscribe(
        self, handle: object, publisher: object, blocked: bool = False
    ) -> dict[str, Any]:
        """
        An offer that sends the publisher's streams to a new peer: audio, and
        video if it publishes video (no idle sender and its reports otherwise).
        """
        pub = self._handle(publisher)
        if not isinstance(pub, Publisher):
            raise MediaError("no_such_publisher", "that handle does not publish")
        handle_id = self._new_id(handle)
        pc = self._new_pc()
        sub = Subscriber(self, handle_id, pc, pub)
        sub.blocked = bool(blocked)
        for kind, mime in (("audio", AUDIO_CODEC), ("video", VIDEO_CODEC)):
            if kind not in pub.kinds:
                continue
            t = pc.addTransceiver(kind, direction="sendonly")
            t.setCodecPreferences(_codecs(kind, mime))
            leg = Leg(t.sender, sub.keyframe if kind == "video" else None)
            leg.pause(sub.blocked)
            sub.legs[kind] = leg
        try:
            await pc.setLocalDescription(await pc.createOffer())
        except BaseException:
            self._creating.discard(handle_id)
            await pc.close()
            raise
        await self._watch(sub)
        if self.handles.get(pub.id) is not pub:  # the publisher went meanwhile
            await self.close(handle_id)
            raise MediaError("no_such_publisher", "that handle stopped publishing")
        pub.subscribers.add(sub)
        pub.relink()
        return {"sdp": announce(pc.localDescription.sdp, self.public)}

    async def answer(self, handle: object, sdp: object) -> None:
        sub = self._handle(handle)
        if not isinstance(sub, Subscriber) or sub.pc.signalingState != "have-local-offer":
            raise MediaError("bad_request", "this handle expects no answer")
        if not isinstance(sdp, str) or not sdp.strip() or len(sdp) > 65536:
            raise MediaError("bad_sdp", "sdp must be an SDP answer of at most 64 KiB")
        try:
            await sub.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as e:
            raise MediaError("bad_sdp", f"answer refused: {type(e).__name__}: {e}") from None

    async def candidate(self, handle: object, candidate: object) -> None:
        h = self._handle(handle)
        if candidate is None or (isinstance(candidate, dict) and not candidate.get("candidate")):
            await h.pc.addIceCandidate(None)
            return
        if not isinstance(candidate, dict) or not isinstance(candidate.get("candidate"), str):
            raise MediaError("bad_request", "candidate is {candidate, sdpMid, sdpMLineIndex}")
        h.candidates += 1
        if h.candidates > MAX_CANDIDATES:
            raise MediaError("bad_request", f"at most {MAX_CANDIDATES} candidates per handle")
        text = candidate["candidate"]
        try:
            parsed = aiortc_sdp.candidate_from_sdp(text.split(":", 1)[1] if ":" in text else text)
            mid, index = candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
            parsed.sdpMid = mid if isinstance(mid, str) else None
            parsed.sdpMLineIndex = index if isinstance(index, int) else None
            if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
                parsed.sdpMLineIndex = 0
            await h.pc.addIceCandidate(parsed)
        except Exception as e:
            raise MediaError("bad_request", f"invalid candidate: {type(e).__name__}") from None

    async def close(self, handle: object, reason: str | None = None) -> None:
        """
        End a handle (a publisher's subscribers end with it). C{reason}: the
        worker ended it on its own, and says so in a ``closed`` event.
        """
        h = self.handles.pop(handle, None) if isinstance(handle, str) else None
        if h is None:
            if handle in self._creating:
                self._cancelled.add(handle)
            return
        if reason is not None:
            self.emit({"event": "closed", "handle": h.id, "reason": reason})
        if isinstance(h, Subscriber):
            self._forwarded_closed += sum(leg.forwarded for leg in h.legs.values())
            self._dropped_closed += sum(leg.dropped for leg in h.legs.values())
            h.publisher.subscribers.discard(h)
            h.publisher.relink()
            for leg in h.legs.values():
                leg.close()
        else:
            self._received_closed += h.received
            self._shed_closed += h.shed
            for sub in list(h.subscribers):
                await self.close(sub.id, "publisher_gone")
        await h.close()

    def mute(self, handle: object, muted: bool) -> None:
        pub = self._handle(handle)
        if isinstance(pub, Publisher):
            pub.audio_muted = bool(muted)

    def block(self, handle: object, blocked: bool) -> None:
        sub = self._handle(handle)
        if not isinstance(sub, Subscriber):
            return
        was = sub.blocked
        sub.blocked = bool(blocked)
        for leg in sub.legs.values():
            leg.pause(sub.blocked)
        if was and not sub.blocked:
            sub.publisher.request_keyframe()

    async def close_all(self) -> None:
        for handle_id in list(self.handles):
            await self.close(handle_id)
        self.shedding.stop()

    def stats(self) -> dict[str, Any]:
        gc.collect()
        forwarded = sum(
            leg.forwarded
            for h in self.handles.values()
            if isinstance(h, Subscriber)
            for leg in h.legs.values()
        )
        return {
            "handles": len(self.handles),
            "publishers": sum(isinstance(h, Publisher) for h in self.handles.values()),
            "peer_connections": len(self._pcs),
            "udp_sockets": hooks.open_udp_sockets(),
            "tasks": len(asyncio.all_tasks()),
            "threads": threading.active_count(),
            "forwarded": forwarded + self._forwarded_closed,
            "dropped": self._dropped_closed
            + sum(
                leg.dropped
                for h in self.handles.values()
                if isinstance(h, Subscriber)
                for leg in h.legs.values()
            ),
            "received": sum(h.received for h in self.handles.values() if isinstance(h, Publisher))
            + self._received_closed,
            "shed": sum(h.shed for h in self.handles.values() if isinstance(h, Publisher))
            + self._shed_closed,
            "cpu_seconds": time.process_time(),
            "task_names": sorted(
                getattr(t.get_coro(), "__qualname__", "?") for t in asyncio.all_tasks()
            ),
        }
