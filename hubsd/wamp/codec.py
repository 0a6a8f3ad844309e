"""
WAMP serializers as pure functions of bytes, built for fan-out.

A PUBLISH keeps its arguments as the raw serialized slice (everything after
the topic) inside a L{Payload}. An EVENT for a subscriber on the same
serializer is that slice spliced behind a freshly encoded header
(C{[36, sub, pub, details, }+raw+C{]}): no decode, no re-encode. A
subscriber on another serializer costs one decode and one encode per other
serializer, cached in the payload.

Validation: every incoming frame is decoded completely by a C decoder
(orjson, msgpack, cbor2) because a receiving client must never get bytes it
cannot decode (Hypothesis found msgpack's C{skip()} lets invalid UTF-8
through). The decoded values are kept in the payload, so hooks and local
sessions read them for free; what is saved is the re-encode per receiver.

Binary values travel in JSON as strings starting with NUL followed by
base64, as the WAMP spec says and Autobahn does.
"""

from __future__ import annotations

import base64
import io
import json
import re
from abc import ABC, abstractmethod
from typing import Any

import cbor2
import msgpack
import orjson

from hubsd.wamp.messages import EVENT, PUBLISH
from hubsd.wamp.payload import Payload

Message = list[Any]

__all__ = [
    "CBOR",
    "JSON",
    "JSON_BATCHED",
    "MSGPACK",
    "SUBPROTOCOLS",
    "Codec",
    "CodecError",
    "Payload",
    "Unrepresentable",
]


class CodecError(Exception):
    """The bytes are not a well-formed WAMP message for this serializer."""


class Unrepresentable(CodecError):
    """
    A well-formed value this serializer cannot write: an integer beyond 64
    bits for msgpack, a map with binary keys for JSON, ... Raised by
    L{hubsd.wamp.wire.Wire} when one client's value is to reach a client of
    another serializer.
    """


#: Errors the serializer libraries raise for a value they cannot write.
VALUE_ERRORS = (TypeError, ValueError, OverflowError, RecursionError, cbor2.CBOREncodeError)

#: Deepest nesting accepted in a CBOR message.
MAX_CBOR_DEPTH = 128


def _only_wamp_values(value: Any, depth: int = 0) -> None:
    """
    Refuse what CBOR can say and WAMP cannot: tags decoded into datetimes,
    sets, regular expressions, decimals, unknown tags; C{undefined} and
    other simple values; maps with keys that are not strings; and cycles
    built with shared references (they exceed the depth).
    """
    t = type(value)
    if t is str or t is int or t is float or t is bool or t is bytes or value is None:
        return
    if depth >= MAX_CBOR_DEPTH:
        raise CodecError("CBOR value nested too deeply")
    if t is list:
        for v in value:
            _only_wamp_values(v, depth + 1)
    elif t is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise CodecError("CBOR map keys must be strings")
            _only_wamp_values(v, depth + 1)
    else:
        raise CodecError(f"a CBOR {t.__name__} is not a WAMP value")


def _payload_values(rest: list[Any]) -> tuple[list[Any], dict[str, Any] | None]:
    """C{args}, C{kwargs} of a message tail, type-checked (a receiver must
    never get an EVENT whose args is not a list)."""
    args = rest[0]
    kwargs = rest[1] if len(rest) > 1 else None
    if type(args) is not list or (len(rest) > 1 and type(kwargs) is not dict):
        raise CodecError("Arguments must be a list and ArgumentsKw a dict")
    return args, kwargs


def _check(msg: Any) -> Message:
    if type(msg) is not list or not msg or type(msg[0]) is not int:
        raise CodecError("a WAMP message is a non-empty array starting with an integer")
    return msg


class Codec(ABC):
    """One WAMP serializer. Subclasses are stateless and shareable."""

    name = ""
    binary = False

    @abstractmethod
    def decode(self, data: bytes) -> list[Message]:
        """All messages in one transport frame (several when batched)."""

    @abstractmethod
    def encode(self, msg: Message) -> bytes:
        """One message as this serializer's bytes."""

    @abstractmethod
    def encode_event(
        self, subscription: int, publication: int, details: dict[str, Any], payload: Payload
    ) -> bytes:
        """An EVENT, splicing the payload's raw slice when it is ours."""

    @abstractmethod
    def encode_values(self, args: Any, kwargs: Any) -> tuple[bytes, int]:
        """Arguments as a raw slice and how many elements it holds."""

    @abstractmethod
    def decode_values(self, raw: bytes, count: int) -> tuple[Any, Any]:
        """The arguments back from a raw slice."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return "\x00" + base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def _unbinary(value: Any) -> Any:
    """Turn NUL-prefixed base64 strings back into bytes, recursively."""
    t = type(value)
    if t is str:
        if value and value[0] == "\x00":
            try:
                return base64.b64decode(value[1:])
            except ValueError:
                return value
        return value
    if t is list:
        return [_unbinary(v) for v in value]
    if t is dict:
        return {k: _unbinary(v) for k, v in value.items()}
    return value


_NUL = b"\\u0000"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The common PUBLISH header: [16, id, {flat options}, "topic", -- matched in C.
_JSON_PUBLISH_HEAD = re.compile(
    rb'\s*\[\s*16\s*,\s*\d+\s*,\s*\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}\s*,'
    rb'\s*"(?:[^"\\]|\\.)*"\s*,\s*'
)


class JsonCodec(Codec):
    """C{wamp.2.json}."""

    name = "json"
    binary = False

    def _loads(self, data: bytes) -> Any:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            # What orjson refuses, the stdlib may read (it must still refuse
            # NaN/Infinity, which are not JSON). Older orjson refused integers
            # beyond 64 bits; 3.13 reads them as floats.
            try:
                value = json.loads(data, parse_constant=_no_constant)
            except (ValueError, TypeError):
                raise CodecError(str(e)) from None
        if _NUL in data:
            value = _unbinary(value)
        return value

    def _dumps(self, value: Any) -> bytes:
        try:
            return orjson.dumps(value, default=_json_default)
        except TypeError:
            # orjson refuses integers beyond 64 bits; the stdlib does not.
            s = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
            return s.encode("utf-8")

    def decode_one(self, data: bytes) -> Message:
        msg = _check(self._loads(data))
        if msg[0] == PUBLISH and 4 < len(msg) <= 6:
            values = _payload_values(msg[4:])
            m = _JSON_PUBLISH_HEAD.match(data)
            if m is not None:
                end = data.rindex(b"]")
                msg[4:] = [Payload(self, data[m.end() : end], len(msg) - 4, values)]
            else:
                # Unusual header (nested options): re-encoded once per serializer.
                msg[4:] = [Payload.from_values(*values)]
        return msg

    def decode(self, data: bytes) -> list[Message]:
        return [self.decode_one(data)]

    def encode(self, msg: Message) -> bytes:
        return self._dumps(msg)

    def encode_event(
        self, subscription: int, publication: int, details: dict[str, Any], payload: Payload
    ) -> bytes:
        raw, count = payload.encoded(self)
        head = b"[36,%d,%d,%s" % (subscription, publication, self._dumps(details))
        if count:
            return head + b"," + raw + b"]"
        return head + b"]"

    def encode_values(self, args: Any, kwargs: Any) -> tuple[bytes, int]:
        if kwargs is not None:
            return self._dumps([args if args is not None else [], kwargs])[1:-1], 2
        if args is not None:
            return self._dumps([args])[1:-1], 1
        return b"", 0

    def decode_values(self, raw: bytes, count: int) -> tuple[Any, Any]:
        if not count:
            return None, None
        vals = self._loads(b"[" + raw + b"]")
        return vals[0], (vals[1] if count > 1 else None)


class BatchedJsonCodec(JsonCodec):
    """C{wamp.2.json.batched}: each message is followed by byte 0x18."""

    def decode(self, data: bytes) -> list[Message]:
        chunks = data.split(b"\x18")
        if len(chunks) < 2 or chunks[-1]:
            raise CodecError("batched JSON frame must end with 0x18")
        return [self.decode_one(c) for c in chunks[:-1]]

    def encode(self, msg: Message) -> bytes:
        return self._dumps(msg) + b"\x18"

    def encode_event(
        self, subscription: int, publication: int, details: dict[str, Any], payload: Payload
    ) -> bytes:
        return super().encode_event(subscription, publication, details, payload) + b"\x18"


def _no_ext(code: int, data: bytes) -> Any:
    """msgpack extension types are not WAMP values. (msgpack decodes the
    timestamp type, -1, itself: receivers on other serializers cannot get
    one, see L{Unrepresentable}.)"""
    raise CodecError(f"msgpack extension type {code} is not a WAMP value")


def _array_head(n: int, base: int) -> bytes:
    return bytes((base | n,))


class MsgpackCodec(Codec):
    """C{wamp.2.msgpack}."""

    name = "msgpack"
    binary = True

    def decode(self, data: bytes) -> list[Message]:
        try:
            if len(data) > 2 and 0x95 <= data[0] <= 0x96 and data[1] == PUBLISH:
                return [self._decode_publish(data)]
            return [_check(msgpack.unpackb(data, raw=False, ext_hook=_no_ext))]
        except CodecError:
            raise
        except Exception as e:  # msgpack raises many types for bad input
            raise CodecError(f"bad msgpack: {e}") from None

    def _decode_publish(self, data: bytes) -> Message:
        u = msgpack.Unpacker(raw=False, max_buffer_size=len(data), ext_hook=_no_ext)
        u.feed(data)
        n = u.read_array_header()
        head = [u.unpack() for _ in range(4)]
        start = u.tell()
        # unpack (not skip): skip() does not check that strings are UTF-8,
        # and a subscriber must never receive bytes it cannot decode.
        rest = [u.unpack() for _ in range(n - 4)]
        end = u.tell()
        if end != len(data):
            raise CodecError("trailing bytes after msgpack message")
        head.append(Payload(self, data[start:end], n - 4, _payload_values(rest)))
        return head

    def encode(self, msg: Message) -> bytes:
        return msgpack.packb(msg, use_bin_type=True)

    def encode_event(
        self, subscription: int, publication: int, details: dict[str, Any], payload: Payload
    ) -> bytes:
        raw, count = payload.encoded(self)
        head = msgpack.packb([EVENT, subscription, publication, details], use_bin_type=True)
        return _array_head(4 + count, 0x90) + head[1:] + raw

    def encode_values(self, args: Any, kwargs: Any) -> tuple[bytes, int]:
        if kwargs is not None:
            vals: list[Any] = [args if args is not None else [], kwargs]
        elif args is not None:
            vals = [args]
        else:
            return b"", 0
        return msgpack.packb(vals, use_bin_type=True)[1:], len(vals)

    def decode_values(self, raw: bytes, count: int) -> tuple[Any, Any]:
        if not count:
            return None, None
        vals = msgpack.unpackb(_array_head(count, 0x90) + raw, raw=False)
        return vals[0], (vals[1] if count > 1 else None)


class CborCodec(Codec):
    """C{wamp.2.cbor}."""

    name = "cbor"
    binary = True

    def decode(self, data: bytes) -> list[Message]:
        try:
            fp = io.BytesIO(data)
            if len(data) > 2 and 0x85 <= data[0] <= 0x86 and data[1] == PUBLISH:
                n = data[0] & 0x1F
                fp.seek(1)
                dec = cbor2.CBORDecoder(fp)
                msg = [dec.decode() for _ in range(4)]
                start = fp.tell()
                rest = [dec.decode() for _ in range(n - 4)]
                end = fp.tell()
                if end != len(data):
                    raise CodecError("trailing bytes after CBOR message")
                _only_wamp_values(msg)
                _only_wamp_values(rest)
                msg.append(Payload(self, data[start:end], n - 4, _payload_values(rest)))
                return [_check(msg)]
            value = cbor2.CBORDecoder(fp).decode()
            if fp.tell() != len(data):
                raise CodecError("trailing bytes after CBOR message")
            _only_wamp_values(value)
            return [_check(value)]
        except CodecError:
            raise
        except Exception as e:  # cbor2 raises many types for bad input
            raise CodecError(f"bad cbor: {e}") from None

    def encode(self, msg: Message) -> bytes:
        return cbor2.dumps(msg)

    def encode_event(
        self, subscription: int, publication: int, details: dict[str, Any], payload: Payload
    ) -> bytes:
        raw, count = payload.encoded(self)
        head = cbor2.dumps([EVENT, subscription, publication, details])
        return _array_head(4 + count, 0x80) + head[1:] + raw

    def encode_values(self, args: Any, kwargs: Any) -> tuple[bytes, int]:
        if kwargs is not None:
            vals: list[Any] = [args if args is not None else [], kwargs]
        elif args is not None:
            vals = [args]
        else:
            return b"", 0
        return cbor2.dumps(vals)[1:], len(vals)

    def decode_values(self, raw: bytes, count: int) -> tuple[Any, Any]:
        if not count:
            return None, None
        vals = cbor2.loads(_array_head(count, 0x80) + raw)
        return vals[0], (vals[1] if count > 1 else None)


JSON = JsonCodec()
JSON_BATCHED = BatchedJsonCodec()
MSGPACK = MsgpackCodec()
CBOR = CborCodec()

#: websocket subprotocol name -> codec
SUBPROTOCOLS: dict[str, Codec] = {
    "wamp.2.json": JSON,
    "wamp.2.msgpack": MSGPACK,
    "wamp.2.cbor": CBOR,
    "wamp.2.json.batched": JSON_BATCHED,
}
