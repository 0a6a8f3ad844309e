"""
What a store accepts comes back exactly as given, and it refuses exactly
what the shared rules refuse: Hypothesis properties of the rules (pure, no
reactor), then tables of tricky values through every IRoomStore (memory,
SQLite, PostgreSQL).
"""

from __future__ import annotations

import json
from typing import Any

import pytest_twisted
from hypothesis import given
from hypothesis import strategies as st

from hubsd.storage.errors import InvalidValue
from hubsd.storage.records import check_pin, room_defaults

# Any JSON value Python's json module writes: floats of every size, big ints,
# any text (some of which the rules refuse: NUL, lone surrogates).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def storable(text: str) -> bool:
    """Whether the rules accept C{text}: no NUL, no lone surrogate."""
    return "\x00" not in text and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def texts_of(value: Any) -> list[str]:
    """Every string in a JSON value, object keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in texts_of(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *texts_of(item)]]
    return []


@given(name=st.text(max_size=70), description=st.text(max_size=300))
def test_the_rules_refuse_exactly_unstorable_room_text(name: str, description: str) -> None:
    expected = bool(name.strip()) and len(name) <= 64 and storable(name) and storable(description)
    try:
        fields = room_defaults(name, "slug", None, "allow", None, None, description)
    except InvalidValue:
        assert not expected
        return
    assert expected
    assert (fields["name"], fields["description"]) == (name, description)


@given(document=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_the_rules_keep_exactly_the_json_they_accept(document: dict[str, Any]) -> None:
    expected = all(storable(text) for text in texts_of(document))
    try:
        text = check_pin("naf-1", document, None)
    except InvalidValue:
        assert not expected
        return
    assert expected
    # repr, not ==: a float must stay a float (1e23 == 10**23 is False anyway).
    assert repr(json.loads(text)) == repr(document)


TRICKY_JSON: list[Any] = [
    1e23,  # not an exact decimal: PostgreSQL's jsonb would hand back the int 10**23
    1e300,
    -1e-300,
    5e-324,
    0.1,
    -0.0,
    2**70,
    -(2**63),
    2**53 + 1,
    "\u2028 \u00e9 e\u0301 \U0001f986 \u05e9\u05dc\u05d5\u05dd",
    '\\u0000 "quoted" \\\\',
    {"": {"": []}},
    [[], {}, [None, True, False]],
]


@pytest_twisted.ensureDeferred
async def test_tricky_json_comes_back_exactly(store: Any) -> None:
    room = await store.create_room("Pins")
    for n, value in enumerate(TRICKY_JSON):
        document = {"value": value, "list": [value]}
        pinned = await store.pin_object(room.hub_id, f"naf-{n:02d}", document)
        assert repr(pinned.gltf) == repr(document), value
    listed = await store.list_pinned(room.hub_id)
    assert [repr(p.gltf["value"]) for p in listed] == [repr(v) for v in TRICKY_JSON]


TRICKY_TEXT = [
    "\U0001f986" * 64,  # 64 characters, 256 bytes of UTF-8
    "e\u0301\u200d\u2028 \u05e9\u05dc\u05d5\u05dd \ufeff",
    "  padded  ",
    "'; DROP TABLE rooms; --",
]


@pytest_twisted.ensureDeferred
async def test_tricky_text_comes_back_exactly(store: Any) -> None:
    for text in TRICKY_TEXT:
        room = await store.create_room(text, description=text * 100, slug=text)
        again = await store.get_room(room.hub_id)
        assert (again.name, again.slug, again.description) == (text, text, text * 100)
    assert len(await store.list_rooms()) == len(TRICKY_TEXT)
