"""The address rules of the SSRF check, one form at a time."""

from __future__ import annotations

import ipaddress

import pytest

from hubsd.media.addresses import (
    AddressPolicy,
    BadHost,
    embedded_ipv4,
    ip_literal,
    normalize_host,
    parse_networks,
)
from hubsd.media.fetch import request_target


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("10.0.258", "10.0.1.2"),
        ("3232235777", "192.168.1.1"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_ip_literals_in_every_form_are_read_as_the_c_library_reads_them(
    host: str, address: str
) -> None:
    assert ip_literal(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "1e100.net", "localhost", "a.0x7g", "x.1a"])
def test_domain_names_are_not_literals(host: str) -> None:
    assert ip_literal(host) is None


@pytest.mark.parametrize(
    "host", ["256.0.0.1", "1.2.3.4.5", "0x100.1", "1.16777216", "08.0.0.1", "1.2.3.09", "::g"]
)
def test_malformed_numeric_hosts_are_refused_not_looked_up(host: str) -> None:
    with pytest.raises(BadHost):
        ip_literal(host)


@pytest.mark.parametrize(
    ("host", "name"),
    [("LocalHost.", "localhost"), ("[::1]", "::1"), ("Example.COM", "example.com")],
)
def test_hosts_are_normalized(host: str, name: str) -> None:
    assert normalize_host(host) == name


@pytest.mark.parametrize("host", ["", ".", "a..b", ".a", "a b", "a/b", "a@b", "a%2f"])
def test_malformed_hosts_are_refused(host: str) -> None:
    with pytest.raises(BadHost):
        normalize_host(host)


REFUSED = {
    "0.0.0.0": "unspecified",
    "127.0.0.1": "loopback",
    "10.1.2.3": "private",
    "172.31.255.255": "private",
    "192.168.0.1": "private",
    "169.254.169.254": "link-local",
    "224.0.0.251": "multicast",
    "100.64.0.1": "not globally routable",
    "240.0.0.1": "private",
    "::": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fd00::1": "private",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback (it carries 127.0.0.1)",
    "::ffff:169.254.169.254": "link-local (it carries 169.254.169.254)",
    "::10.0.0.1": "private (it carries 10.0.0.1)",
    "2002:c0a8:101::": "private (it carries 192.168.1.1)",
    "64:ff9b::a9fe:a9fe": "link-local (it carries 169.254.169.254)",
    "64:ff9b:1::a00:1": "a local-use NAT64 address",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "a Teredo tunnel address",
}


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_addresses_that_are_not_public_are_refused_with_the_reason(
    address: str, reason: str
) -> None:
    refusal = AddressPolicy().refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert refusal.reason == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_admits_its_networks_and_their_mapped_forms_only() -> None:
    policy = AddressPolicy(parse_networks(["127.0.0.1/32", "10.0.0.0/8"]))
    for address in ("127.0.0.1", "10.200.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"):
        assert policy.refusal(ipaddress.ip_address(address)) is None
    for address in ("127.0.0.2", "::1", "192.168.1.1", "0.0.0.0"):
        assert policy.refusal(ipaddress.ip_address(address)) is not None


def test_a_bad_network_is_named() -> None:
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not a network"):
        parse_networks(["127.0.0.1", "10.0.0.0/33"])


def test_embedded_ipv4_forms() -> None:
    v6 = ipaddress.IPv6Address
    assert embedded_ipv4(v6("::1")) is None
    assert embedded_ipv4(v6("2606:4700::1")) is None
    assert str(embedded_ipv4(v6("::ffff:1.2.3.4"))) == "1.2.3.4"
    assert str(embedded_ipv4(v6("64:ff9b::102:304"))) == "1.2.3.4"


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://[::1]:8080/a b?q=ä#frag", b"http://[::1]:8080/a%20b?q=%C3%A4"),
        ("https://Bücher.example/ä", b"https://xn--bcher-kva.example/%C3%A4"),
        ("http://my_host.example", b"http://my_host.example/"),
        ("http://a.example/x%2Fy?a=1&b=%20", b"http://a.example/x%2Fy?a=1&b=%20"),
    ],
)
def test_urls_become_ascii_request_targets(url: str, target: bytes) -> None:
    assert request_target(url) == target
