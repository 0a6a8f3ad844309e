"""
The SFU benchmark's load generator: real WebRTC peers that cost little.

aiortc does what must be real (ICE, DTLS, SRTP keys, SDP); once a peer is
connected the hot paths skip it:

- a publisher's packets are built from prerecorded frames
  (bench/sfumedia.py), protected with the peer's own SRTP session and handed
  to its UDP socket directly: no encoder, no track, no per-packet task;
- a subscriber's datagrams are taken in the socket callback, before aioice's
  queue and aiortc's SRTP/RTP parsing: the RTP header is in clear text under
  SRTP, so sequence number, timestamp and SSRC are read without decrypting.
  One packet in SAMPLE_EVERY is decrypted to check that its payload is byte
  for byte one that was sent (the SFU forwards, it must not re-encode).

Host candidates are 127.0.0.1 only and no STUN server is configured, so no
packet leaves loopback.
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy
from sfumedia import (
    AUDIO_INTERVAL,
    OPUS_FRAME,
    OPUS_RATE,
    VIDEO_FPS,
    VIDEO_INTERVAL,
    VIDEO_RATE,
    Recording,
    rtp_packet,
    rtp_payload,
)

SAMPLE_EVERY = 61  # prime, so that no stream of a bundle is always skipped
_RTP_FIELDS = struct.Struct("!HII")


def host_address_only(address: str) -> None:
    """Make aioice gather C{address} only (the bench's private interface)."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [address]


def _config() -> RTCConfiguration:
    # No iceServers: aiortc would otherwise ask a public STUN server.
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


class _SilentTrack(MediaStreamTrack):
    """A track that never yields: aiortc's sender loop waits on it forever,
    so it sends nothing and wakes nobody; the publisher sends by itself."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        return await self._never


def _dtls_and_pair(pc: RTCPeerConnection) -> tuple[Any, Any]:
    transceiver = pc.getTransceivers()[0]
    dtls = transceiver.receiver.transport
    connection = dtls.transport._connection
    return dtls, connection


async def _until_connected(pc: RTCPeerConnection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed"):
            raise ConnectionError(f"peer connection {pc.connectionState}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"peer connection still {pc.connectionState} after {timeout} s")
        await asyncio.sleep(0.05)


class Publisher:
    """Sends one Opus stream (and optionally one VP8 stream) at the real rate."""

    def __init__(self, index: int, recording: Recording, video: bool) -> None:
        self.index = index
        self.recording = recording
        self.video = video
        self.pc = RTCPeerConnection(_config())
        self.sent = 0
        self.sent_video = 0
        self.send_errors = 0
        self._send: Callable[[bytes], None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._audio_pt = self._video_pt = 0
        self._audio_ssrc = self._video_ssrc = 0

    async def offer(self) -> str:
        self.pc.addTransceiver(_SilentTrack("audio"), direction="sendonly")
        if self.video:
            self.pc.addTransceiver(_SilentTrack("video"), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str, timeout: float = 30.0) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await _until_connected(self.pc, timeout)
        dtls, connection = _dtls_and_pair(self.pc)
        pair = connection._nominated[1]
        udp, addr, srtp = pair.protocol.transport, pair.remote_addr, dtls._tx_srtp

        def send(packet: bytes) -> None:
            try:
                udp.sendto(srtp.protect(packet), addr)
            except OSError:
                self.send_errors += 1

        self._send = send
        for transceiver in self.pc.getTransceivers():
            codec = transceiver._codecs[0]
            if transceiver.kind == "audio":
                self._audio_pt, self._audio_ssrc = codec.payloadType, transceiver.sender._ssrc
            else:
                self._video_pt, self._video_ssrc = codec.payloadType, transceiver.sender._ssrc

    def start(self, loop: asyncio.AbstractEventLoop, t0: float, offset: float) -> None:
        """Send from loop time C{t0 + offset} on, on a fixed schedule (no drift)."""
        rnd = random.Random(self.index)
        frames = self.recording.audio
        seq0, ts0 = rnd.randrange(1 << 16), rnd.randrange(1 << 32)

        def audio(k: int) -> None:
            assert self._send is not None
            payload = frames[k % len(frames)]
            self._send(
                rtp_packet(
                    self._audio_pt,
                    seq0 + k,
                    ts0 + k * OPUS_FRAME,
                    self._audio_ssrc,
                    payload,
                    k == 0,
                )
            )
            self.sent += 1
            self._timers[0] = loop.call_at(t0 + offset + (k + 1) * AUDIO_INTERVAL, audio, k + 1)

        self._timers.append(loop.call_at(t0 + offset, audio, 0))
        if self.video and self.recording.video:
            vframes = self.recording.video
            vseq = [rnd.randrange(1 << 16)]
            vts0 = rnd.randrange(1 << 32)

            def video(k: int) -> None:
                assert self._send is not None
                payloads = vframes[k % len(vframes)]
                for i, payload in enumerate(payloads):
                    self._send(
                        rtp_packet(
                            self._video_pt,
                            vseq[0],
                            vts0 + k * (VIDEO_RATE // VIDEO_FPS),
                            self._video_ssrc,
                            payload,
                            i == len(payloads) - 1,
                        )
                    )
                    vseq[0] += 1
                    self.sent_video += 1
                self._timers[1] = loop.call_at(t0 + offset + (k + 1) * VIDEO_INTERVAL, video, k + 1)

            self._timers.append(loop.call_at(t0 + offset, video, 0))

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()

    async def close(self) -> None:
        self.stop()
        await self.pc.close()


class Stream:
    """What one receiver saw of one forwarded stream (one SSRC)."""

    __slots__ = (
        "received",
        "ext_max",
        "last_seq",
        "last_ts",
        "repeats",
        "transit",
        "jitter",
        "late",
        "rate",
        "first_ext",
    )

    def __init__(self, seq: int, rate: int) -> None:
        self.received = 0
        self.ext_max = seq
        self.first_ext = seq
        self.last_seq = seq
        self.last_ts = -1
        self.repeats = 0  # new sequence number, same timestamp: an audio packet sent twice
        self.transit: float | None = None
        self.jitter = 0.0  # RFC 3550 interarrival jitter, in seconds
        self.late = 0  # duplicates or reordered packets
        self.rate = rate

    def snapshot(self) -> tuple[int, int]:
        return self.received, self.ext_max


class Subscriber:
    """Receives forwarded streams; counts them in the socket callback."""

    def __init__(self, index: int, payloads: frozenset[bytes]) -> None:
        self.index = index
        self.pc = RTCPeerConnection(_config())
        self.payloads = payloads
        self.streams: dict[int, Stream] = {}
        self.rates: dict[int, int] = {}
        self.rtcp = 0
        self.sampled = 0
        self.payload_ok = 0
        self.payload_bad = 0
        self.srtp_errors = 0

    async def answer(self, offer: str, timeout: float = 30.0) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        for transceiver in self.pc.getTransceivers():
            for codec in transceiver._codecs:
                self.rates[codec.payloadType] = codec.clockRate
        self._hook()
        return str(self.pc.localDescription.sdp)

    async def connected(self, timeout: float = 30.0) -> None:
        await _until_connected(self.pc, timeout)

    def _hook(self) -> None:
        """Take RTP and RTCP from the sockets of this peer before aiortc."""
        dtls, connection = _dtls_and_pair(self.pc)
        streams, rates = self.streams, self.rates
        unpack, clock = _RTP_FIELDS.unpack_from, time.monotonic
        countdown = [SAMPLE_EVERY]

        def sink(data: bytes, original: Callable[[bytes, Any], None], addr: Any) -> None:
            b0 = data[0]
            if b0 < 128 or b0 > 191:  # STUN and DTLS: aioice and aiortc
                original(data, addr)
                return
            if 192 <= data[1] <= 223:  # RTCP: not needed to count media
                self.rtcp += 1
                return
            now = clock()
            seq, ts, ssrc = unpack(data, 2)
            st = streams.get(ssrc)
            if st is None:
                st = streams[ssrc] = Stream(seq, rates.get(data[1] & 0x7F, OPUS_RATE))
            else:
                delta = (seq - st.last_seq) & 0xFFFF
                if delta == 0 or delta >= 0x8000:
                    st.late += 1
                    return
                st.ext_max += delta
                st.last_seq = seq
            st.received += 1
            if ts == st.last_ts and st.rate == OPUS_RATE:
                st.repeats += 1
            st.last_ts = ts
            transit = now - ts / st.rate
            if st.transit is not None:
                d = transit - st.transit
                if d < 0:
                    d = -d
                if d < 1.0:  # an RTP timestamp wrap or a publisher restart
                    st.jitter += (d - st.jitter) / 16
            st.transit = transit
            countdown[0] -= 1
            if countdown[0] == 0:
                countdown[0] = SAMPLE_EVERY
                self._sample(dtls, data)

        for protocol in connection._protocols:
            original = protocol.datagram_received
            protocol.datagram_received = lambda data, addr, original=original: sink(
                data, original, addr
            )

    def _sample(self, dtls: Any, data: bytes) -> None:
        if dtls._rx_srtp is None:
            return
        self.sampled += 1
        try:
            clear = dtls._rx_srtp.unprotect(data)
        except Exception:
            self.srtp_errors += 1
            return
        if rtp_payload(clear) in self.payloads:
            self.payload_ok += 1
        else:
            self.payload_bad += 1

    async def close(self) -> None:
        await self.pc.close()


def totals(subscribers: list[Subscriber]) -> dict[int, tuple[int, int]]:
    """(received, highest extended sequence) per (subscriber, SSRC)."""
    out = {}
    for sub in subscribers:
        for ssrc, st in sub.streams.items():
            out[(sub.index << 32) | ssrc] = st.snapshot()
    return out
