"""
The only module that touches aiortc's and aioice's private parts.

aiortc decodes every RTP stream it receives and encodes every one it sends;
an SFU must do neither. Three hooks turn its peer connections into packet
pipes, and tests/sfu/test_aiortc_contract.py fails loudly when an aiortc or
aioice upgrade moves what they rely on (aiortc is pinned exactly in
setup.cfg for that reason):

- L{tap_receiver}: a publisher's ``RTCRtpReceiver`` hands each decrypted RTP
  packet to a callback instead of its jitter buffer and decoder (its RTCP
  receiver reports, NACKs for video, REMB and RTX unwrapping still run), and
  its decoder thread is stopped as soon as it starts.
- L{Leg}: a subscriber's ``RTCRtpSender`` stops its encode loop once
  negotiated; packets are written to it with their payload untouched and
  SSRC, sequence number and timestamp rewritten for that leg, encrypted and
  sent synchronously (no task per packet). Its sender reports keep counting,
  NACKs are answered from the leg's own history (as RTX when negotiated) and
  PLI/FIR go to a callback (the publisher) instead of an encoder. Its sender
  reports run on the leg's own schedule (L{REPORT_INTERVAL}).
- L{restrict_ice}: host candidates only on the configured addresses, UDP
  ports from the configured range.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import socket
import struct
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpreceiver import RTCRtpReceiver, StreamStatistics
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

_HEADER = struct.Struct("!BBHII")
#: An RTX payload's first two bytes: the original sequence number (RFC 4588).
_OSN = struct.Struct("!H")
#: libsrtp's srtp_err_status_ok.
_SRTP_OK = 0
#: Seconds from the NTP epoch (1900) to the Unix epoch (1970).
_NTP_OFFSET = 2208988800.0
#: Packets a video leg keeps for retransmission (about 2 s of 500 kbit/s video).
HISTORY = 512
#: Mean seconds between a leg's RTCP sender reports, randomised over 0.5 to
#: 1.5 times this (RFC 3550 section 6.2). Audio: RFC 3550's recommended
#: minimum of 5 s, as browsers send for audio; a 25-speaker room has 600
#: audio legs, and aiortc's 1 s made that 600 reports (and task wake-ups) a
#: second. Video: 1 s, aiortc's interval (RTT and lip sync follow it sooner).
REPORT_INTERVAL = {"audio": 5.0, "video": 1.0}

# Name-mangled private attributes this module reads or writes; the contract
# test checks each exists on a fresh object.
RECEIVER_PRIVATE = (
    "_RTCRtpReceiver__codecs",
    "_RTCRtpReceiver__remote_streams",
    "_RTCRtpReceiver__rtx_ssrc",
    "_RTCRtpReceiver__nack_generator",
    "_RTCRtpReceiver__remote_bitrate_estimator",
    "_RTCRtpReceiver__rtcp_ssrc",
    "_RTCRtpReceiver__decoder_thread",
)
SENDER_PRIVATE = (
    "_RTCRtpSender__rtp_task",
    "_RTCRtpSender__rtp_started",
    "_RTCRtpSender__rtx_payload_type",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__cname",
    "_RTCRtpSender__lsr",
    "_RTCRtpSender__lsr_time",
    "_RTCRtpSender__rtcp_started",
    "_RTCRtpSender__rtcp_exited",
)


# -- receiving --------------------------------------------------------------


class _StampedQueue(asyncio.Queue[Any]):
    """
    aioice's queue of received datagrams, noting when each was put in: the
    consumer's C{arrived} is that time for the datagram it took last.
    (C{_put} and C{_get} are the methods asyncio's own queue subclasses
    override.)
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self._clock = clock
        self._stamps: collections.deque[float] = collections.deque()
        self.arrived = clock()

    def _put(self, item: Any) -> None:
        self._stamps.append(self._clock())
        super()._put(item)

    def _get(self) -> Any:
        self.arrived = self._stamps.popleft()
        return super()._get()


def _stamp_arrivals(receiver: RTCRtpReceiver, clock: Callable[[], float]) -> None:
    connection = receiver.transport.transport._connection
    if not isinstance(connection._queue, _StampedQueue):
        # Nothing has been received yet, and nobody waits on the old queue.
        connection._queue = _StampedQueue(clock)


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_packet: Callable[[RtpPacket, float], None],
    arrival: Callable[[], float] = time.monotonic,
) -> None:
    """
    From now on every RTP packet ``receiver`` gets (RTX already unwrapped) is
    passed to ``on_packet`` with the time it arrived (``arrival()`` when it
    was read from the socket), and never decoded. Call before negotiation.
    """
    r: Any = receiver
    original_receive = receiver.receive
    _stamp_arrivals(receiver, arrival)

    async def receive(parameters: Any) -> None:
        await original_receive(parameters)
        # Nothing is ever queued to the decoder: let its thread end now.
        if r._RTCRtpReceiver__decoder_thread is not None:
            r._RTCRtpReceiver__stop_decoder()

    async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
        if not r._enabled:
            return
        codecs = r._RTCRtpReceiver__codecs
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        estimator = r._RTCRtpReceiver__remote_bitrate_estimator
        rtcp_ssrc = r._RTCRtpReceiver__rtcp_ssrc
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            if rtcp_ssrc is not None and remb is not None:
                await r._send_rtcp(
                    RtcpPsfbPacket(
                        fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(*remb)
                    )
                )
        streams = r._RTCRtpReceiver__remote_streams
        stats = streams.get(packet.ssrc)
        if stats is None:
            stats = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)
        if is_rtx(codec):
            original_ssrc = r._RTCRtpReceiver__rtx_ssrc.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        nack = r._RTCRtpReceiver__nack_generator
        if nack is not None and nack.add(packet):
            await r._send_rtcp_nack(packet.ssrc, sorted(nack.missing))
        if packet.payload:  # padding-only packets (bandwidth probes) stop here
            # Bundled media shares one transport: the one in use now.
            on_packet(packet, r.transport.transport._connection._queue.arrived)

    r.receive = receive
    r._handle_rtp_packet = handle_rtp_packet


def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send a PLI for ``media_ssrc`` to the publisher behind ``receiver``."""
    asyncio.ensure_future(receiver._send_rtcp_pli(media_ssrc))


# -- sending ----------------------------------------------------------------


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether a VP8 RTP payload is the first packet of a key frame (RFC 7741)."""
    if not payload:
        return False
    descriptor = payload[0]
    # S (start of a partition) and partition index 0, or not a frame's start.
    if not descriptor & 0x10 or descriptor & 0x07:
        return False
    i = 1
    if descriptor & 0x80:  # X: an extension byte says which fields follow
        if len(payload) < 2:
            return False
        ext = payload[1]
        i = 2
        if ext & 0x80 and len(payload) > i:  # I: picture id of 7 or 15 bits
            i += 2 if payload[i] & 0x80 else 1
        i += bool(ext & 0x40) + bool(ext & 0x30)  # L: TL0PICIDX; T or K: one byte
    # The payload header's P bit is 0 for a key frame.
    return len(payload) > i and payload[i] & 0x01 == 0


class Leg:
    """
    One forwarded stream: a publisher's audio or video into one subscriber's
    sender. Inactive until the sender is negotiated and DTLS is up; while
    ``paused`` (a block, a mute) nothing is written, and the sequence numbers
    continue without a gap when it resumes.
    """

    __slots__ = (
        "sender",
        "kind",
        "on_keyframe_request",
        "ready",
        "paused",
        "forwarded",
        "dropped",
        "_pt",
        "_rtx_pt",
        "_ssrc",
        "_rtx_ssrc",
        "_rtx_seq",
        "_seq_offset",
        "_ts_offset",
        "_last_seq",
        "_resync",
        "_history",
        "_dtls",
        "_route",
        "_keyframe_wait",
        "__weakref__",
    )

    def __init__(
        self, sender: RTCRtpSender, on_keyframe_request: Callable[[], None] | None = None
    ) -> None:
        self.sender = sender
        self.kind = sender.kind
        self.on_keyframe_request = on_keyframe_request
        self.ready = False
        self.paused = False
        self.forwarded = 0
        self.dropped = 0
        self._pt = 0
        self._rtx_pt: int | None = None
        self._ssrc = sender._ssrc
        self._rtx_ssrc = sender._rtx_ssrc
        self._rtx_seq = random.randrange(32768)
        self._seq_offset = 0
        self._ts_offset = random.getrandbits(32)
        self._last_seq = random.randrange(32768)
        self._resync = True
        self._history: list[tuple[int, int, bytes] | None] | None = (
            [None] * HISTORY if self.kind == "video" else None
        )
        self._dtls: Any = None
        self._route: Route | None = None
        self._keyframe_wait = self.kind == "video"
        s: Any = sender
        original_send = sender.send
        leg = self  # a cycle with the sender, collected with it

        async def send(parameters: Any) -> None:
            await original_send(parameters)
            # The encode loop would poll a missing track every 20 ms: stop it,
            # once it has started (stop() waits for it to have started and
            # exited; a task cancelled before it runs would do neither).
            await s._RTCRtpSender__rtp_started.wait()
            s._RTCRtpSender__rtp_task.cancel()
            leg._negotiated(parameters)

        async def run_rtcp() -> None:
            # In place of aiortc's loop (1 s for every kind): the same reports,
            # at REPORT_INTERVAL; stop() waits for both events, as for aiortc's.
            s._RTCRtpSender__rtcp_started.set()
            interval = REPORT_INTERVAL[leg.kind]
            try:
                while True:
                    await asyncio.sleep(interval * (0.5 + random.random()))
                    await s._send_rtcp(leg._report())
            except asyncio.CancelledError:
                pass
            await s._send_rtcp([RtcpByePacket(sources=[leg._ssrc])])
            s._RTCRtpSender__rtcp_exited.set()

        async def retransmit(sequence_number: int) -> None:
            leg._retransmit(sequence_number)

        def send_keyframe() -> None:
            callback = leg.on_keyframe_request
            if callback is not None and not leg.paused:
                callback()

        s.send = send
        s._run_rtcp = run_rtcp
        s._retransmit = retransmit
        s._send_keyframe = send_keyframe

    def _negotiated(self, parameters: Any) -> None:
        self._pt = parameters.codecs[0].payloadType
        self._rtx_pt = self.sender._RTCRtpSender__rtx_payload_type  # type: ignore[attr-defined]
        self._dtls = self.sender.transport
        self.ready = True

    def _report(self) -> list[Any]:
        """A sender report and the CNAME, as aiortc's sender makes them."""
        s: Any = self.sender
        ntp = s._RTCRtpSender__ntp_timestamp
        packets: list[Any] = [
            RtcpSrPacket(
                ssrc=self._ssrc,
                sender_info=RtcpSenderInfo(
                    ntp_timestamp=ntp,
                    rtp_timestamp=s._RTCRtpSender__rtp_timestamp,
                    packet_count=s._RTCRtpSender__packet_count & 0xFFFFFFFF,
                    octet_count=s._RTCRtpSender__octet_count & 0xFFFFFFFF,
                ),
            )
        ]
        # What the receiver's report echoes (LSR), for aiortc's RTT estimate.
        s._RTCRtpSender__lsr = (ntp >> 16) & 0xFFFFFFFF
        s._RTCRtpSender__lsr_time = time.time()
        cname = s._RTCRtpSender__cname
        if cname is not None:
            packets.append(
                RtcpSdesPacket(
                    chunks=[RtcpSourceInfo(ssrc=self._ssrc, items=[(1, cname.encode("utf8"))])]
                )
            )
        return packets

    def pause(self, paused: bool) -> None:
        if paused and not self.paused:
            self._resync = True
            self._keyframe_wait = self.kind == "video"
        self.paused = paused

    def forward(self, packet: RtpPacket) -> None:
        """Write ``packet``'s payload on this leg (nothing if not ready or paused)."""
        if not self.ready or self.paused:
            return
        if self._keyframe_wait:
            # A new or resumed video leg starts at a key frame: what came
            # before it cannot be decoded (the server asks for one then).
            if not vp8_keyframe_start(packet.payload):
                return
            self._keyframe_wait = False
        if self._resync:
            # Continue our own numbering where it stopped: a receiver must not
            # see a gap it would NACK for packets we never had.
            self._seq_offset = (self._last_seq + 1 - packet.sequence_number) & 0xFFFF
            self._resync = False
        seq = (packet.sequence_number + self._seq_offset) & 0xFFFF
        if ((seq - self._last_seq) & 0xFFFF) < 0x8000:
            self._last_seq = seq
        ts = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        payload = packet.payload
        if self._history is not None:
            self._history[seq % HISTORY] = (seq, ts | (packet.marker << 32), payload)
        if self._send((packet.marker << 7) | self._pt, seq, ts, self._ssrc, payload):
            self.forwarded += 1
            s: Any = self.sender
            # What aiortc's clock.current_ntp_time() gives, without datetimes.
            s._RTCRtpSender__ntp_timestamp = int((time.time() + _NTP_OFFSET) * 4294967296.0)
            s._RTCRtpSender__rtp_timestamp = ts
            s._RTCRtpSender__octet_count += len(payload)
            s._RTCRtpSender__packet_count += 1

    def _retransmit(self, seq: int) -> None:
        if self._history is None or self.paused:
            return
        entry = self._history[seq % HISTORY]
        if entry is None or entry[0] != seq:
            return
        _, ts_marker, payload = entry
        ts, marker = ts_marker & 0xFFFFFFFF, ts_marker >> 32
        if self._rtx_pt is not None:
            rtx_seq = self._rtx_seq
            self._rtx_seq = (rtx_seq + 1) & 0xFFFF
            self._send((marker << 7) | self._rtx_pt, rtx_seq, ts, self._rtx_ssrc, payload, seq)
        else:
            self._send((marker << 7) | self._pt, seq, ts, self._ssrc, payload)

    def _send(
        self, marker_pt: int, seq: int, ts: int, ssrc: int, payload: bytes, osn: int = -1
    ) -> bool:
        """
        Seal one RTP packet (our header, ``payload``; an RTX packet's original
        sequence number ``osn`` before it) and send it on the nominated pair:
        whether it went out.
        """
        route = self._route
        if route is None or route.transport.is_closing():
            route = self._open_route()
            if route is None:
                return False
        if self._dtls._state is not State.CONNECTED:
            return False
        view = _SEAL.view
        start = 12
        _HEADER.pack_into(view, 0, 0x80, marker_pt, seq, ts, ssrc)
        if osn >= 0:
            _OSN.pack_into(view, 12, osn)
            start = 14
        end = start + len(payload)
        if end > _SEAL.room:
            self.dropped += 1  # more than a UDP datagram on any path here
            return False
        view[start:end] = payload
        sent = route.send(end)
        if not sent:
            # The socket's send buffer is full (or the kernel refused):
            # drop, late media is useless, rather than queue.
            self.dropped += 1
        return sent

    def _open_route(self) -> Route | None:
        if self._route is not None:
            self._route.close()
            self._route = None
        dtls = self._dtls
        if dtls is None or dtls._state is not State.CONNECTED:
            return None
        # The nominated pair is fixed once ICE has completed; look it up
        # once rather than per packet.
        pair = dtls.transport._connection._nominated.get(1)
        transport = pair.protocol.transport if pair is not None else None
        if transport is None or transport.is_closing():
            return None
        self._route = Route(transport, pair.remote_addr, dtls._tx_srtp)
        return self._route

    def close(self) -> None:
        """The subscription ended: let go of its socket."""
        self.ready = False
        if self._route is not None:
            self._route.close()
            self._route = None


class _Seal:
    """One C buffer that every leg of the process writes and seals its packets in, in turn."""

    def __init__(self, size: int = 1500) -> None:
        self.cdata = _srtp_ffi.new("unsigned char[]", size)
        self.view = memoryview(_srtp_ffi.buffer(self.cdata))
        self.length = _srtp_ffi.new("int *")
        #: The longest packet before sealing: libsrtp appends its tag.
        self.room = size - pylibsrtp.SRTP_MAX_TRAILER_LEN


_SEAL = _Seal()


class Route:
    """
    Where a leg's packets go: the nominated pair's socket, the peer's address,
    the connection's outbound SRTP session.

    Packets are sealed by libsrtp in L{_SEAL} and sent with one C{sendto} on
    a duplicate of ICE's socket descriptor: not through pylibsrtp's
    C{protect} (three new objects and two copies per packet) nor asyncio's
    datagram transport (a Python method and its buffer accounting per packet).
    aioice still receives on that socket and sends its own STUN on it.
    """

    __slots__ = ("transport", "address", "socket", "session", "_srtp")

    def __init__(self, transport: Any, address: Any, session: pylibsrtp.Session) -> None:
        self.transport = transport
        self.address = address
        fd = transport.get_extra_info("socket").fileno()
        self.socket = socket.socket(fileno=os.dup(fd))
        self.socket.setblocking(False)
        self.session = session  # keeps its libsrtp context alive
        self._srtp = session._srtp[0]

    def send(self, length: int) -> bool:
        """Seal the first ``length`` bytes of L{_SEAL} and send them."""
        seal = _SEAL
        seal.length[0] = length
        if _srtp_lib.srtp_protect(self._srtp, seal.cdata, seal.length) != _SRTP_OK:
            return False
        try:
            self.socket.sendto(seal.view[: seal.length[0]], self.address)
        except OSError:  # BlockingIOError when the send buffer is full
            return False
        return True

    def close(self) -> None:
        self.socket.close()


# -- addresses and ports -----------------------------------------------------

#: Every UDP transport aioice opened through L{restrict_ice} and not yet closed.
_ice_transports: weakref.WeakSet[Any] = weakref.WeakSet()


def open_udp_sockets() -> int:
    """UDP sockets ICE holds open now (for leak checks)."""
    return sum(1 for t in list(_ice_transports) if not t.is_closing())


def restrict_ice(
    loop: asyncio.AbstractEventLoop,
    addresses: Iterable[str],
    ports: tuple[int, int] | None,
) -> None:
    """
    In this process, ICE gathers host candidates on ``addresses`` only (no
    others, loopback allowed), binding UDP ports from ``ports`` (inclusive;
    None: any), and never uses a STUN or TURN server unless given one.
    """
    chosen = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(chosen)
    original = loop.create_datagram_endpoint
    state = {"next": 0}

    async def create_datagram_endpoint(factory: Any, local_addr: Any = None, **kw: Any) -> Any:
        if ports is None or local_addr is None or local_addr[1] != 0:
            transport, protocol = await original(factory, local_addr=local_addr, **kw)
            _ice_transports.add(transport)
            return transport, protocol
        low, high = ports
        span = high - low + 1
        last: OSError | None = None
        for _ in range(span):
            port = low + state["next"] % span
            state["next"] += 1
            try:
                transport, protocol = await original(
                    factory, local_addr=(local_addr[0], port), **kw
                )
            except OSError as e:
                last = e
                continue
            _ice_transports.add(transport)
            return transport, protocol
        raise OSError(f"no free UDP port in {low}-{high}") from last

    setattr(loop, "create_datagram_endpoint", create_datagram_endpoint)  # noqa: B010


def set_consent_interval(seconds: float) -> None:
    """RFC 7675 consent checks every ``seconds``; a peer that misses 6 is dropped."""
    setattr(aioice.ice, "CONSENT_INTERVAL", seconds)  # noqa: B010


def now() -> float:
    return time.monotonic()
