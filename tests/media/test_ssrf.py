"""
SSRF: the resolver never fetches from the server's own or private network.

Real requests go only toward loopback, where sites of our own listen and
record what reaches them (nothing must). Private, link-local and metadata
addresses are checked through an injected resolver and a connector that
records every attempt and connects nowhere, so a broken check still sends no
traffic beyond loopback.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import fail
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectionRefusedError

from tests.media.conftest import media_body, refused
from tests.media.origin import serve


@pytest_twisted.async_yield_fixture
async def origins() -> Any:
    """Sites on 127.0.0.1, 127.0.0.2 and [::1]."""
    sites = [serve(reactor, host) for host in ("127.0.0.1", "127.0.0.2", "::1")]
    yield sites
    for site in sites:
        assert site.listening is not None
        await site.listening.stopListening()


LOOPBACK_FORMS = [
    "127.0.0.1",
    "127.0.0.2",
    "127.255.255.254",
    "0.0.0.0",
    "0",
    "2130706433",  # decimal
    "017700000001",  # octal
    "0x7f000001",  # hex
    "127.1",  # short
    "127.0.1",
    "0x7f.1",
    "0177.0.0.1",
    "0x7F.0x00.0x00.0x01",
    "localhost",  # a name resolving to loopback
    "localhost.",  # trailing dot
    "LocalHost",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[2002:7f00:1::]",  # 6to4
    "[64:ff9b::7f00:1]",  # NAT64
]


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
@pytest_twisted.ensureDeferred
async def test_every_form_of_loopback_is_refused_with_the_allow_list_off(
    origins, make_resolver, host: str
) -> None:
    v4, other_v4, v6 = origins
    media = make_resolver(allow=())
    for site in origins:
        error = await refused(media, media_body(f"http://{host}:{site.port}/image.png"))
        assert (error.status, error.code) == (403, "forbidden_address"), error.message
    assert v4.requests == other_v4.requests == v6.requests == []


@pytest_twisted.ensureDeferred
async def test_a_refused_name_does_not_tell_its_address(origins, make_resolver) -> None:
    media = make_resolver(allow=())
    error = await refused(media, media_body(f"http://localhost:{origins[0].port}/"))
    assert error.message.startswith("localhost resolves to an address that is loopback")
    assert "127.0.0.1" not in error.message


@pytest_twisted.ensureDeferred
async def test_a_redirect_to_loopback_is_refused(origins, make_resolver) -> None:
    v4, other_v4, v6 = origins
    media = make_resolver(allow=("127.0.0.1/32",))
    targets = [
        f"http://127.0.0.2:{other_v4.port}/image.png",
        f"http://2130706434:{other_v4.port}/image.png",  # 127.0.0.2
        f"http://[::1]:{v6.port}/image.png",
        f"http://[::ffff:127.0.0.2]:{other_v4.port}/image.png",
    ]
    for target in targets:
        for status in ("301", "302", "303", "307", "308"):
            url = v4.url(f"/redirect?status={status}&to={target}")
            error = await refused(media, media_body(url))
            assert (error.status, error.code) == (403, "forbidden_address"), target
    assert other_v4.requests == v6.requests == []
    assert len(v4.requests) == len(targets) * 5


class Net:
    """An injected DNS and TCP: answers from a table, records every lookup and connect."""

    def __init__(self, table: dict[str, list[str]], loopback_port: int | None = None) -> None:
        self.table = {name: list(answers) for name, answers in table.items()}
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []
        self._port = loopback_port

    async def resolve(self, name: str, port: int) -> list[Any]:
        self.lookups.append(name)
        answers = self.table[name]
        # A list of lists: each lookup takes the next answer (DNS rebinding).
        if answers and isinstance(answers[0], list):
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        else:
            answer = answers
        return [ipaddress.ip_address(a) for a in answer]

    def connect(self, address: Any, port: int) -> Any:
        self.connects.append((str(address), port))
        if str(address) == "93.184.216.34" and self._port is not None:
            # The "public" host is our loopback site: no traffic leaves the machine.
            return TCP4ClientEndpoint(reactor, "127.0.0.1", self._port)
        return _Nowhere()


class _Nowhere:
    def connect(self, factory: Any) -> Any:
        return fail(ConnectionRefusedError("the test connector connects nowhere"))


PRIVATE_LITERALS = [
    "10.0.0.5",
    "10.255.255.255:8080",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (CGNAT)
    "192.0.0.170",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250:1900",
    "240.0.0.1",
    "255.255.255.255",
    "0x0a.0.0.5",
    "3232235777",  # 192.168.1.1
    "[fd00:ec2::254]",  # AWS IPv6 metadata
    "[fc00::1]",
    "[fe80::1]",
    "[ff02::1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:a00:5]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b:1::1]",
    "[2002:a9fe:a9fe::1]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    "[2001:db8::1]",  # documentation
]


@pytest.mark.parametrize("host", PRIVATE_LITERALS)
@pytest_twisted.ensureDeferred
async def test_private_link_local_and_metadata_addresses_are_refused(
    make_resolver, host: str
) -> None:
    net = Net({})
    media = make_resolver(allow=(), resolver=net.resolve, connector=net.connect)
    error = await refused(media, media_body(f"http://{host}/latest/meta-data/"))
    assert (error.status, error.code) == (403, "forbidden_address")
    assert (net.lookups, net.connects) == ([], [])


@pytest.mark.parametrize(
    "answer",
    [
        ["10.0.0.5"],
        ["192.168.0.10"],
        ["169.254.169.254"],
        ["fd00::1"],
        ["::ffff:10.1.2.3"],
        ["93.184.216.34", "10.0.0.1"],  # one bad answer spoils the name
        ["2606:2800:220:1:248:1893:25c8:1946", "fe80::1"],
    ],
)
@pytest_twisted.ensureDeferred
async def test_a_name_resolving_to_a_private_address_is_refused(
    make_resolver, answer: list[str]
) -> None:
    net = Net({"internal.example": answer})
    media = make_resolver(allow=(), resolver=net.resolve, connector=net.connect)
    error = await refused(media, media_body("https://internal.example/page.html"))
    assert (error.status, error.code) == (403, "forbidden_address")
    assert net.lookups == ["internal.example"]
    assert net.connects == []


@pytest_twisted.ensureDeferred
async def test_a_public_name_is_connected_to_at_the_address_checked(origin, make_resolver) -> None:
    net = Net({"public.example": ["93.184.216.34"]}, loopback_port=origin.port)
    media = make_resolver(allow=(), resolver=net.resolve, connector=net.connect)
    answer = await media.resolve(media_body("http://public.example/page.html"))
    assert answer["meta"]["title"] == "A page with a picture"
    assert answer["meta"]["thumbnail"].endswith(".jpg")  # the picture was fetched too
    assert net.lookups == ["public.example", "public.example"]  # once per request
    assert net.connects == [("93.184.216.34", 80), ("93.184.216.34", 80)]
    assert origin.requests == ["/page.html", "/image.png"]


@pytest_twisted.ensureDeferred
async def test_a_name_that_rebinds_to_private_on_a_redirect_is_refused(
    origin, make_resolver
) -> None:
    net = Net(
        {"public.example": [["93.184.216.34"], ["127.0.0.1"]]},  # type: ignore[list-item]
        loopback_port=origin.port,
    )
    media = make_resolver(allow=(), resolver=net.resolve, connector=net.connect)
    url = "http://public.example/redirect?to=http://public.example/image.png"
    error = await refused(media, media_body(url))
    assert (error.status, error.code) == (403, "forbidden_address")
    assert net.connects == [("93.184.216.34", 80)]
    assert origin.requests == ["/redirect"]


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.example/computeMetadata/v1/",
        "http://[::ffff:10.0.0.1]/",
        "http://10.0.0.1.nip.example/",
    ],
)
@pytest_twisted.ensureDeferred
async def test_a_redirect_to_a_private_address_is_refused(
    origin, make_resolver, target: str
) -> None:
    net = Net(
        {
            "public.example": ["93.184.216.34"],
            "metadata.example": ["169.254.169.254"],
            "10.0.0.1.nip.example": ["10.0.0.1"],
        },
        loopback_port=origin.port,
    )
    media = make_resolver(allow=(), resolver=net.resolve, connector=net.connect)
    error = await refused(media, media_body(f"http://public.example/redirect?to={target}"))
    assert (error.status, error.code) == (403, "forbidden_address")
    assert net.connects == [("93.184.216.34", 80)]


@pytest_twisted.ensureDeferred
async def test_the_allow_list_lets_only_its_networks_through(make_resolver) -> None:
    net = Net({"intranet.example": ["10.1.2.3"], "other.example": ["10.9.9.9"]})
    media = make_resolver(allow=("10.1.0.0/16",), resolver=net.resolve, connector=net.connect)
    error = await refused(media, media_body("http://intranet.example/"))
    assert error.code == "connect_failed"  # allowed, and the test connector refused
    assert net.connects == [("10.1.2.3", 80)]
    error = await refused(media, media_body("http://other.example/"))
    assert error.code == "forbidden_address"
    assert net.connects == [("10.1.2.3", 80)]
