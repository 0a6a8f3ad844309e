"""
The arguments of a publication or call, kept serialized as long as possible.

See L{hubsd.wamp.codec} for how the raw slice is cut out of a PUBLISH and
spliced into EVENTs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubsd.wamp.codec import Codec


class Payload:
    """
    The C{args}/C{kwargs} of a publication or call, lazily decoded.

    C{raw} is the serialized slice in the serializer it arrived with (None for
    values that came from an in-process session or a rewriting hook).
    C{args}/C{kwargs} decode once on first use and are cached; C{encoded}
    caches one encoding per serializer.
    """

    __slots__ = ("_codec", "_raw", "_count", "_values", "_cache")

    def __init__(
        self,
        codec: Codec | None,
        raw: bytes | None,
        count: int,
        values: tuple[list[Any] | None, dict[str, Any] | None] | None = None,
    ) -> None:
        self._codec = codec
        self._raw = raw
        self._count = count
        self._values = values
        self._cache: dict[str, tuple[bytes, int]] | None = None

    @classmethod
    def from_values(cls, args: Any = None, kwargs: Any = None) -> Payload:
        """A payload from Python values (no serialized form yet)."""
        if kwargs is not None:
            kwargs = dict(kwargs)
            args = list(args) if args is not None else []
        elif args is not None:
            args = list(args)
        count = 2 if kwargs is not None else (1 if args is not None else 0)
        return cls(None, None, count, (args, kwargs))

    @property
    def raw(self) -> bytes | None:
        """The serialized slice as received, or None."""
        return self._raw

    @property
    def serializer(self) -> str | None:
        """Name of the serializer C{raw} is in, or None."""
        return self._codec.name if self._codec is not None else None

    def _decode(self) -> tuple[list[Any] | None, dict[str, Any] | None]:
        if self._values is None:
            assert self._codec is not None and self._raw is not None
            self._values = self._codec.decode_values(self._raw, self._count)
        return self._values

    @property
    def args(self) -> list[Any] | None:
        """Positional arguments (decoded on first access)."""
        return self._decode()[0]

    @property
    def kwargs(self) -> dict[str, Any] | None:
        """Keyword arguments (decoded on first access)."""
        return self._decode()[1]

    def encoded(self, codec: Codec) -> tuple[bytes, int]:
        """The slice in C{codec}'s serialization and the element count."""
        if self._codec is not None and codec.name == self._codec.name:
            assert self._raw is not None
            return self._raw, self._count
        if self._count == 0:
            return b"", 0
        cache = self._cache
        if cache is None:
            cache = self._cache = {}
        hit = cache.get(codec.name)
        if hit is None:
            args, kwargs = self._decode()
            hit = cache[codec.name] = codec.encode_values(args, kwargs)
        return hit

    def append_to(self, msg: list[Any]) -> list[Any]:
        """C{msg} with args/kwargs appended as values (for non-hot paths)."""
        if self._count:
            args, kwargs = self._decode()
            msg.append(args if args is not None else [])
            if kwargs is not None:
                msg.append(kwargs)
        return msg
