"""The registration meta events, as a subscriber receives them (in memory)."""

from __future__ import annotations

from typing import Any

from hubsd.wamp.codec import CBOR, MSGPACK
from tests.wamp.wiretools import Peer, make_router

TOPICS = ("on_create", "on_register", "on_unregister", "on_delete")


class Watcher:
    """A peer subscribed to every registration meta event."""

    def __init__(self, router: Any) -> None:
        self.peer = Peer(router)
        self.peer.join()
        self.names: dict[int, str] = {}
        for i, name in enumerate(TOPICS):
            (subscribed,) = self.peer.send([32, i + 1, {}, "wamp.registration." + name])
            self.names[subscribed[2]] = name

    def take(self) -> list[tuple[str, list[Any]]]:
        """The meta events received since the last take, as (name, args)."""
        return [(self.names[e[1]], e[4]) for e in self.peer.read() if e[0] == 36]


def _joined(router: Any, codec: Any = None) -> Peer:
    p = Peer(router, codec) if codec is not None else Peer(router)
    p.join()
    return p


def test_shared_registration_lifecycle_is_announced() -> None:
    router, _ = make_router()
    watcher = Watcher(router)
    first, second = _joined(router, MSGPACK), _joined(router, CBOR)
    shared = {"invoke": "roundrobin"}
    (registered,) = first.send([64, 1, shared, "com.meta.shared"])
    reg_id = registered[2]
    create, register = watcher.take()
    assert create[0] == "on_create"
    session, details = create[1]
    assert session == first.session.session_id
    assert (details["id"], details["uri"]) == (reg_id, "com.meta.shared")
    assert (details["match"], details["invoke"]) == ("exact", "roundrobin")
    assert register == ("on_register", [first.session.session_id, reg_id])

    # Joining an existing registration: no on_create.
    (again,) = second.send([64, 2, shared, "com.meta.shared"])
    assert again[2] == reg_id
    assert watcher.take() == [("on_register", [second.session.session_id, reg_id])]

    # One callee of two leaves: the registration lives on.
    second.send([66, 3, reg_id])
    assert watcher.take() == [("on_unregister", [second.session.session_id, reg_id])]

    # The last callee disconnects: unregister and delete, in that order.
    first_id = first.session.session_id
    first.session.connection_lost()
    assert watcher.take() == [
        ("on_unregister", [first_id, reg_id]),
        ("on_delete", [first_id, reg_id]),
    ]
    (lookup,) = watcher.peer.send([48, 9, {}, "wamp.registration.lookup", ["com.meta.shared"]])
    assert lookup[3] == [None]


def test_explicit_unregister_of_the_last_callee_deletes() -> None:
    router, _ = make_router()
    watcher = Watcher(router)
    callee = _joined(router)
    reg_id = callee.send([64, 1, {"match": "prefix"}, "com.meta."])[0][2]
    create, _ = watcher.take()
    assert create[1][1]["match"] == "prefix"
    assert callee.send([66, 2, reg_id]) == [[67, 2]]
    sid = callee.session.session_id
    assert watcher.take() == [("on_unregister", [sid, reg_id]), ("on_delete", [sid, reg_id])]
    assert not callee.closed


def test_refused_registration_announces_nothing() -> None:
    router, _ = make_router()
    watcher = Watcher(router)
    callee = _joined(router)
    callee.send([64, 1, {}, "com.meta.single"])
    watcher.take()
    other = _joined(router)
    (err,) = other.send([64, 2, {}, "com.meta.single"])
    assert err[4] == "wamp.error.procedure_already_exists"
    assert watcher.take() == []
