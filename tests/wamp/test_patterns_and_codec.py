"""Pure functions: authorization patterns, WAMP matching, codecs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubsd.wamp.codec import CBOR, JSON, JSON_BATCHED, MSGPACK, CodecError, Payload
from hubsd.wamp.patterns import PatternSet, wamp_match

PATTERN_TABLE = [
    ("*", "anything.at.all", True),
    ("com.example.*", "com.example.x.y", True),
    ("com.example.*", "com.examplex", False),
    ("com.ex*", "com.example", True),
    ("com..event", "com.room1.event", True),
    ("com..event", "com.room1.other", False),
    ("com..event", "com.a.b.event", False),
    ("com.exact", "com.exact", True),
    ("com.exact", "com.exact.more", False),
]


@pytest.mark.parametrize("pattern, uri, allowed", PATTERN_TABLE)
def test_authorization_pattern_syntax(pattern: str, uri: str, allowed: bool) -> None:
    assert PatternSet([pattern]).matches(uri) is allowed


def test_empty_pattern_set_denies() -> None:
    assert not PatternSet([]).matches("com.x")
    assert not PatternSet([])


@pytest.mark.parametrize(
    "policy, pattern, uri, expected",
    [
        ("exact", "a.b", "a.b", True),
        ("prefix", "a.", "a.b.c", True),
        ("prefix", "a.", "b.a", False),
        ("wildcard", "a..c", "a.b.c", True),
        ("wildcard", "a..c", "a.b.d", False),
        ("nonsense", "a", "a", False),
    ],
)
def test_wamp_match_policies(policy: str, pattern: str, uri: str, expected: bool) -> None:
    assert wamp_match(policy, pattern, uri) is expected


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.text(max_size=10).filter(lambda s: not s.startswith("\x00")),
        st.binary(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    args=st.lists(json_values, max_size=3),
    kwargs=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
    # A string starting with NUL is binary in WAMP's JSON convention, so it
    # cannot round-trip as text (in details no more than in args).
    details=st.dictionaries(
        st.sampled_from(["topic", "publisher"]),
        st.text(max_size=5).filter(lambda s: not s.startswith("\x00")),
    ),
)
def test_event_splicing_equals_plain_encoding_for_every_pair(
    args: list[Any], kwargs: dict[str, Any] | None, details: dict[str, Any]
) -> None:
    codecs = (JSON, MSGPACK, CBOR, JSON_BATCHED)
    for src in codecs:
        msg: list[Any] = [16, 1, {}, "com.t", args] + ([kwargs] if kwargs is not None else [])
        (decoded,) = src.decode(src.encode(msg))
        payload = decoded[4]
        assert isinstance(payload, Payload)
        for dst in codecs:
            (event,) = dst.decode(dst.encode_event(7, 8, details, payload))
            expected: list[Any] = [36, 7, 8, details, args]
            if kwargs is not None:
                expected.append(kwargs)
            assert event == expected


@pytest.mark.parametrize(
    "codec, data",
    [
        (JSON, b"{}"),
        (JSON, b"[]"),
        (JSON, b'["x"]'),
        (JSON, b'[16, 1, {}, "t", 5]'),
        (JSON, b'[16, 1, {}, "t", [], []]'),
        (JSON, b"[1, NaN]"),
        (JSON_BATCHED, b"[1]"),
        (MSGPACK, b"\x95\x10\x01\x80\xa1t\x05"),
        (MSGPACK, b"\x91\x01\x00"),
        (CBOR, b"\x85\x10\x01\xa0\x61t\x05"),
        (CBOR, b"\x81\x01\x00"),
    ],
)
def test_malformed_frames_are_codec_errors(codec: Any, data: bytes) -> None:
    with pytest.raises(CodecError):
        codec.decode(data)


def test_batched_json_carries_several_messages() -> None:
    msgs = JSON_BATCHED.decode(b'[1,"r",{}]\x18[6,{},"x"]\x18')
    assert msgs == [[1, "r", {}], [6, {}, "x"]]
    assert JSON_BATCHED.encode([6, {}, "x"]).endswith(b"\x18")
