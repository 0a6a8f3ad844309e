"""
The broker: subscriptions, publications, retained events, fan-out.

Fan-out encodes each EVENT once per (subscription, encoder) and hands the
same bytes to every subscriber sharing that encoder (a WAMP wire format,
or another kind of session's L{hubsd.wamp.session.EventEncoder}); the
per-receiver work is one filter check and one buffered write. Sessions
without an encoder (in-process ones) get C{send_event}, with a cache
shared by the subscription's receivers, so that they too build one event
per (subscription, publication).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger

from hubsd.wamp.ids import new_id, new_unique_id
from hubsd.wamp.patterns import wildcard_match
from hubsd.wamp.payload import Payload

if TYPE_CHECKING:
    from hubsd.wamp.session import EventEncoder, RouterSession

log = Logger()

#: Topics whose retained event one realm keeps. Past this, the topic retained
#: least recently is forgotten: clients publishing retain=true to ever-new
#: topics cannot grow memory without bound (at most this many events, each
#: at most C{max_message_size}).
MAX_RETAINED_TOPICS = 1000

#: PUBLISH options that filter receivers; their presence disables the fast path.
_FILTERS = (
    "exclude",
    "eligible",
    "exclude_authid",
    "eligible_authid",
    "exclude_authrole",
    "eligible_authrole",
)


class Subscription:
    """One (topic, match policy) with the sessions subscribed to it."""

    __slots__ = ("id", "uri", "match", "created", "subscribers")

    def __init__(self, sub_id: int, uri: str, match: str) -> None:
        self.id = sub_id
        self.uri = uri
        self.match = match
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.subscribers: dict[int, RouterSession] = {}

    def describe(self) -> dict[str, Any]:
        """The C{wamp.subscription.get} shape."""
        return {"id": self.id, "created": self.created, "uri": self.uri, "match": self.match}


class Retained:
    """The last retained event of a topic."""

    __slots__ = ("topic", "payload", "options", "publisher")

    def __init__(
        self,
        topic: str,
        payload: Payload,
        options: dict[str, Any],
        publisher: tuple[int, str, str] | None,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.options = options
        # (session, authid, authrole): no reference to a session that may leave.
        self.publisher = publisher


def _eligible(peer: RouterSession, opts: dict[str, Any]) -> bool:
    """Apply the advanced-profile receiver black/white lists."""
    sid = peer.session_id
    v = opts.get("exclude")
    if v and sid in v:
        return False
    v = opts.get("eligible")
    if v is not None and sid not in v:
        return False
    v = opts.get("exclude_authid")
    if v and peer.authid in v:
        return False
    v = opts.get("eligible_authid")
    if v is not None and peer.authid not in v:
        return False
    v = opts.get("exclude_authrole")
    if v and peer.authrole in v:
        return False
    v = opts.get("eligible_authrole")
    if v is not None and peer.authrole not in v:
        return False
    return True


class Broker:
    """Subscriptions and fan-out of one realm."""

    def __init__(self) -> None:
        self._exact: dict[str, Subscription] = {}
        self._prefix: dict[str, Subscription] = {}
        self._wildcard: dict[str, Subscription] = {}
        self.by_id: dict[int, Subscription] = {}
        self.retained: dict[str, Retained] = {}

    def _table(self, match: str) -> dict[str, Subscription]:
        if match == "exact":
            return self._exact
        if match == "prefix":
            return self._prefix
        return self._wildcard

    def subscribe(
        self, peer: RouterSession, topic: str, match: str
    ) -> tuple[Subscription, bool, bool]:
        """
        Add C{peer} to the subscription for (C{topic}, C{match}).

        @return: (subscription, created, newly_added): created when the
            subscription did not exist, newly_added when the peer was not
            yet subscribed (a repeated SUBSCRIBE returns the same id).
        """
        table = self._table(match)
        sub = table.get(topic)
        created = sub is None
        if sub is None:
            sub = Subscription(new_unique_id(self.by_id), topic, match)
            table[topic] = sub
            self.by_id[sub.id] = sub
        added = peer.session_id not in sub.subscribers
        sub.subscribers[peer.session_id] = peer
        peer.subscriptions[sub] = None
        return sub, created, added

    def unsubscribe(self, peer: RouterSession, sub: Subscription) -> bool:
        """Remove C{peer}; return True if the subscription is now deleted."""
        sub.subscribers.pop(peer.session_id, None)
        peer.subscriptions.pop(sub, None)
        if not sub.subscribers:
            self._table(sub.match).pop(sub.uri, None)
            self.by_id.pop(sub.id, None)
            return True
        return False

    def matching(self, topic: str) -> Iterator[Subscription]:
        """Every subscription whose pattern matches C{topic}."""
        sub = self._exact.get(topic)
        if sub is not None:
            yield sub
        if self._prefix:
            for prefix, s in list(self._prefix.items()):
                if topic.startswith(prefix):
                    yield s
        if self._wildcard:
            for pattern, s in list(self._wildcard.items()):
                if wildcard_match(pattern, topic):
                    yield s

    def lookup(self, topic: str, match: str) -> Subscription | None:
        return self._table(match).get(topic)

    def all(self) -> dict[str, list[int]]:
        """The C{wamp.subscription.list} shape."""
        return {
            "exact": [s.id for s in self._exact.values()],
            "prefix": [s.id for s in self._prefix.values()],
            "wildcard": [s.id for s in self._wildcard.values()],
        }

    def publish(
        self,
        publisher: RouterSession | None,
        topic: str,
        payload: Payload,
        opts: dict[str, Any],
        droppable: bool,
    ) -> tuple[int, int]:
        """
        Deliver one publication to every eligible subscriber.

        @return: (publication id, number of deliveries)
        """
        pub_id = new_id()
        if opts.get("retain"):
            who = (
                (publisher.session_id, publisher.authid, publisher.authrole)
                if publisher is not None
                else None
            )
            self._retain(Retained(topic, payload, opts, who))
        sent = 0
        exclude_me = opts.get("exclude_me", True)
        me = publisher.session_id if (publisher is not None and exclude_me) else 0
        filtered = any(k in opts for k in _FILTERS) if opts else False
        disclose = publisher is not None and opts.get("disclose_me")
        for sub in self.matching(topic):
            details: dict[str, Any] = {}
            if sub.match != "exact":
                details["topic"] = topic
            if disclose:
                assert publisher is not None
                details["publisher"] = publisher.session_id
                details["publisher_authid"] = publisher.authid
                details["publisher_authrole"] = publisher.authrole
            # One encoded frame per encoder (e.g. serializer + framing) for
            # this subscription; per receiver only a lookup and a buffered write.
            cache: dict[Any, bytes] = {}
            # A droppable event supersedes only the same publisher's older one
            # on this subscription: in a room topic every member publishes its
            # own avatar state, and one member's update never stands for another's.
            key = (
                (sub.id, publisher.session_id if publisher is not None else 0)
                if droppable
                else None
            )
            for sid, peer in list(sub.subscribers.items()):
                if sid == me:
                    continue
                if filtered and not _eligible(peer, opts):
                    continue
                sent += 1
                enc = peer.encoder
                if enc is None:
                    peer.send_event(sub.id, pub_id, details, payload, cache, key)
                    continue
                frame = cache.get(enc)
                if frame is None:
                    frame = cache[enc] = _encode(enc, topic, sub.id, pub_id, details, payload)
                if frame:
                    peer.out.write(frame, key)
        return pub_id, sent

    def _retain(self, ret: Retained) -> None:
        """Keep C{ret} as its topic's retained event; the dict's order is
        the order of retaining, so the first key is the one to forget."""
        retained = self.retained
        retained.pop(ret.topic, None)
        retained[ret.topic] = ret
        if len(retained) > MAX_RETAINED_TOPICS:
            del retained[next(iter(retained))]

    def send_retained(self, peer: RouterSession, sub: Subscription) -> None:
        """Deliver the retained events matching C{sub} to C{peer} only."""
        if not self.retained:
            return
        if sub.match == "exact":
            ret = self.retained.get(sub.uri)
            candidates = [ret] if ret is not None else []
        else:
            candidates = [r for t, r in self.retained.items() if _matches(sub.match, sub.uri, t)]
        for ret in candidates:
            if not _eligible(peer, ret.options):
                continue
            details: dict[str, Any] = {"retained": True}
            if sub.match != "exact":
                details["topic"] = ret.topic
            if ret.publisher is not None and ret.options.get("disclose_me"):
                p = ret.publisher
                details["publisher"], details["publisher_authid"] = p[0], p[1]
                details["publisher_authrole"] = p[2]
            enc = peer.encoder
            if enc is None:
                peer.send_event(sub.id, new_id(), details, ret.payload, {}, None)
                continue
            frame = _encode(enc, ret.topic, sub.id, new_id(), details, ret.payload)
            if frame:
                peer.out.write(frame, None)

    def remove_peer(self, peer: RouterSession) -> list[tuple[Subscription, bool]]:
        """Drop every subscription of C{peer}; return (sub, deleted) pairs."""
        out = []
        for sub in list(peer.subscriptions):
            out.append((sub, self.unsubscribe(peer, sub)))
        return out


def _encode(
    enc: EventEncoder,
    topic: str,
    sub_id: int,
    pub_id: int,
    details: dict[str, Any],
    payload: Payload,
) -> bytes:
    """C{enc}'s EVENT, or b"" (logged) if it cannot be encoded."""
    try:
        return enc.event(topic, sub_id, pub_id, details, payload)
    except Exception:
        log.failure("cannot encode event for subscription {sub}", sub=sub_id)
        return b""


def encode_event(
    wire: Any, sub_id: int, pub_id: int, details: dict[str, Any], payload: Payload
) -> bytes:
    """The framed EVENT for a WAMP C{wire} (L{hubsd.wamp.wire.Wire}), or b""
    (logged) if it cannot be encoded."""
    try:
        frame: bytes = wire.event(sub_id, pub_id, details, payload)
        return frame
    except Exception:
        log.failure("cannot encode event for subscription {sub}", sub=sub_id)
        return b""


def _matches(match: str, pattern: str, topic: str) -> bool:
    if match == "prefix":
        return topic.startswith(pattern)
    if match == "wildcard":
        return wildcard_match(pattern, topic)
    return pattern == topic
