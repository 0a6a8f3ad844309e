"""The relay rules of hubsd/rooms/relay.py with plain values: one test per rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from twisted.internet.task import Clock

from hubsd.rooms import relay
from hubsd.rooms.errors import InvalidPayload, NotPermitted, RateLimited
from hubsd.rooms.settings import RoomSettings
from tests.rooms.test_room_rules import make_room, seat


@dataclass
class Raw:
    raw: bytes | None = b"{}"

    def with_kwarg_first(self, key: str, value: str, kwargs: Any) -> None:
        return None  # no bytes to splice into: the relay builds from values


@dataclass
class Pub:
    kwargs: Any
    args: Any = None
    payload: Raw = field(default_factory=Raw)
    exclude: Any = None
    exclude_me: bool = True


def spawn(network_id: str = "e1", owner: str = "a", template: str = "#remote-avatar") -> dict:
    data = {
        "networkId": network_id,
        "owner": owner,
        "creator": owner,
        "lastOwnerTime": 1,
        "template": template,
        "persistent": False,
        "parent": None,
        "components": {"0": {"x": 1.5}},
        "isFirstSync": True,
    }
    return {"dataType": "u", "data": data}


def two_members(**record: Any) -> Any:
    room = make_room(**record)
    seat(room, "a", 1)
    seat(room, "b", 2)
    return room


def test_chat_is_relayed_with_the_server_set_sender_and_echoed_to_the_sender() -> None:
    room = two_members()
    pub = Pub({"type": "chat", "body": "hi", "session_id": "forged"})
    assert relay.relay(room, room.members["a"], "chat", pub) == (
        [],
        {"type": "chat", "body": "hi", "session_id": "a"},
    )
    assert pub.exclude_me is False
    assert pub.exclude is None


def test_a_naf_spawn_is_relayed_with_the_server_set_sender() -> None:
    room = two_members()
    pub = Pub(dict(spawn(), from_session_id="forged"))
    args, out = relay.relay(room, room.members["a"], "naf", pub)
    assert args == []
    assert out["from_session_id"] == "a"
    assert out["dataType"] == "u"
    assert out["data"]["networkId"] == "e1"
    assert pub.exclude_me is True  # the router's default: no echo of NAF


@pytest.mark.parametrize("kwargs", [None, [], "x", 5])
def test_an_envelope_that_is_not_keyword_arguments_is_refused(kwargs: Any) -> None:
    room = two_members()
    with pytest.raises(InvalidPayload, match="keyword arguments only"):
        relay.relay(room, room.members["a"], "chat", Pub(kwargs))


def test_positional_arguments_beside_the_envelope_are_refused() -> None:
    room = two_members()
    with pytest.raises(InvalidPayload, match="keyword arguments only"):
        relay.relay(room, room.members["a"], "chat", Pub({"type": "chat", "body": "x"}, [1]))
    # empty positional arguments are no arguments
    relay.relay(room, room.members["a"], "chat", Pub({"type": "chat", "body": "x"}, []))


def test_members_cannot_publish_on_server_topics_even_past_the_gate() -> None:
    room = two_members()
    with pytest.raises(InvalidPayload, match="cannot publish on presence"):
        relay.relay(room, room.members["a"], "presence", Pub({}))


def test_publications_of_a_blocked_pair_do_not_reach_each_other() -> None:
    room = two_members()
    seat(room, "c", 3)
    room.block("a", "b")
    for sender, hidden in (("a", [2]), ("b", [1])):
        pub = Pub({"type": "chat", "body": "hi"})
        relay.relay(room, room.members[sender], "chat", pub)
        assert pub.exclude == hidden
    pub = Pub({"type": "chat", "body": "hi"})
    relay.relay(room, room.members["c"], "chat", pub)
    assert pub.exclude is None


def test_over_the_rate_limit_a_publication_is_dropped_and_counted() -> None:
    clock = Clock()
    room = make_room(clock)
    room.settings = RoomSettings(kick_duration=60, rate_messages=2, rate_burst=1, rate_kick_after=1)
    seat(room, "a", 1)
    a = room.members["a"]
    sent = dropped = 0
    for _ in range(10):
        try:
            relay.relay(room, a, "chat", Pub({"type": "chat", "body": "x"}))
            sent += 1
        except RateLimited as e:
            dropped += 1
            assert str(e) == "rate limit exceeded: publication dropped"
    assert dropped > 0 and room.dropped_rate == dropped
    assert sent > 0
    assert room.flooders == set()  # not over it for long yet


def test_a_member_far_over_the_rate_limit_for_long_is_marked_to_be_removed() -> None:
    clock = Clock()
    room = make_room(clock)
    room.settings = RoomSettings(kick_duration=60, rate_messages=2, rate_burst=1, rate_kick_after=1)
    seat(room, "a", 1)
    a = room.members["a"]
    for _ in range(40):
        clock.advance(0.05)
        try:
            relay.relay(room, a, "chat", Pub({"type": "chat", "body": "x"}))
        except RateLimited:
            pass
    assert room.flooders == {"a"}


def test_the_byte_rate_counts_the_encoded_payload_size() -> None:
    room = make_room()
    room.settings = RoomSettings(kick_duration=60, rate_bytes=1000, rate_burst=1)
    seat(room, "a", 1)
    a = room.members["a"]
    relay.relay(room, a, "chat", Pub({"type": "chat", "body": "x"}, payload=Raw(b"x" * 900)))
    with pytest.raises(RateLimited):
        relay.relay(room, a, "chat", Pub({"type": "chat", "body": "x"}, payload=Raw(b"x" * 900)))


def test_a_payload_of_unknown_size_counts_as_256_bytes() -> None:
    room = make_room()
    # A bucket of exactly 512 bytes: two payloads of 256 fit, a third does not
    # (at 257 bytes each only one would).
    room.settings = RoomSettings(kick_duration=60, rate_bytes=512, rate_burst=1)
    seat(room, "a", 1)
    a = room.members["a"]
    for _ in range(2):
        relay.relay(room, a, "chat", Pub({"type": "chat", "body": "x"}, payload=Raw(None)))
    with pytest.raises(RateLimited):
        relay.relay(room, a, "chat", Pub({"type": "chat", "body": "x"}, payload=Raw(None)))


def test_a_member_that_has_not_entered_cannot_send_networked_objects() -> None:
    room = make_room()
    seat(room, "a", 1, enter=False)
    with pytest.raises(
        relay.Dropped, match="^enter the room before sending networked objects$"
    ) as e:
        relay.relay_naf(room, room.members["a"], spawn())
    assert e.value.uri == "hubsd.error.dropped"


def test_a_refused_spawn_is_dropped_with_the_reason() -> None:
    room = two_members()
    with pytest.raises(relay.Dropped) as e:
        relay.relay_naf(room, room.members["a"], spawn(template="#interactable-media"))
    assert str(e.value) == "dropped: denied"


def test_moderators_may_spawn_what_members_may_not() -> None:
    room = two_members()
    room.members["b"].permissions["spawn_and_move_media"] = True
    out, changed = relay.relay_naf(room, room.members["b"], spawn("m1", "b", "#interactable-media"))
    assert out["data"]["networkId"] == "m1" and out["from_session_id"] == "b"


def test_a_wrong_claim_of_ownership_is_corrected_for_the_sender_alone() -> None:
    room = two_members()
    relay.relay_naf(room, room.members["a"], spawn("e1", "a"))
    claim = {"dataType": "u", "data": dict(spawn("e1", "b")["data"], isFirstSync=False)}
    claim["data"]["lastOwnerTime"] = 0  # older than a's: b loses
    with pytest.raises(relay.Dropped):
        relay.relay_naf(room, room.members["b"], claim)
    assert [sender for sender, _ in room.corrections] == ["b"]
    assert room.corrections[0][1][0]["networkId"] == "e1"


def test_the_owner_of_an_entity_may_remove_it_and_a_moderator_may_too() -> None:
    room = make_room()
    seat(room, "a", 1)
    seat(room, "m", 2)
    seat(room, "c", 3)
    room.members["m"].roles = type(room.members["m"].roles)(moderator=True)
    relay.relay_naf(room, room.members["a"], spawn("e1", "a"))
    relay.relay_naf(room, room.members["a"], spawn("e2", "a"))
    remove = {"dataType": "r", "data": {"networkId": "e1"}}
    with pytest.raises(relay.Dropped):
        relay.relay_naf(room, room.members["c"], remove)
    assert relay.relay_naf(room, room.members["m"], remove)[0]["dataType"] == "r"
    remove2 = {"dataType": "r", "data": {"networkId": "e2"}}
    assert relay.relay_naf(room, room.members["a"], remove2)[0]["dataType"] == "r"


@pytest.mark.parametrize(
    ("message", "needs"),
    [
        ({"type": "chat", "body": "hi"}, "text_chat"),
        ({"type": "image", "body": {"src": "https://x/y.png"}}, "text_chat"),
        ({"type": "photo", "body": {"src": "https://x/y.png"}}, "spawn_camera"),
        ({"type": "video", "body": {"src": "https://x/y.webm"}}, "spawn_camera"),
    ],
)
def test_each_chat_type_needs_its_permission(message: dict, needs: str) -> None:
    room = two_members()
    a = room.members["a"]
    a.permissions = {k: True for k in a.permissions}
    assert relay.relay_chat(room, a, message)["type"] == message["type"]
    a.permissions[needs] = False
    with pytest.raises(NotPermitted) as e:
        relay.relay_chat(room, a, message)
    assert e.value.permission == needs


@pytest.mark.parametrize("kind", [None, 7, "", "audio", "CHAT", ["chat"], {"chat": 1}])
def test_an_unknown_chat_type_is_refused_naming_the_types(kind: Any) -> None:
    room = two_members()
    with pytest.raises(InvalidPayload, match="type must be one of chat, image, photo, video"):
        relay.relay_chat(room, room.members["a"], {"type": kind, "body": "x"})


@pytest.mark.parametrize("body", [None, "", "   ", 5, {"text": "x"}])
def test_a_chat_body_must_be_a_non_empty_string(body: Any) -> None:
    room = two_members()
    with pytest.raises(InvalidPayload, match="^body must be a non-empty string$"):
        relay.relay_chat(room, room.members["a"], {"type": "chat", "body": body})


def test_a_chat_body_may_be_as_long_as_the_limit_and_no_longer() -> None:
    room = two_members()
    limit = room.settings.max_chat_length
    a = room.members["a"]
    assert relay.relay_chat(room, a, {"type": "chat", "body": "x" * limit})["body"] == "x" * limit
    with pytest.raises(InvalidPayload, match=f"longer than {limit} characters"):
        relay.relay_chat(room, a, {"type": "chat", "body": "x" * (limit + 1)})


def test_a_media_message_keeps_only_its_url() -> None:
    room = two_members()
    out = relay.relay_chat(
        room, room.members["a"], {"type": "image", "body": {"src": "u", "onclick": "evil()"}}
    )
    assert out == {"type": "image", "body": {"src": "u"}, "session_id": "a"}


@pytest.mark.parametrize("body", [None, "u", {}, {"src": 5}, {"src": ""}, {"src": "x" * 2049}])
def test_a_media_url_must_be_a_string_of_one_to_2048_characters(body: Any) -> None:
    room = two_members()
    with pytest.raises(InvalidPayload, match="body.src must be a URL of at most 2048 characters"):
        relay.relay_chat(room, room.members["a"], {"type": "image", "body": body})
    ok = {"type": "image", "body": {"src": "x" * 2048}}
    assert relay.relay_chat(room, room.members["a"], ok)["body"]["src"] == "x" * 2048


def test_an_untouched_update_keeps_its_bytes_and_gets_the_sender_spliced_in() -> None:
    from hubsd.wamp.codec import JSON
    from hubsd.wamp.payload import Payload

    room = two_members()
    relay.relay_naf(room, room.members["a"], spawn("e1", "a"))
    update = dict(spawn("e1", "a")["data"], isFirstSync=False)
    envelope = {"dataType": "um", "data": {"d": [update]}}
    raw, count = JSON.encode_values([], envelope)

    class RawPub(Pub):
        pass

    pub = RawPub(None)
    pub.payload = Payload(JSON, raw, count)  # type: ignore[assignment]
    pub.kwargs = pub.payload.kwargs
    pub.args = pub.payload.args
    out = relay.relay(room, room.members["a"], "naf", pub)
    assert isinstance(out, Payload) and out.raw is not None
    assert out.raw.endswith(raw[len(b"[],{") :])  # the client's bytes, untouched
    assert JSON.decode_values(out.raw, 2) == ([], {"from_session_id": "a", **envelope})
    # A stamped first sync is rebuilt from the values instead.
    spawned = Pub(spawn("e2", "someone-else"))
    args, kwargs = relay.relay(room, room.members["a"], "naf", spawned)
    assert kwargs["data"]["owner"] == "a"


def test_networked_objects_of_a_blocked_pair_do_not_reach_each_other() -> None:
    room = two_members()
    seat(room, "c", 3)
    room.block("b", "a")
    pub = Pub(spawn("e1", "a"))
    relay.relay(room, room.members["a"], "naf", pub)
    assert pub.exclude == [2]


def test_an_owner_who_is_not_the_creator_may_remove_any_entity() -> None:
    from hubsd.rooms.permissions import Roles

    room = two_members()
    room.members["b"].roles = Roles(owner=True)
    relay.relay_naf(room, room.members["a"], spawn("e1", "a"))
    out, _ = relay.relay_naf(
        room, room.members["b"], {"dataType": "r", "data": {"networkId": "e1"}}
    )
    assert out["dataType"] == "r" and out["from_session_id"] == "b"


def test_the_spliced_payload_keeps_the_values_for_other_serializers() -> None:
    from hubsd.wamp.codec import JSON, MSGPACK
    from hubsd.wamp.payload import Payload

    room = two_members()
    relay.relay_naf(room, room.members["a"], spawn("e1", "a"))
    envelope = {
        "dataType": "um",
        "data": {"d": [dict(spawn("e1", "a")["data"], isFirstSync=False)]},
    }
    raw, count = JSON.encode_values([], envelope)
    pub = Pub(None)
    pub.payload = Payload(JSON, raw, count)  # type: ignore[assignment]
    pub.kwargs, pub.args = pub.payload.kwargs, pub.payload.args
    out = relay.relay(room, room.members["a"], "naf", pub)
    expected = {"dataType": "um", "data": envelope["data"], "from_session_id": "a"}
    assert out.kwargs == expected
    assert MSGPACK.decode_values(*out.encoded(MSGPACK)) == ([], expected)


def _raw_pub(envelope: dict[str, Any]) -> Pub:
    from hubsd.wamp.codec import JSON
    from hubsd.wamp.payload import Payload

    raw, count = JSON.encode_values([], envelope)
    pub = Pub(None)
    pub.payload = Payload(JSON, raw, count)  # type: ignore[assignment]
    pub.kwargs, pub.args = pub.payload.kwargs, pub.payload.args
    return pub


def test_a_stamped_envelope_is_never_spliced_from_the_clients_bytes() -> None:
    room = two_members()
    # The client claims another owner: the server stamps its own id, so the
    # bytes as received must not be what is relayed.
    out = relay.relay(room, room.members["a"], "naf", _raw_pub(spawn("e1", "someone-else")))
    assert isinstance(out, tuple)
    assert out[1]["data"]["owner"] == "a"


def test_an_envelope_with_other_keys_is_rebuilt_without_them() -> None:
    room = two_members()
    relay.relay_naf(room, room.members["a"], spawn("e1", "a"))
    update = dict(spawn("e1", "a")["data"], isFirstSync=False)
    envelope = {"dataType": "um", "data": {"d": [update]}, "clientId": "b"}
    out = relay.relay(room, room.members["a"], "naf", _raw_pub(envelope))
    assert isinstance(out, tuple) and "clientId" not in out[1]


def test_an_envelope_not_given_as_keywords_is_refused_naming_the_rule() -> None:
    room = two_members()
    with pytest.raises(InvalidPayload) as e:
        relay.relay(room, room.members["a"], "naf", Pub(spawn(), args=[1]))
    assert str(e.value) == "publish the envelope as keyword arguments only"
