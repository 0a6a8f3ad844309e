"""Value types of the aiortc SFU's ``[sfu]`` keys (light: no aiortc import)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from hubsd.options import OptionError


@dataclass(frozen=True)
class PortRange:
    """``40000-40999`` (inclusive, within 1024-65535), or empty for any port."""

    def parse(self, text: str) -> tuple[int, int] | None:
        text = text.strip()
        if not text:
            return None
        m = re.fullmatch(r"(\d{1,5})\s*-\s*(\d{1,5})", text)
        if m is None:
            raise OptionError("expected a port range such as 40000-40999, or nothing")
        low, high = int(m.group(1)), int(m.group(2))
        if not 1024 <= low <= high <= 65535:
            raise OptionError("the range must lie within 1024-65535, low end first")
        return low, high


@dataclass(frozen=True)
class Addresses:
    """IP addresses separated by commas or spaces (at least one unless ``optional``)."""

    optional: bool = False
    single: bool = False

    def parse(self, text: str) -> tuple[str, ...]:
        words = tuple(w for w in re.split(r"[\s,]+", text.strip()) if w)
        if not words and not self.optional:
            raise OptionError("expected at least one IP address")
        if self.single and len(words) > 1:
            raise OptionError("expected one IP address")
        for word in words:
            try:
                address = ipaddress.ip_address(word)
            except ValueError:
                raise OptionError(f"{word!r} is not an IP address") from None
            if address.is_unspecified:
                raise OptionError(f"{word} is not an interface address; name the interfaces")
        return words
