"""
A bounded cache whose entries expire: resolved URLs and made thumbnails.

Bounded twice, by the number of entries and by their total weight (bytes for
thumbnails); the least recently used entry goes first when either bound is
passed, and an entry older than C{ttl} seconds is never returned.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from hubsd.rooms.ratelimit import Clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """At most C{max_entries} entries weighing at most C{max_weight}, each for C{ttl} s."""

    def __init__(
        self,
        max_entries: int,
        ttl: float,
        clock: Clock,
        weight: Callable[[V], int] = lambda value: 0,
        max_weight: int = 0,
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._weigh = weight
        self.max_weight = max_weight
        self.weight = 0
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value put under C{key} less than C{ttl} seconds ago, if still held."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() - entry[0] >= self.ttl:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def age(self, key: K) -> float | None:
        """Seconds since C{key} was put, if it is held and fresh."""
        if self.get(key) is None:
            return None
        return self._clock() - self._entries[key][0]

    def put(self, key: K, value: V) -> None:
        """Hold C{value}; a value heavier than C{max_weight} on its own is not held."""
        if key in self._entries:
            self._remove(key)
        size = self._weigh(value)
        if self.max_weight and size > self.max_weight:
            return
        self._entries[key] = (self._clock(), value)
        self.weight += size
        while len(self._entries) > self.max_entries or (
            self.max_weight and self.weight > self.max_weight
        ):
            self._remove(next(iter(self._entries)))

    def _remove(self, key: K) -> None:
        _, value = self._entries.pop(key)
        self.weight -= self._weigh(value)
