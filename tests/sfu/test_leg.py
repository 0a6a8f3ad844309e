"""
The per-leg rewriting of hubsd.sfu.aiortc_hooks.Leg, with plain values: a
real aiortc sender, real SRTP sessions and a real UDP socket pair on
loopback, with stand-ins only for ICE's and DTLS's objects (which pair, which
session). The end-to-end tests prove the whole path; these pin the numbers.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcdtlstransport import State
from aiortc.rtp import RtcpByePacket, RtcpSdesPacket, RtcpSrPacket, RtpPacket
from pylibsrtp import Policy, Session

from hubsd.sfu.aiortc_hooks import HISTORY, REPORT_INTERVAL, Leg

SRTP_KEY = bytes(range(30))  # SRTP master key and salt, both ends


def _policy(ssrc_type: int) -> Policy:
    policy = Policy(
        key=SRTP_KEY, ssrc_type=ssrc_type, srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    )
    policy.allow_repeat_tx = True  # as aiortc's: a retransmission reuses its index
    return policy


class Wire:
    """The subscriber's end: a real UDP socket, each datagram decrypted on its own."""

    def __init__(self) -> None:
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", 0))
        self.rx.setblocking(False)
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.bind(("127.0.0.1", 0))
        self.tx.setblocking(False)
        self.closing = False
        self.packets: list[bytes] = []

    # What Route uses of ICE's asyncio transport.
    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> Any:
        assert name == "socket"
        return self.tx

    def receive(self) -> None:
        while True:
            try:
                datagram = self.rx.recv(2048)
            except BlockingIOError:
                break
            # A fresh session each: a retransmission must not fail the replay check.
            session = Session(_policy(Policy.SSRC_ANY_INBOUND))
            self.packets.append(session.unprotect(datagram))

    @property
    def sent(self) -> list[bytes]:
        """Every RTP packet received so far, decrypted."""
        self.receive()
        return list(self.packets)


def make_leg(kind: str, rtx: int | None = None) -> tuple[Leg, Wire, list[str]]:
    async def build() -> Any:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        sender = pc.addTransceiver(kind, direction="sendonly").sender
        await pc.close()
        return sender

    sender = asyncio.run(build())
    keyframes: list[str] = []
    leg = Leg(sender, lambda: keyframes.append("pli"))
    wire = Wire()
    pair = SimpleNamespace(
        protocol=SimpleNamespace(transport=wire), remote_addr=wire.rx.getsockname()
    )
    dtls = SimpleNamespace(
        _state=State.CONNECTED,
        _tx_srtp=Session(_policy(Policy.SSRC_ANY_OUTBOUND)),
        transport=SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair})),
    )
    leg._dtls, leg._pt, leg._rtx_pt, leg.ready = dtls, 111, rtx, True
    return leg, wire, keyframes


def packet(seq: int, ts: int, payload: bytes, marker: int = 0) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, ssrc=1234)
    p.payload, p.marker = payload, marker
    return p


def header(data: bytes) -> tuple[int, int, int, int, int]:
    first, second, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    return first, second, seq, ts, ssrc


def test_payload_untouched_and_header_rewritten_for_the_leg() -> None:
    leg, wire, _ = make_leg("audio")
    leg.forward(packet(65534, 4294967000, b"one", marker=1))
    leg.forward(packet(65535, 664, b"two"))
    leg.forward(packet(0, 1624, b"three"))  # both counters wrapped
    assert [d[12:] for d in wire.sent] == [b"one", b"two", b"three"]
    heads = [header(d) for d in wire.sent]
    assert {h[0] for h in heads} == {0x80}  # version 2, no padding, extension or CSRC
    assert [h[1] for h in heads] == [0x80 | 111, 111, 111]  # marker kept, leg's PT
    assert {h[4] for h in heads} == {leg.sender._ssrc}
    seqs = [h[2] for h in heads]
    assert [(b - a) & 0xFFFF for a, b in zip(seqs, seqs[1:], strict=False)] == [1, 1]
    stamps = [h[3] for h in heads]
    assert [(b - a) & 0xFFFFFFFF for a, b in zip(stamps, stamps[1:], strict=False)] == [960, 960]
    assert leg.forwarded == 3
    assert leg.sender._RTCRtpSender__packet_count == 3  # type: ignore[attr-defined]
    assert leg.sender._RTCRtpSender__octet_count == 11  # type: ignore[attr-defined]


def test_a_pause_leaves_no_gap_in_the_sequence() -> None:
    leg, wire, _ = make_leg("audio")
    leg.forward(packet(100, 0, b"a"))
    leg.pause(True)
    for seq in range(101, 150):
        leg.forward(packet(seq, seq * 960, b"x"))
    assert len(wire.sent) == 1
    leg.pause(False)
    leg.forward(packet(150, 150 * 960, b"b"))
    leg.forward(packet(152, 152 * 960, b"c"))  # a real loss stays a gap
    seqs = [header(d)[2] for d in wire.sent]
    assert [(s - seqs[0]) & 0xFFFF for s in seqs] == [0, 1, 3]


def test_a_nack_is_answered_as_rtx_from_the_legs_history() -> None:
    leg, wire, _ = make_leg("video", rtx=112)
    leg._keyframe_wait = False
    for seq in range(10):
        leg.forward(packet(1000 + seq, 90000, bytes([seq]) * 5, marker=seq == 9))
    lost = header(wire.sent[4])[2]
    asyncio.run(leg.sender._retransmit(lost))
    rtx = wire.sent[-1]
    first, second, rtx_seq, ts, ssrc = header(rtx)
    assert second & 0x7F == 112 and ssrc == leg.sender._rtx_ssrc
    assert ts == header(wire.sent[4])[3]
    assert struct.unpack("!H", rtx[12:14])[0] == lost  # the original sequence number
    assert rtx[14:] == bytes([4]) * 5
    # Unknown or too old: nothing.
    count = len(wire.sent)
    asyncio.run(leg.sender._retransmit((lost + 100) & 0xFFFF))
    for seq in range(10, 10 + HISTORY):
        leg.forward(packet(1000 + seq, 90000, b"z"))
        if seq % 100 == 0:
            wire.receive()  # before the socket's receive buffer fills
    asyncio.run(leg.sender._retransmit(lost))
    assert len(wire.sent) == count + HISTORY


def test_without_rtx_the_original_is_sent_again() -> None:
    leg, wire, _ = make_leg("video")
    leg._keyframe_wait = False
    leg.forward(packet(7, 0, b"frame", marker=1))
    asyncio.run(leg.sender._retransmit(header(wire.sent[0])[2]))
    assert wire.sent[1] == wire.sent[0]


@pytest.mark.parametrize("paused", [False, True])
def test_keyframe_requests_go_to_the_publisher_except_across_a_block(paused: bool) -> None:
    leg, _, keyframes = make_leg("video")
    leg.pause(paused)
    leg.sender._send_keyframe()
    assert keyframes == ([] if paused else ["pli"])


def test_nothing_is_sent_before_negotiation_or_after_dtls_ends() -> None:
    leg, wire, _ = make_leg("audio")
    leg.ready = False
    leg.forward(packet(1, 0, b"early"))
    leg.ready = True
    leg._dtls._state = State.CLOSED
    leg.forward(packet(2, 0, b"late"))
    assert wire.sent == [] and leg.forwarded == 0


KEY = bytes([0x90, 0x80, 0x05, 0x00])  # X, S, PID 0; I: 7-bit picture id; P=0
DELTA = bytes([0x90, 0x80, 0x06, 0x01])  # the same, P=1


def test_a_video_leg_starts_and_resumes_at_a_key_frame() -> None:
    leg, wire, _ = make_leg("video")
    leg.forward(packet(1, 0, DELTA))
    leg.forward(packet(2, 0, bytes([0x00, 0x00])))  # not a frame's start
    assert wire.sent == []
    leg.forward(packet(3, 3000, KEY))
    leg.forward(packet(4, 6000, DELTA))
    assert [d[12:] for d in wire.sent] == [KEY, DELTA]
    leg.pause(True)
    leg.pause(False)
    leg.forward(packet(9, 9000, DELTA))
    leg.forward(packet(10, 12000, KEY))
    assert [d[12:] for d in wire.sent] == [KEY, DELTA, KEY]
    seqs = [header(d)[2] for d in wire.sent]
    assert [(s - seqs[0]) & 0xFFFF for s in seqs] == [0, 1, 2]


class FullSocket:
    """A socket whose send buffer is full: what sendto does then on a non-blocking one."""

    def sendto(self, data: Any, address: Any) -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    def close(self) -> None:
        pass


def test_a_socket_that_cannot_keep_up_gets_drops_not_a_queue() -> None:
    leg, wire, _ = make_leg("audio")
    leg.forward(packet(1, 0, b"a"))
    assert leg._route is not None
    real, leg._route.socket = leg._route.socket, FullSocket()  # type: ignore[assignment]
    leg.forward(packet(2, 960, b"b"))
    leg._route.socket = real
    leg.forward(packet(3, 1920, b"c"))
    assert [d[12:] for d in wire.sent] == [b"a", b"c"]
    assert (leg.forwarded, leg.dropped) == (2, 1)


def test_the_leg_sends_on_its_own_descriptor_and_lets_go_of_it() -> None:
    leg, wire, _ = make_leg("audio")
    leg.forward(packet(1, 0, b"a"))
    route = leg._route
    assert route is not None and route.socket.fileno() != wire.tx.fileno()
    # ICE closed its socket: the leg stops using (and closes) its duplicate.
    wire.closing = True
    leg.forward(packet(2, 960, b"b"))
    assert route.socket.fileno() == -1 and leg._route is None
    assert [d[12:] for d in wire.sent] == [b"a"]
    wire.closing = False
    leg.forward(packet(3, 1920, b"c"))
    assert leg._route is not None
    leg.close()
    assert leg._route is None and not leg.ready
    leg.forward(packet(4, 2880, b"d"))
    assert [d[12:] for d in wire.sent] == [b"a", b"c"]


def test_a_packet_too_long_to_seal_is_dropped() -> None:
    leg, wire, _ = make_leg("audio")
    leg.forward(packet(1, 0, b"x" * 1400))
    leg.forward(packet(2, 960, b"y" * 1100))
    assert [len(d) for d in wire.sent] == [12 + 1100]
    assert (leg.forwarded, leg.dropped) == (1, 1)


def test_a_sender_report_counts_what_the_leg_sent() -> None:
    leg, wire, _ = make_leg("audio")
    leg.sender._RTCRtpSender__cname = "hubsd"  # type: ignore[attr-defined]
    for seq, payload in enumerate((b"one", b"two", b"three")):
        leg.forward(packet(seq, seq * 960, payload))
    last_ts = header(wire.sent[-1])[3]
    sr, sdes = leg._report()
    assert isinstance(sr, RtcpSrPacket) and sr.ssrc == leg.sender._ssrc
    info = sr.sender_info
    assert (info.packet_count, info.octet_count, info.rtp_timestamp) == (3, 11, last_ts)
    assert abs(info.ntp_timestamp / 2**32 - (time.time() + 2208988800)) < 1
    assert isinstance(sdes, RtcpSdesPacket) and sdes.chunks[0].items == [(1, b"hubsd")]
    # aiortc's RTT estimate matches a receiver report's LSR against this.
    assert leg.sender._RTCRtpSender__lsr == (info.ntp_timestamp >> 16) & 0xFFFFFFFF  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_reports_run_on_the_legs_schedule_and_end_with_a_bye(kind: str, monkeypatch: Any) -> None:
    assert REPORT_INTERVAL == {"audio": 5.0, "video": 1.0}
    monkeypatch.setitem(REPORT_INTERVAL, kind, 0.01)
    leg, _, _ = make_leg(kind)
    s: Any = leg.sender
    sent: list[list[Any]] = []

    async def send_rtcp(packets: list[Any]) -> None:
        sent.append(packets)

    s._send_rtcp = send_rtcp

    async def run() -> None:
        task = asyncio.ensure_future(s._run_rtcp())
        await asyncio.sleep(0.2)
        assert s._RTCRtpSender__rtcp_started.is_set()
        task.cancel()
        await asyncio.wait_for(s._RTCRtpSender__rtcp_exited.wait(), 1)

    asyncio.run(run())
    reports, bye = sent[:-1], sent[-1]
    # 0.2 s at 0.005 to 0.015 s each (and the loop's own delays).
    assert 5 <= len(reports) <= 40
    assert all(isinstance(r[0], RtcpSrPacket) for r in reports)
    assert isinstance(bye[0], RtcpByePacket) and bye[0].sources == [leg.sender._ssrc]
