"""
Typed config options: what a key is, its default, and how its text is parsed.

Each value type turns the INI text into a Python value or raises
`OptionError` with a message an operator can act on. Defaults are written as
the same text an operator would write, so ``conf/hubsd.ini`` can be checked
against the schema word for word.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Boolean",
    "ByteSize",
    "Choice",
    "Duration",
    "Endpoint",
    "FilePath",
    "Integer",
    "List",
    "Number",
    "Option",
    "OptionError",
    "Text",
]


class OptionError(ValueError):
    """A value's text cannot be turned into what its key needs."""


class ValueType(Protocol):
    def parse(self, text: str) -> Any: ...


@dataclass(frozen=True)
class Option:
    """
    One key of a section: ``default`` is the text used when the key is
    absent, or None when the key is required.
    """

    key: str
    type: ValueType
    default: str | None
    doc: str


@dataclass(frozen=True)
class Text:
    """Any string (surrounding whitespace removed)."""

    def parse(self, text: str) -> str:
        return text.strip()


_CREDENTIALS = ("${CREDENTIALS_DIRECTORY}/", "$CREDENTIALS_DIRECTORY/")


@dataclass(frozen=True)
class FilePath:
    """
    A file's path; empty text means "none". A path starting with
    ``$CREDENTIALS_DIRECTORY/`` (or ``${CREDENTIALS_DIRECTORY}/``) is taken
    inside that environment variable's directory, where systemd's
    ``LoadCredential=`` puts a unit's private copies of secret files; no
    other variable is expanded.
    """

    def parse(self, text: str) -> str:
        text = text.strip()
        for prefix in _CREDENTIALS:
            if text.startswith(prefix):
                directory = os.environ.get("CREDENTIALS_DIRECTORY")
                if not directory:
                    raise OptionError(
                        "$CREDENTIALS_DIRECTORY is not set (systemd sets it for a unit with "
                        "LoadCredential=; by hand, set it to the directory holding the file)"
                    )
                return os.path.join(directory, text[len(prefix) :])
        return text


@dataclass(frozen=True)
class Integer:
    """A whole number within [minimum, maximum]."""

    minimum: int | None = None
    maximum: int | None = None

    def parse(self, text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""), 10)
        except ValueError:
            raise OptionError("expected a whole number") from None
        return _in_range(value, self.minimum, self.maximum)


@dataclass(frozen=True)
class Number:
    """
    A number (``60``, ``2.5``) within [minimum, maximum]; ``above`` is an
    exclusive lower bound, for rates where 0 would mean "nothing ever".
    """

    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None

    def parse(self, text: str) -> float:
        try:
            value = float(text.strip().replace("_", ""))
        except ValueError:
            raise OptionError("expected a number such as 60 or 2.5") from None
        if not math.isfinite(value):
            raise OptionError("expected a finite number")
        return float(_in_range(value, self.minimum, self.maximum, self.above))


@dataclass(frozen=True)
class Boolean:
    """true/false, yes/no, on/off, 1/0."""

    def parse(self, text: str) -> bool:
        word = text.strip().lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        raise OptionError("expected true or false")


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of words."""

    choices: tuple[str, ...]

    def parse(self, text: str) -> str:
        word = text.strip().lower()
        if word not in self.choices:
            raise OptionError("expected one of: " + ", ".join(self.choices))
        return word


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteSize:
    """A size in bytes: ``65536``, ``64KiB``, ``1MiB``, ``2MB``, ``1G``."""

    minimum: int | None = None
    maximum: int | None = None

    def parse(self, text: str) -> int:
        m = _SIZE.match(text)
        if m is None:
            raise OptionError("expected a size such as 65536, 64KiB or 1MiB")
        number, unit = m.group(1), (m.group(2) or "").lower()
        if unit in ("", "b"):
            scale = 1
        else:
            scale = (1024 if "i" in unit else 1000) ** ("kmg".index(unit[0]) + 1)
        return _in_range(int(float(number) * scale), self.minimum, self.maximum)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Duration:
    """
    A time span in seconds (float): ``30``, ``30s``, ``250ms``, ``5m``, ``1h``, ``1d``.
    ``above`` is an exclusive lower bound (a span that must not be 0).
    """

    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None

    def parse(self, text: str) -> float:
        m = _DURATION.match(text)
        if m is None:
            raise OptionError("expected a duration such as 30s, 250ms, 5m or 1d")
        value = float(m.group(1)) * _DURATION_UNITS[(m.group(2) or "").lower()]
        return _in_range(value, self.minimum, self.maximum, self.above)


@dataclass(frozen=True)
class List:
    """
    Words separated by commas and/or whitespace; empty text is an empty tuple.
    With ``choices``, every word must be one of them (the error names the
    first that is not).
    """

    choices: tuple[str, ...] | None = None

    def parse(self, text: str) -> tuple[str, ...]:
        words = tuple(w for w in re.split(r"[\s,]+", text.strip()) if w)
        if self.choices is not None:
            for word in words:
                if word not in self.choices:
                    raise OptionError(
                        f"unknown name {word!r}; expected names from: " + ", ".join(self.choices)
                    )
        return words


@dataclass(frozen=True)
class Endpoint:
    """
    A Twisted server endpoint string (``tcp:8080:interface=127.0.0.1``,
    ``ssl:443:privateKey=...``, ``systemd:domain=INET:index=0``), validated
    by building the endpoint against a memory reactor. Empty text means
    "disabled" when ``optional``.
    """

    optional: bool = False

    def parse(self, text: str) -> str:
        from twisted.internet.endpoints import serverFromString
        from twisted.internet.testing import MemoryReactor

        text = text.strip()
        if not text:
            if self.optional:
                return ""
            raise OptionError("an endpoint is required, e.g. tcp:8080:interface=127.0.0.1")
        try:
            serverFromString(MemoryReactor(), text)
        except Exception as e:  # endpoint parsers raise many types
            raise OptionError(f"bad endpoint: {e}") from None
        return text


def _in_range(value: Any, minimum: Any, maximum: Any, above: Any = None) -> Any:
    if above is not None and value <= above:
        raise OptionError(f"must be more than {above:g}")
    if minimum is not None and value < minimum:
        raise OptionError(f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise OptionError(f"must be at most {maximum}")
    return value
