"""
Prerecorded media and RTP for the SFU benchmark (bench/sfu.py).

The generator never encodes while it measures: it encodes a few seconds of
Opus voice (and optionally 320x240 VP8) once at start-up, then loops over the
encoded frames, wrapping each in a 12-byte RTP header. Payloads are kept in
a set so that a receiver can check that a forwarded payload is byte for byte
one that was sent.
"""

from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass, field
from fractions import Fraction

#: Audio: 20 ms Opus frames, 50 packets/s per publisher, as browsers send.
OPUS_RATE = 48000
OPUS_FRAME = 960
AUDIO_INTERVAL = OPUS_FRAME / OPUS_RATE
#: Video: 30 frames/s at 90 kHz.
VIDEO_RATE = 90000
VIDEO_FPS = 30
VIDEO_INTERVAL = 1 / VIDEO_FPS

_HEADER = struct.Struct("!BBHII")


def rtp_packet(
    payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = False
) -> bytes:
    """A version-2 RTP packet with no CSRC, extension or padding."""
    return (
        _HEADER.pack(
            0x80,
            (0x80 if marker else 0) | (payload_type & 0x7F),
            seq & 0xFFFF,
            timestamp & 0xFFFFFFFF,
            ssrc & 0xFFFFFFFF,
        )
        + payload
    )


def rtp_payload(packet: bytes) -> bytes:
    """The payload of an RTP packet, past CSRCs, header extension and padding."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        raise ValueError("not an RTP packet")
    offset = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        if len(packet) < offset + 4:
            raise ValueError("truncated RTP header extension")
        offset += 4 + 4 * int.from_bytes(packet[offset + 2 : offset + 4], "big")
    end = len(packet)
    if packet[0] & 0x20:
        end -= packet[-1]
    if end < offset:
        raise ValueError("truncated RTP packet")
    return packet[offset:end]


def is_rtcp(packet: bytes) -> bool:
    """RTCP and RTP share the port (rtcp-mux): RTCP packet types are 192-223."""
    return len(packet) > 1 and 192 <= packet[1] <= 223


@dataclass
class Recording:
    """Encoded frames to loop over; a video frame is a list of RTP payloads."""

    audio: list[bytes]
    video: list[list[bytes]] = field(default_factory=list)

    def payloads(self) -> frozenset[bytes]:
        return frozenset(self.audio) | frozenset(p for f in self.video for p in f)

    def audio_bitrate(self) -> float:
        return sum(len(p) for p in self.audio) * 8 / (len(self.audio) * AUDIO_INTERVAL)

    def video_bitrate(self) -> float:
        if not self.video:
            return 0.0
        size = sum(len(p) for f in self.video for p in f)
        return size * 8 / (len(self.video) * VIDEO_INTERVAL)


def voice_samples(seconds: float, seed: int = 7) -> list[int]:
    """Voice-like 16-bit mono samples: a gliding pitch with harmonics, syllable
    envelope and a little noise, so that Opus produces speech-sized frames."""
    rnd = random.Random(seed)
    out = []
    phase = 0.0
    for n in range(int(seconds * OPUS_RATE)):
        t = n / OPUS_RATE
        pitch = 140 + 40 * math.sin(2 * math.pi * 0.7 * t)
        phase += 2 * math.pi * pitch / OPUS_RATE
        envelope = max(0.0, math.sin(2 * math.pi * 2.5 * t)) ** 0.5
        tone = sum(math.sin(k * phase) / k for k in range(1, 6))
        value = 6000 * envelope * tone + rnd.gauss(0, 300)
        out.append(max(-32768, min(32767, int(value))))
    return out


def encode_opus(seconds: float = 4.0, bitrate: int = 32000) -> list[bytes]:
    """Mono Opus at C{bitrate}, one payload per 20 ms."""
    import av

    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = OPUS_RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = bitrate
    codec.time_base = Fraction(1, OPUS_RATE)
    samples = voice_samples(seconds)
    frames: list[bytes] = []
    for start in range(0, len(samples) - OPUS_FRAME + 1, OPUS_FRAME):
        frame = av.AudioFrame(format="s16", layout="mono", samples=OPUS_FRAME)
        frame.sample_rate = OPUS_RATE
        frame.pts = start
        frame.time_base = Fraction(1, OPUS_RATE)
        frame.planes[0].update(struct.pack(f"<{OPUS_FRAME}h", *samples[start : start + OPUS_FRAME]))
        frames.extend(bytes(p) for p in codec.encode(frame))
    frames.extend(bytes(p) for p in codec.encode(None))
    return [f for f in frames if f]


def encode_vp8(seconds: float = 3.0, width: int = 320, height: int = 240) -> list[list[bytes]]:
    """VP8 at 320x240, 30 fps, as RTP payloads (aiortc's packetizer); the
    first frame is a key frame, so the loop restarts on one."""
    import av
    from aiortc.codecs.vpx import Vp8Encoder

    encoder = Vp8Encoder()
    encoder.target_bitrate = 300_000
    frames = []
    count = int(seconds * VIDEO_FPS)
    for i in range(count):
        image = av.VideoFrame(width, height, "yuv420p")
        # A moving diagonal gradient: cheap to make, not free to compress.
        y = bytes((x + 2 * row + 4 * i) & 0xFF for row in range(height) for x in range(width))
        image.planes[0].update(y)
        image.planes[1].update(bytes([128]) * (width * height // 4))
        image.planes[2].update(bytes([(96 + i) & 0xFF]) * (width * height // 4))
        image.pts = i * (VIDEO_RATE // VIDEO_FPS)
        image.time_base = Fraction(1, VIDEO_RATE)
        payloads, _ = encoder.encode(image, force_keyframe=(i == 0))
        frames.append(payloads)
    return frames
