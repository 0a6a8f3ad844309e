"""The SFU benchmark's RTP packet builder and parser (bench/sfumedia.py).

Only the pure packet code is tested here; the benchmark itself is run by
hand (docs/benchmarks.md) and never from the test suite.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import sfumedia  # noqa: E402


def test_rtp_packet_header_fields() -> None:
    packet = sfumedia.rtp_packet(111, 0x1_0005, 0x1_0000_0007, 0xDEADBEEF, b"opus", marker=True)
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", packet[:12])
    assert b0 == 0x80  # version 2, no padding, extension or CSRC
    assert b1 == 0x80 | 111
    assert (seq, ts, ssrc) == (5, 7, 0xDEADBEEF)  # wrapped to 16 and 32 bits
    assert packet[12:] == b"opus"
    assert not sfumedia.is_rtcp(packet)


def test_rtp_payload_skips_csrc_extension_and_padding() -> None:
    header = bytes([0x80 | 0x20 | 0x10 | 0x02, 96]) + b"\x00\x01" + b"\x00" * 8
    csrcs = b"\x11" * 8
    extension = b"\xbe\xde\x00\x01" + b"\x10\xff\x00\x00"
    packet = header + csrcs + extension + b"payload" + b"\x00\x00\x03"
    assert sfumedia.rtp_payload(packet) == b"payload"
    plain = sfumedia.rtp_packet(96, 1, 2, 3, b"abc")
    assert sfumedia.rtp_payload(plain) == b"abc"


@pytest.mark.parametrize(
    "packet", [b"", b"\x80\x60", b"\x40" + b"\x00" * 15, b"\x90" + b"\x00" * 12]
)
def test_rtp_payload_rejects_what_is_not_rtp(packet: bytes) -> None:
    with pytest.raises(ValueError):
        sfumedia.rtp_payload(packet)


def test_rtcp_is_told_from_rtp_by_packet_type() -> None:
    sender_report = bytes([0x80, 200]) + b"\x00\x06" + b"\x00" * 24
    assert sfumedia.is_rtcp(sender_report)
    # Opus on PT 111 with the marker bit set is 239: above the RTCP range.
    assert not sfumedia.is_rtcp(sfumedia.rtp_packet(111, 1, 1, 1, b"", marker=True))


def test_prerecorded_opus_is_speech_sized() -> None:
    frames = sfumedia.encode_opus(seconds=1.0)
    assert 45 <= len(frames) <= 51
    rec = sfumedia.Recording(frames)
    assert 15_000 < rec.audio_bitrate() < 60_000
    assert rec.payloads() == frozenset(frames)
