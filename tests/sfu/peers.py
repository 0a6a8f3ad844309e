"""
Real aiortc peers for the SFU tests, on an asyncio loop in a thread of the
test process (the tests themselves run on Twisted's reactor).

Publishers send Opus-encoded noise (every packet's payload differs, so a
payload's hash names its sender) and optionally small VP8 video; every RTP
payload they send is hashed where it leaves the peer connection, before
SRTP. Subscribers record every RTP payload they receive, the same way, and
note when a VP8 key frame starts. ICE uses loopback only, with no STUN.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import os
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtp import RtpPacket, is_rtcp
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from hubsd.sfu import aiortc_hooks


class Loop:
    """An asyncio loop in a daemon thread; L{run} turns a coroutine into a Deferred."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        done = threading.Event()

        def setup() -> None:
            aiortc_hooks.restrict_ice(self.loop, ["127.0.0.1"], None)
            done.set()

        self.loop.call_soon_threadsafe(setup)
        done.wait(5)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)

        def done(f: Any) -> None:
            exc = f.exception()
            if exc is not None:
                reactor.callFromThread(d.errback, exc)  # type: ignore[attr-defined]
            else:
                reactor.callFromThread(d.callback, f.result())  # type: ignore[attr-defined]

        future.add_done_callback(done)
        return d

    def stop(self) -> None:
        async def cancel_all() -> None:
            # Peers a test left open (a vanished one, a flood's) end here, so
            # no task is destroyed pending at exit.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class _Paced(MediaStreamTrack):
    """Frames of noise every C{step} ticks of a C{rate} Hz clock, in real time."""

    rate = 48000
    step = 960

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    async def _next_pts(self) -> int:
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += self.step
            wait = self._start + self._pts / self.rate - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        return self._pts


class NoiseAudio(_Paced):
    """20 ms frames of 48 kHz mono noise."""

    kind = "audio"

    async def recv(self) -> av.AudioFrame:
        pts = await self._next_pts()
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(os.urandom(1920))
        frame.pts, frame.sample_rate = pts, 48000
        frame.time_base = fractions.Fraction(1, 48000)
        return frame


class SmallVideo(_Paced):
    """160x120 frames of noise at 15 frames per second."""

    kind = "video"
    rate = 90000
    step = 6000

    async def recv(self) -> av.VideoFrame:
        pts = await self._next_pts()
        frame = av.VideoFrame(width=160, height=120, format="yuv420p")
        for plane in frame.planes:
            plane.update(os.urandom(plane.buffer_size))
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def digest(payload: bytes) -> bytes:
    return hashlib.sha1(payload).digest()


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether a VP8 RTP payload starts a key frame (RFC 7741 descriptor, then P bit)."""
    if not payload:
        return False
    first = payload[0]
    x, s, pid = first & 0x80, first & 0x10, first & 0x07
    if not s or pid:
        return False
    i = 1
    if x:
        ext = payload[i]
        i += 1
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            i += 2 if payload[i] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            i += 1
        if ext & 0x30:  # T or K
            i += 1
    return len(payload) > i and payload[i] & 0x01 == 0


@dataclass
class Peer:
    """One client peer connection with what it sent and received."""

    pc: RTCPeerConnection
    sent: set[bytes] = field(default_factory=set)
    received: dict[str, list[bytes]] = field(default_factory=lambda: {"audio": [], "video": []})
    keyframes: list[float] = field(default_factory=list)
    first_video: float | None = None

    def received_count(self, kind: str) -> int:
        return len(self.received[kind])


def _record_sent(pc: RTCPeerConnection, peer: Peer) -> None:
    for t in pc.getTransceivers():
        dtls: Any = t.sender.transport
        if getattr(dtls, "_hubsd_tapped", False):
            continue
        dtls._hubsd_tapped = True
        original = dtls._send_rtp

        async def send(data: bytes, original: Any = original) -> None:
            if not is_rtcp(data):
                peer.sent.add(digest(RtpPacket.parse(data).payload))
            await original(data)

        dtls._send_rtp = send


def _record_received(pc: RTCPeerConnection, peer: Peer) -> None:
    for t in pc.getTransceivers():
        kind = t.kind

        async def handle(packet: RtpPacket, arrival_time_ms: int, kind: str = kind) -> None:
            peer.received[kind].append(digest(packet.payload))
            if kind == "video":
                now = time.monotonic()
                if peer.first_video is None:
                    peer.first_video = now
                if vp8_keyframe_start(packet.payload):
                    peer.keyframes.append(now)

        t.receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


def _config() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])


async def publisher_offer(video: bool = False, data: bool = False) -> tuple[Peer, str]:
    pc = RTCPeerConnection(_config())
    peer = Peer(pc)
    pc.addTrack(NoiseAudio())
    if video:
        pc.addTrack(SmallVideo())
    if data:
        pc.createDataChannel("reliable")
    await pc.setLocalDescription(await pc.createOffer())
    _record_sent(pc, peer)
    return peer, pc.localDescription.sdp


async def accept_answer(peer: Peer, sdp: str) -> None:
    await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
    _record_sent(peer.pc, peer)


async def subscriber_answer(offer: str) -> tuple[Peer, str]:
    pc = RTCPeerConnection(_config())
    peer = Peer(pc)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    _record_received(pc, peer)
    await pc.setLocalDescription(await pc.createAnswer())
    return peer, pc.localDescription.sdp


async def close(peer: Peer) -> None:
    await peer.pc.close()


async def vanish(peer: Peer) -> None:
    """Stop answering anything, without a DTLS close or an ICE goodbye."""
    for t in peer.pc.getTransceivers():
        ice: Any = t.sender.transport.transport
        for protocol in list(ice._connection._protocols):
            if protocol.transport is not None:
                protocol.transport.close()
