"""https URLs: TLS to the checked address, with the URL's host verified."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor, ssl
from twisted.web.server import Site

from tests.certificates import self_signed
from tests.media.conftest import media_body, refused
from tests.media.origin import Origin, _Site


@pytest_twisted.async_yield_fixture
async def tls_origin() -> Any:
    origin = Origin()
    certificate = self_signed()
    origin.listening = reactor.listenSSL(
        0, Site(_Site(origin)), certificate.options(), interface="127.0.0.1"
    )
    origin.port = origin.listening.getHost().port
    origin.certificate = certificate  # type: ignore[attr-defined]
    yield origin
    await origin.listening.stopListening()


def trusting(certificate: ssl.PrivateCertificate) -> Any:
    return lambda host: ssl.optionsForClientTLS(host, trustRoot=certificate)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest_twisted.ensureDeferred
async def test_an_untrusted_certificate_is_a_502_and_no_request_is_sent(
    tls_origin, make_resolver, host: str
) -> None:
    media = make_resolver()
    error = await refused(media, media_body(f"https://{host}:{tls_origin.port}/image.png"))
    assert (error.status, error.code) == (502, "tls_failed")
    assert "certificate verify failed" in error.message
    assert tls_origin.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest_twisted.ensureDeferred
async def test_a_trusted_certificate_for_the_host_is_fetched_over_tls(
    tls_origin, make_resolver, host: str
) -> None:
    media = make_resolver(tls=trusting(tls_origin.certificate))
    answer = await media.resolve(media_body(f"https://{host}:{tls_origin.port}/image.png"))
    assert answer["meta"]["width"] == 800
    assert tls_origin.requests == ["/image.png"]


@pytest_twisted.ensureDeferred
async def test_the_certificate_is_checked_against_the_urls_name_not_the_address(
    tls_origin, make_resolver
) -> None:
    from tests.media.test_ssrf import Net

    net = Net({"public.example": ["93.184.216.34"]}, loopback_port=tls_origin.port)
    media = make_resolver(
        allow=(), resolver=net.resolve, connector=net.connect, tls=trusting(tls_origin.certificate)
    )
    error = await refused(media, media_body("https://public.example/image.png"))
    assert (error.status, error.code) == (502, "tls_failed")
    assert "DNSMismatch" in error.message and "public.example" in error.message
    assert net.connects == [("93.184.216.34", 443)]
    assert tls_origin.requests == []
