"""
A lean WAMP-over-websocket load client for fan-out benchmarks.

One asyncio protocol per member: websocket handshake, HELLO/WELCOME, SUBSCRIBE,
then the hot path, which only walks the websocket framing to count EVENT
frames. One frame in C{sample_every} is decoded to read the send timestamp
in its payload (end-to-end latency). Publish frames are encoded and masked
once; each publish patches only the timestamp bytes (already masked) into
the template. That keeps the generator far cheaper per event than the
router it measures (its own CPU is reported as the generator ceiling).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import string
import struct
import time
from typing import Any

import msgpack

HELLO, WELCOME, ABORT, GOODBYE, ERROR = 1, 2, 3, 6, 8
PUBLISH, PUBLISHED, SUBSCRIBE, SUBSCRIBED, EVENT = 16, 17, 32, 33, 36
CALL, RESULT = 48, 50

ROLES = {"roles": {"publisher": {}, "subscriber": {}, "caller": {}}}


class Codec:
    """One WAMP serializer: websocket subprotocol, frame opcode, encode/decode."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.subprotocol = f"wamp.2.{name}"
        if name == "json":
            self.opcode = 0x1
            self.encode = lambda m: json.dumps(m, separators=(",", ":")).encode()
            self.decode = json.loads
        elif name == "msgpack":
            self.opcode = 0x2
            self.encode = lambda m: msgpack.packb(m, use_bin_type=True)
            self.decode = lambda b: msgpack.unpackb(b, raw=False)
        else:
            raise ValueError(f"unknown serializer {name!r}")


def _xor(data: bytes, mask: bytes, start: int = 0) -> bytes:
    """C{data} masked with C{mask}, as if C{data} began at payload offset C{start}."""
    rot = mask[start % 4 :] + mask[: start % 4]
    key = (rot * (len(data) // 4 + 1))[: len(data)]
    x = int.from_bytes(data, "big") ^ int.from_bytes(key, "big")
    return x.to_bytes(len(data), "big")


def client_frame(payload: bytes, opcode: int, mask: bytes) -> tuple[bytes, int]:
    """A masked client frame and the offset of its payload inside it."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    head += mask
    return head + _xor(payload, mask), len(head)


def _ident(n: int, rnd: random.Random) -> str:
    return "".join(rnd.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def naf_update(rnd: random.Random, sent: Any) -> dict[str, Any]:
    """A networked-aframe C{um} message for one avatar (about 500 bytes as JSON)."""

    def vec() -> dict[str, float]:
        return {k: round(rnd.uniform(-10, 10), 3) for k in "xyz"}

    owner = _ident(8, rnd) + "-" + _ident(4, rnd) + "-" + _ident(12, rnd)
    return {
        "dataType": "um",
        "data": {
            "d": [
                {
                    "networkId": _ident(7, rnd),
                    "owner": owner,
                    "creator": owner,
                    "lastOwnerTime": 1764051797123 + rnd.randrange(10**6),
                    "template": "#remote-avatar",
                    "persistent": False,
                    "isFirstSync": False,
                    "components": {str(i): vec() for i in range(6)},
                }
            ]
        },
        "sent": sent,
    }


def chat_message(rnd: random.Random, sent: Any) -> dict[str, Any]:
    """A short reliable message (chat), told apart from C{um} by its size."""
    return {"type": "chat", "body": "hello " + _ident(12, rnd), "sent": sent}


def avatar_sync(
    rnd: random.Random, session_id: str, network_id: str, template: str, first: bool, sent: Any
) -> dict[str, Any]:
    """
    One entity sync of C{session_id}'s own entity, as a member under the room
    rules sends it: owner and creator are the sender, a fixed lastOwnerTime
    (so the server's ownership rule accepts every update). C{sent} rides in
    the sync itself: the rules relay unknown keys of a sync as they are but
    rebuild the envelope around it.
    """

    def vec() -> dict[str, float]:
        return {k: round(rnd.uniform(-10, 10), 3) for k in "xyz"}

    sync: dict[str, Any] = {
        "networkId": network_id,
        "owner": session_id,
        "creator": session_id,
        "lastOwnerTime": 1000,
        "template": template,
        "persistent": False,
        "isFirstSync": first,
        "components": {str(i): vec() for i in range(6)},
    }
    if first:
        sync["parent"] = None
    if sent is not None:
        sync["sent"] = sent
    return sync


def room_first_sync(sync: dict[str, Any]) -> dict[str, Any]:
    """The C{u} envelope that spawns an entity (a first sync)."""
    return {"dataType": "u", "data": sync}


def room_update(sync: dict[str, Any]) -> dict[str, Any]:
    """The C{um} envelope of one entity update (not a first sync)."""
    return {"dataType": "um", "data": {"d": [sync]}}


def set_top_sent(body: dict[str, Any], value: Any) -> dict[str, Any]:
    """C{body} with its send time at the top level (bare router payloads)."""
    return dict(body, sent=value)


def set_sync_sent(envelope: dict[str, Any], value: Any) -> dict[str, Any]:
    """C{um} envelope with the send time inside its first entity sync."""
    sync = dict(envelope["data"]["d"][0], sent=value)
    return dict(envelope, data=dict(envelope["data"], d=[sync]))


def sent_of_args(msg: list[Any]) -> float:
    """The send time of a bare router EVENT: its first positional argument's C{sent}."""
    return msg[4][0]["sent"]


def sent_of_room_event(msg: list[Any]) -> float:
    """The send time of a room NAF EVENT: kwargs C{data.d[0].sent}."""
    return msg[5]["data"]["d"][0]["sent"]


class PublishTemplate:
    """A pre-encoded, pre-masked PUBLISH frame whose timestamp is patched per send."""

    _JSON_MARK = b'"__SENT_TS__"'
    _FLOAT_MARK = 1234.5678125

    def __init__(
        self,
        codec: Codec,
        topic: str,
        body: dict[str, Any],
        mask: bytes,
        as_kwargs: bool = False,
        place: Any = set_top_sent,
        phoenix: bool = False,
    ) -> None:
        # place(body, value): body with its send time set to value.
        # phoenix: a Phoenix ``naf`` push on channel C{topic} (JSON only).
        def message(b: dict[str, Any]) -> list[Any]:
            if phoenix:
                return [None, None, topic, "naf", b]
            return [PUBLISH, 1, {}, topic, [], b] if as_kwargs else [PUBLISH, 1, {}, topic, [b]]

        if codec.name == "json":
            body = place(body, "__SENT_TS__")
            payload = codec.encode(message(body))
            at = payload.index(self._JSON_MARK)
            # A fixed-width float: '%.6f' of an epoch time is always 17 characters.
            payload = payload[:at] + b"0" * 17 + payload[at + len(self._JSON_MARK) :]
            self._json = True
            width = 17
        else:
            body = place(body, self._FLOAT_MARK)
            payload = codec.encode(message(body))
            at = payload.index(b"\xcb" + struct.pack(">d", self._FLOAT_MARK)) + 1
            self._json = False
            width = 8
        frame, head = client_frame(payload, codec.opcode, mask)
        self.size = len(payload)
        self._frame = bytearray(frame)
        self._at = head + at
        self._end = self._at + width
        rot = mask[at % 4 :] + mask[: at % 4]
        self._key = int.from_bytes((rot * (width // 4 + 1))[:width], "big")
        self._width = width

    def frame(self, now: float) -> bytes:
        """The frame with send time C{now}."""
        raw = (b"%.6f" % now) if self._json else struct.pack(">d", now)
        masked = (int.from_bytes(raw, "big") ^ self._key).to_bytes(self._width, "big")
        self._frame[self._at : self._end] = masked
        return bytes(self._frame)


class Stats:
    """Counters and samples shared by every member of one load run."""

    def __init__(self, sample_every: int, reliable_below: int = 0) -> None:
        self.sample_every = sample_every
        self.reliable_below = reliable_below
        self.measuring = False
        self.latency: list[float] = []
        self.reliable_latency: list[float] = []
        self.reliable_received = 0
        self.disconnected = 0
        self.errors: list[str] = []
        #: sent_of(decoded EVENT) -> its send time
        self.sent_of: Any = sent_of_args


class Member(asyncio.Protocol):
    """
    One WAMP session: joins, subscribes to C{topics}, publishes with C{publish}.

    Until C{ready} (or, with C{stay_decoding}, until L{go_hot}) every frame is
    decoded, so L{call}, L{subscribe} and L{publish_acked} work; after that
    the hot path only counts frames.
    """

    def __init__(
        self,
        codec: Codec,
        host: str,
        port: int,
        path: str,
        realm: str,
        topics: list[str],
        stats: Stats,
        stay_decoding: bool = False,
    ) -> None:
        self.codec = codec
        self.host, self.port, self.path, self.realm = host, port, path, realm
        self.topics = topics
        self.stats = stats
        self.mask = os.urandom(4)
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: Any = None
        self.received = 0
        self.alive = False
        self._buf = b""
        self._pending = len(topics)
        self._next_sample = random.randrange(1, stats.sample_every + 1)
        self._recv = self._recv_handshake
        self.session = 0
        # Room facts (room targets): the room, its NAF topic, the member's
        # room session id and the entity it updates.
        self.hub_sid = ""
        self.topic = ""
        self.session_id = ""
        self.entity = ""
        self.decoding = True
        self._stay_decoding = stay_decoding
        self._requests: dict[int, asyncio.Future[tuple[list[Any], int]]] = {}
        self._request_id = 100

    # -- connection ---------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"{self.upgrade_headers()}\r\n"
            ).encode()
        )

    def upgrade_headers(self) -> str:
        """Extra header lines of the websocket upgrade: the WAMP subprotocol."""
        return f"Sec-WebSocket-Protocol: {self.codec.subprotocol}\r\n"

    def opened(self) -> None:
        """The websocket is open: say HELLO."""
        self.send([HELLO, self.realm, ROLES])

    def connection_lost(self, exc: Exception | None) -> None:
        if self.alive:
            self.stats.disconnected += 1
        self.alive = False
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection lost: {exc}"))
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(ConnectionError(f"connection lost: {exc}"))
        self._requests.clear()

    def data_received(self, data: bytes) -> None:
        self._recv(data)

    def send(self, msg: list[Any]) -> None:
        frame, _ = client_frame(self.codec.encode(msg), self.codec.opcode, self.mask)
        self.transport.write(frame)

    def go_hot(self) -> None:
        """From now on only count frames (no decoding but samples)."""
        self.decoding = False

    def _request(self, msg: list[Any]) -> asyncio.Future[tuple[list[Any], int]]:
        fut = asyncio.get_running_loop().create_future()
        self._requests[msg[1]] = fut
        self.send(msg)
        return fut

    def _next_id(self) -> int:
        self._request_id += 1
        return self._request_id

    async def call(self, procedure: str, **kwargs: Any) -> tuple[Any, int]:
        """
        Call C{procedure} with C{kwargs}: (its first result or kwargs, size of
        the RESULT message in bytes).

        @raise RuntimeError: naming the error URI and message.
        """
        msg, size = await self._request([CALL, self._next_id(), {}, procedure, [], kwargs])
        args = msg[3] if len(msg) > 3 else []
        return (args[0] if args else (msg[4] if len(msg) > 4 else None)), size

    async def subscribe(self, topic: str) -> None:
        await self._request([SUBSCRIBE, self._next_id(), {}, topic])

    async def publish_acked(self, topic: str, kwargs: dict[str, Any]) -> None:
        """Publish C{kwargs} on C{topic} and wait for PUBLISHED (an ERROR raises)."""
        await self._request([PUBLISH, self._next_id(), {"acknowledge": True}, topic, [], kwargs])

    def close(self) -> None:
        self.alive = False
        if self.transport is not None:
            self.transport.abort()

    # -- handshake and session set-up (decodes everything) ----------------------

    def _recv_handshake(self, data: bytes) -> None:
        self._buf += data
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return
        status = self._buf[: self._buf.find(b"\r\n")]
        if b" 101 " not in status:
            self._fail(f"websocket handshake refused: {status!r}")
            return
        rest, self._buf = self._buf[end + 4 :], b""
        self._recv = self._recv_frames
        self.opened()
        if rest:
            self._recv_frames(rest)

    def _fail(self, why: str) -> None:
        self.stats.errors.append(why)
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(why))
        self.close()

    def _ready(self) -> None:
        self.decoding = self._stay_decoding
        self.ready.set_result(None)

    def _on_message(self, msg: list[Any], size: int) -> None:
        kind = msg[0]
        if kind == EVENT:
            self.received += 1
        elif kind in (RESULT, SUBSCRIBED, PUBLISHED) and msg[1] in self._requests:
            self._requests.pop(msg[1]).set_result((msg, size))
        elif kind == ERROR and msg[2] in self._requests:
            why = f"{msg[4]} {msg[5] if len(msg) > 5 else ''}"
            self._requests.pop(msg[2]).set_exception(RuntimeError(why))
        elif kind == WELCOME:
            self.session = msg[1]
            self.alive = True
            for i, topic in enumerate(self.topics):
                self.send([SUBSCRIBE, i + 1, {}, topic])
            if not self.topics:
                self._ready()
        elif kind == SUBSCRIBED:
            self._pending -= 1
            if self._pending == 0:
                self._ready()
        elif kind in (ABORT, GOODBYE):
            self._fail(f"session ended: {msg!r}")

    # -- frames -------------------------------------------------------------

    def _recv_frames(self, data: bytes) -> None:
        """Walk the websocket frames in C{data}; decode only samples and control."""
        if self._buf:
            data = self._buf + data
        n = len(data)
        pos = 0
        count = 0
        nxt = self._next_sample
        setup = self.decoding
        while n - pos >= 2:
            ln = data[pos + 1]
            if ln < 126:
                start = pos + 2
            elif ln == 126:
                if n - pos < 4:
                    break
                ln = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            else:
                if n - pos < 10:
                    break
                ln = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + ln
            if end > n:
                break
            op = data[pos] & 0x0F
            if op == 1 or op == 2:
                if setup:
                    self._on_message(self.codec.decode(data[start:end]), ln)
                    setup = self.decoding
                else:
                    count += 1
                    if ln < self.stats.reliable_below:
                        self._sample(data[start:end], True)
                    elif count >= nxt:
                        nxt += self.stats.sample_every
                        self._sample(data[start:end], False)
            elif op == 9:
                pong, _ = client_frame(data[start:end], 0xA, self.mask)
                self.transport.write(pong)
            elif op == 8:
                self.alive = False
            pos = end
        self._buf = data[pos:] if pos < n else b""
        self.received += count
        self._next_sample = nxt - count

    def _sample(self, payload: bytes, reliable: bool) -> None:
        now = time.time()
        try:
            msg = self.codec.decode(payload)
            sent = self.stats.sent_of(msg)
        except Exception as e:  # noqa: BLE001 - a malformed event is a bench failure
            self.stats.errors.append(f"undecodable event: {e!r}")
            return
        if reliable:
            self.stats.reliable_received += 1
        if not self.stats.measuring:
            return
        if reliable:
            self.stats.reliable_latency.append(now - sent)
        else:
            self.stats.latency.append(now - sent)


def percentile(values: list[float], q: float) -> float | None:
    """The C{q}-quantile (0..1) of C{values}, nearest rank; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
