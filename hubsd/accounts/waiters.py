"""
Who waits for a sign-in link to be used: callbacks by login topic.

A transport that waits on a login topic (a Phoenix ``auth:<topic>``
channel, a WAMP ``hubsd.account.wait`` call) registers a callback here;
when the link of that topic is used, every callback waiting on it is called
once with the credentials and forgotten. The table is bounded
(C{max_waiters} in all, C{per_topic} on one topic), so waiting costs an
anonymous client at most one slot. Waiters live on this node only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

from hubsd.accounts.errors import Unavailable

log = Logger()

#: Callbacks on one topic at most: the asking page, the verifying page, a few tabs.
PER_TOPIC = 8


class Waiters:
    """Callbacks waiting for the credentials of a login topic."""

    def __init__(self, max_waiters: int, per_topic: int = PER_TOPIC) -> None:
        self.max_waiters = max_waiters
        self.per_topic = per_topic
        self._by_topic: dict[str, list[Callable[[Any], None]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, topic: str, callback: Callable[[Any], None]) -> Callable[[], None]:
        """
        Call C{callback(credentials)} once when C{topic}'s link is used.

        @return: A callable that stops the wait (harmless after the call).
        @raise Unavailable: when C{max_waiters} wait already, or C{per_topic}
            on this topic.
        """
        waiting = self._by_topic.get(topic, [])
        if self._count >= self.max_waiters or len(waiting) >= self.per_topic:
            raise Unavailable("too many clients are waiting for sign-in links; try again later")
        self._by_topic[topic] = waiting
        waiting.append(callback)
        self._count += 1

        def cancel() -> None:
            callbacks = self._by_topic.get(topic)
            if callbacks is not None and callback in callbacks:
                callbacks.remove(callback)
                self._count -= 1
                if not callbacks:
                    del self._by_topic[topic]

        return cancel

    def tell(self, topic: str, credentials: Any) -> int:
        """Call and forget every callback waiting on C{topic}; how many there were."""
        callbacks = self._by_topic.pop(topic, [])
        self._count -= len(callbacks)
        for callback in callbacks:
            try:
                callback(credentials)
            except Exception:
                # One broken transport must not keep the others from hearing.
                log.failure("a sign-in waiter failed")
        return len(callbacks)
