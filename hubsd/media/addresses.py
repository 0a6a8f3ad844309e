"""
Which addresses the media resolver may connect to (SSRF protection).

A pasted URL must not make the server talk to itself or to its private
network: loopback, private, link-local (cloud metadata at 169.254.169.254),
multicast, unspecified, reserved and other not-globally-routable addresses
are refused, also when they hide inside an IPv6 form (IPv4-mapped,
IPv4-compatible, 6to4, NAT64, Teredo). Host names are normalised the way
browsers and C libraries read them, so ``2130706433``, ``0x7f.1``,
``0177.0.0.1``, ``127.1`` and ``localhost.`` are the loopback addresses they
are. The allow-list (``[media] allow_networks``) is for tests and for
deliberate intranet deployments; it names networks that are let through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class BadHost(ValueError):
    """The host part of a URL is not a usable name or address."""


@dataclass(frozen=True)
class Refusal:
    """Why an address may not be connected to."""

    address: IPAddress
    reason: str

    def __str__(self) -> str:
        return f"{self.address} is {self.reason}"


def parse_networks(words: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR words (``127.0.0.1/32``, ``::1``) as networks; ValueError names a bad one."""
    networks = []
    for word in words:
        try:
            networks.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            raise ValueError(f"{word!r} is not a network such as 127.0.0.0/8 or ::1/128") from None
    return tuple(networks)


def normalize_host(host: str) -> str:
    """
    The host of a URL as the resolver looks it up: lower case, without the
    IPv6 brackets and without one trailing dot (``localhost.`` is
    ``localhost``). Raises L{BadHost} for an empty or malformed name.
    """
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.endswith(".") and not name.endswith(".."):
        name = name[:-1]
    if not name or ".." in name or name.startswith("."):
        raise BadHost(f"{host!r} is not a host name")
    if any(c.isspace() or c in "/\\@#?%" for c in name):
        raise BadHost(f"{host!r} is not a host name")
    return name


def _ipv4_part(text: str) -> int | None:
    """One dotted part in the forms inet_aton and browsers accept: 0x hex, 0 octal, decimal."""
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def _looks_numeric(text: str) -> bool:
    if text[:2] in ("0x", "0X"):
        return all(c in "0123456789abcdefABCDEF" for c in text[2:])
    return text.isdigit()


def ip_literal(name: str) -> IPAddress | None:
    """
    The address a normalised host stands for when it is a literal, in any
    form a C library or browser accepts (``2130706433``, ``0x7f.1``,
    ``0177.0.0.1``, ``127.1``, ``::ffff:127.0.0.1``); None for a domain name.
    A name that ends in a number but is no valid address raises L{BadHost}
    (browsers refuse those too, and a resolver could read them either way).
    """
    if ":" in name:
        try:
            return ipaddress.IPv6Address(name.split("%", 1)[0])
        except ValueError:
            raise BadHost(f"{name!r} is not an IPv6 address") from None
    parts = name.split(".")
    if not _looks_numeric(parts[-1]):
        return None
    if len(parts) > 4:
        raise BadHost(f"{name!r} is not an IPv4 address")
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        raise BadHost(f"{name!r} is not an IPv4 address")
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(values)):
        raise BadHost(f"{name!r} is not an IPv4 address (a part is too large)")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def _category(address: IPAddress) -> str | None:
    # Order matters only for the words of the refusal: the most telling first.
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "not globally routable"
    return None


class AddressPolicy:
    """Decides, address by address, whether the resolver may connect."""

    def __init__(self, allow: Iterable[IPNetwork] = ()) -> None:
        self.allow = tuple(allow)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.allow)

    def refusal(self, address: IPAddress) -> Refusal | None:
        """None when C{address} may be connected to, else why not."""
        if self._allowed(address):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            if address.teredo is not None:
                return Refusal(address, "a Teredo tunnel address")
            if address in _NAT64_LOCAL:
                return Refusal(address, "a local-use NAT64 address")
            inner = embedded_ipv4(address)
            if inner is not None:
                if self._allowed(inner):
                    return None
                category = _category(inner)
                if category is not None:
                    return Refusal(address, f"{category} (it carries {inner})")
                return None
        category = _category(address)
        return Refusal(address, category) if category is not None else None
