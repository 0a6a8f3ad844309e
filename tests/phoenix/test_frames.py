"""The V2 frame codec: good frames round-trip, bad ones give a reason (never raise)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubsd.phoenix import frames
from hubsd.phoenix.frames import Frame, FrameError

names = st.text(min_size=1, max_size=40)
refs = st.none() | st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


@given(refs, refs, names, names, payloads)
def test_encoded_frames_decode_to_the_same_values(
    join_ref: str | None, ref: str | None, topic: str, event: str, payload: dict[str, Any]
) -> None:
    out = frames.decode(frames.encode(join_ref, ref, topic, event, payload))
    assert isinstance(out, Frame)
    assert (out.join_ref, out.ref, out.topic, out.event, out.payload) == (
        join_ref,
        ref,
        topic,
        event,
        payload,
    )
    # The payload's own text is cut out unchanged, ready to relay.
    assert out.raw_payload is not None and orjson.loads(out.raw_payload) == payload


@given(refs, refs, names, names, payloads)
def test_spaced_frames_keep_their_payload_text(
    join_ref: str | None, ref: str | None, topic: str, event: str, payload: dict[str, Any]
) -> None:
    text = json.dumps([join_ref, ref, topic, event, payload], indent=1).encode()
    out = frames.decode(b"  " + text + b"\n ")
    assert isinstance(out, Frame)
    assert out.raw_payload is not None and json.loads(out.raw_payload) == payload


@given(st.binary(max_size=64))
def test_any_bytes_decode_to_a_frame_or_a_reason(data: bytes) -> None:
    out = frames.decode(data)
    assert isinstance(out, Frame | FrameError)
    if isinstance(out, FrameError):
        assert out.reason


@given(json_values)
def test_any_json_decodes_to_a_frame_or_a_reason(value: Any) -> None:
    out = frames.decode(orjson.dumps(value))
    assert isinstance(out, Frame | FrameError)


BAD = [
    (b"", True, "not JSON"),
    (b"{", True, "not JSON"),
    (b"[1,2,3]", True, "JSON array"),
    (b'{"topic":"x"}', True, "JSON array"),
    (b'["1","1","t","e",{},6]', True, "JSON array"),
    (b'[1,"1","t","e",{}]', True, "join_ref and ref"),
    (b'["1",{},"t","e",{}]', True, "join_ref and ref"),
    (b'["1","1",null,"e",{}]', True, "topic"),
    (b'["1","1","","e",{}]', True, "topic"),
    (b'["1","1","t",null,{}]', False, "event"),
    (b'["1","1","t","e",[]]', False, "payload must be a JSON object"),
    (b'["1","1","t","e","x"]', False, "payload must be a JSON object"),
    (b'["1","1","t","e",NaN]', True, "not JSON"),
    (b'["1","1","' + b"t" * 300 + b'","e",{}]', True, "topic"),
]


@pytest.mark.parametrize(("data", "fatal", "words"), BAD)
def test_bad_frames(data: bytes, fatal: bool, words: str) -> None:
    out = frames.decode(data)
    assert isinstance(out, FrameError)
    assert out.fatal is fatal
    assert words in out.reason
    if not fatal:
        # Enough is known to answer with an error reply.
        assert (out.join_ref, out.ref, out.topic) == ("1", "1", "t")


def test_good_frames_table() -> None:
    hb = frames.decode(b'[null,"3","phoenix","heartbeat",{}]')
    assert hb == Frame(None, "3", "phoenix", "heartbeat", {}, b"{}")
    join = frames.decode('["1","1","hub:abc","phx_join",{"profile":{"displayName":"é"}}]')
    assert isinstance(join, Frame) and join.payload["profile"]["displayName"] == "é"


def test_reply_and_push_shapes() -> None:
    assert orjson.loads(frames.reply("1", "2", "hub:x", "ok", {"a": 1})) == [
        "1",
        "2",
        "hub:x",
        "phx_reply",
        {"status": "ok", "response": {"a": 1}},
    ]
    assert orjson.loads(frames.push_raw("hub:x", "naf", b'{"dataType":"u"}')) == [
        None,
        None,
        "hub:x",
        "naf",
        {"dataType": "u"},
    ]
    assert orjson.loads(frames.push_raw("hub:x", "phx_close", b"{}", "7"))[0] == "7"
