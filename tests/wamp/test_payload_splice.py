"""Adding one keyword to a payload by splicing its bytes, as the NAF relay does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubsd.wamp.codec import CBOR, JSON, MSGPACK, Codec
from hubsd.wamp.payload import Payload

ENVELOPE = {"dataType": "um", "data": {"d": [{"networkId": "a", "components": {"0": 1.5}}]}}


def payload(codec: Codec, args: Any, kwargs: Any) -> Payload:
    raw, count = codec.encode_values(args, kwargs)
    return Payload(codec, raw, count)


@pytest.mark.parametrize("codec", [JSON, MSGPACK], ids=lambda c: c.name)
def test_a_kwarg_is_spliced_in_front_and_decodes_as_the_values(codec: Codec) -> None:
    p = payload(codec, [], ENVELOPE)
    out = {"from_session_id": "s-1", **ENVELOPE}
    spliced = p.with_kwarg_first("from_session_id", "s-1", out)
    assert spliced is not None
    assert spliced.raw != p.raw and spliced.serializer == codec.name
    assert codec.decode_values(spliced.raw, 2) == ([], out)  # type: ignore[arg-type]
    # The values are kept: nothing decodes again, other serializers encode them.
    assert spliced.kwargs is out
    assert JSON.decode_values(*spliced.encoded(JSON)) == ([], out)


@pytest.mark.parametrize(
    ("codec", "args", "kwargs"),
    [
        (JSON, ["x"], ENVELOPE),  # positional arguments too
        (JSON, [], {}),  # nothing to put the key in front of
        (JSON, ["only args"], None),
        (MSGPACK, [1], ENVELOPE),
        (MSGPACK, [], {}),
        (MSGPACK, [], {str(i): i for i in range(15)}),  # a fixmap is full at 15
        (MSGPACK, [], {str(i): i for i in range(40)}),  # a map16
        (CBOR, [], ENVELOPE),  # not spliced: encoded from the values instead
    ],
)
def test_forms_that_cannot_be_spliced_fall_back(codec: Codec, args: Any, kwargs: Any) -> None:
    p = payload(codec, args, kwargs)
    assert p.with_kwarg_first("from_session_id", "s-1", {}) is None


def test_json_with_whitespace_is_not_spliced() -> None:
    p = Payload(JSON, b'[], {"dataType": "u"}', 2)
    assert p.with_kwarg_first("k", "v", {}) is None


def test_values_without_raw_bytes_are_not_spliced() -> None:
    assert Payload.from_values([], ENVELOPE).with_kwarg_first("k", "v", {}) is None


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k != "from_session_id"),
        # A JSON string starting with NUL is binary in WAMP (base64 after the
        # NUL), so such strings do not come back as the same text.
        st.one_of(
            st.integers(-(2**31), 2**31),
            st.text(max_size=20).filter(lambda s: not s.startswith("\x00")),
            st.booleans(),
            st.none(),
        ),
        min_size=1,
        max_size=14,
    ),
    st.text(max_size=40).filter(lambda s: not s.startswith("\x00")),
)
def test_splicing_equals_encoding_the_values(kwargs: dict[str, Any], sender: str) -> None:
    for codec in (JSON, MSGPACK):
        p = payload(codec, [], kwargs)
        out = {"from_session_id": sender, **kwargs}
        spliced = p.with_kwarg_first("from_session_id", sender, out)
        assert spliced is not None
        assert codec.decode_values(spliced.raw, 2) == ([], out)  # type: ignore[arg-type]
