"""
What hubsd.sfu.aiortc_hooks relies on in aiortc and aioice, checked one by
one so that an upgrade that moves any of it fails here, by name, rather than
as silence in a room. (The forwarding tests prove the hooks work; these say
which part broke.)
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from typing import Any

import aioice.ice
import pytest
import pytest_twisted
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpsender import RTCRtpSender

from hubsd.sfu import aiortc_hooks

PINS = {"aiortc": "1.16.0", "aioice": "0.13.0", "pylibsrtp": "1.0.0"}


@pytest.mark.parametrize(("package", "pinned"), sorted(PINS.items()))
def test_installed_version_is_the_pinned_one(package: str, pinned: str) -> None:
    assert version(package) == pinned, f"{package} {version(package)} is not the audited {pinned}"


def test_setup_cfg_pins_exactly() -> None:
    from tests.conftest import REPO

    text = (REPO / "setup.cfg").read_text()
    for package, pinned in PINS.items():
        assert f"{package} == {pinned}" in text


async def _fresh() -> tuple[Any, Any, Any]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    t = pc.addTransceiver("video", direction="sendrecv")
    result = (t.receiver, t.sender, t.sender.transport)
    await pc.close()
    return result


@pytest_twisted.ensureDeferred
async def test_private_attributes_exist(loop: Any) -> None:
    receiver, sender, dtls = await loop.run(_fresh())
    for name in aiortc_hooks.RECEIVER_PRIVATE:
        assert hasattr(receiver, name), f"RTCRtpReceiver lost {name}"
    for name in aiortc_hooks.SENDER_PRIVATE:
        assert hasattr(sender, name), f"RTCRtpSender lost {name}"
    for name in (
        "_RTCRtpReceiver__stop_decoder",
        "_send_rtcp",
        "_send_rtcp_nack",
        "_send_rtcp_pli",
    ):
        assert callable(getattr(receiver, name, None)), f"RTCRtpReceiver lost {name}"
    for name in ("_retransmit", "_send_keyframe", "_ssrc", "_rtx_ssrc", "send", "transport"):
        assert hasattr(sender, name), f"RTCRtpSender lost {name}"
    for name in ("_state", "_tx_srtp", "transport"):
        assert hasattr(dtls, name), f"RTCDtlsTransport lost {name}"
    assert hasattr(dtls.transport._connection, "_nominated"), "aioice Connection lost _nominated"


def test_the_calls_the_hooks_replace_are_still_made_through_the_instance() -> None:
    # Instance attributes override these only while aiortc looks them up on
    # the object at each call.
    rtp_data = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    assert "receiver._handle_rtp_packet(" in rtp_data
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "self._send_keyframe()" in rtcp and "self._retransmit(" in rtcp
    send = inspect.getsource(RTCRtpSender.send)
    assert "self.__rtp_task = asyncio.ensure_future(self._run_rtp(" in send
    assert "self.__rtcp_task = asyncio.ensure_future(self._run_rtcp())" in send
    # Leg's reports are built as aiortc's loop builds them, from these fields.
    run_rtcp = inspect.getsource(RTCRtpSender._run_rtcp)
    for name in ("self.__lsr =", "self.__lsr_time =", "self.__cname", "RtcpSdesPacket"):
        assert name in run_rtcp, f"RTCRtpSender._run_rtcp no longer uses {name}"
    stop = inspect.getsource(RTCRtpSender.stop)
    assert "self.__rtcp_started.wait()" in stop and "self.__rtcp_exited.wait()" in stop


def test_aioice_module_globals_the_hooks_set() -> None:
    assert callable(aioice.ice.get_host_addresses)
    assert isinstance(aioice.ice.CONSENT_INTERVAL, int | float)
    gather = inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert "get_host_addresses(" in gather
    candidates = inspect.getsource(aioice.ice.Connection.get_component_candidates)
    assert (
        "loop.create_datagram_endpoint(" in candidates and "local_addr=(address, 0)" in candidates
    )
    consent = inspect.getsource(aioice.ice.Connection.query_consent)
    assert "CONSENT_INTERVAL" in consent


@pytest_twisted.ensureDeferred
async def test_restricted_gathering_offers_only_the_given_address(loop: Any) -> None:

    async def offer_candidates() -> list[str]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        lines = [x for x in pc.localDescription.sdp.splitlines() if x.startswith("a=candidate")]
        await pc.close()
        return lines

    lines = await loop.run(offer_candidates())
    assert lines and all(" 127.0.0.1 " in x for x in lines), lines


def test_the_cheap_ntp_time_is_aiortcs() -> None:
    import time

    from aiortc import clock

    ours = int((time.time() + aiortc_hooks._NTP_OFFSET) * 4294967296.0)
    assert abs(ours - clock.current_ntp_time()) < 4294967296 * 0.05


def test_the_queue_whose_arrivals_are_stamped_is_still_aioices() -> None:
    import asyncio

    received = inspect.getsource(aioice.ice.Connection.data_received)
    assert "self._queue.put_nowait(" in received
    assert "self._queue.get()" in inspect.getsource(aioice.ice.Connection.recvfrom)
    init = inspect.getsource(aioice.ice.Connection.__init__)
    assert "self._queue: asyncio.Queue" in init
    # The two methods the stamping queue overrides are the ones asyncio's queue calls.
    assert "self._put(item)" in inspect.getsource(asyncio.Queue.put_nowait)
    assert "self._get()" in inspect.getsource(asyncio.Queue.get_nowait)


@pytest_twisted.ensureDeferred
async def test_a_receiver_has_its_ice_connection_before_negotiation(loop: Any) -> None:
    async def queue_type() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        t = pc.addTransceiver("audio", direction="recvonly")
        aiortc_hooks.tap_receiver(t.receiver, lambda packet, arrived: None)
        name = type(t.receiver.transport.transport._connection._queue).__name__
        await pc.close()
        return name

    assert await loop.run(queue_type()) == "_StampedQueue"


def test_pylibsrtp_parts_the_legs_seal_with() -> None:
    import pylibsrtp
    from pylibsrtp._binding import lib

    assert pylibsrtp.SRTP_MAX_TRAILER_LEN == 144
    assert callable(lib.srtp_protect) and lib.srtp_err_status_ok == 0
    session = pylibsrtp.Session()
    assert hasattr(session, "_srtp")
