"""
Fetching pasted URLs without letting them reach the server's own network.

Every connection goes through L{CheckedEndpoint}: it resolves the host
itself, refuses the request when any of its addresses is one the
L{AddressPolicy} forbids, and connects to the very address it checked, so a
DNS answer that changes between the check and the connection (rebinding)
cannot slip through. Redirects are followed here, one request at a time, so
each hop is checked again (scheme, host, addresses) and loops and chains
longer than C{max_redirects} stop with a clear error. Bodies are read up to
a cap; responses in a content encoding are refused, so a small compressed
body cannot inflate into a large one.

Failures are L{HttpError}s ready for the client: 400 for a URL that is no
http(s) URL, 403 for a forbidden address, 422 when the URL's content cannot
be used (too large, upstream 4xx, redirect loops), 502 for upstream
failures, 504 for a connect timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import error as neterror
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.ssl import optionsForClientTLS
from twisted.internet.threads import deferToThreadPool
from twisted.web.client import (
    URI,
    Agent,
    HTTPConnectionPool,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IResponse
from zope.interface import implementer

from hubsd.media.addresses import AddressPolicy, BadHost, IPAddress, ip_literal, normalize_host
from hubsd.media.body import abandon
from hubsd.web.http import HttpError

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""(host name, port) -> its addresses; raises L{HttpError} when it has none."""

Connector = Callable[[IPAddress, int], IStreamClientEndpoint]
"""(checked address, port) -> the endpoint that connects to exactly that address."""

TlsOptions = Callable[[str], Any]
"""host name -> the TLS client options that verify it (default: the system's CAs)."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def system_resolver(reactor: Any) -> Resolver:
    """The C library's getaddrinfo, in the reactor's thread pool."""

    async def resolve(name: str, port: int) -> Sequence[IPAddress]:
        try:
            infos = await deferToThreadPool(
                reactor,
                reactor.getThreadPool(),
                socket.getaddrinfo,
                name,
                port,
                0,
                socket.SOCK_STREAM,
            )
        except (socket.gaierror, UnicodeError) as e:
            raise HttpError(502, "dns_failed", f"cannot resolve {name}: {e}") from None
        found: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            address = ip_literal(str(sockaddr[0]))
            if address is not None and address not in found:
                found.append(address)
        return found

    return resolve


def tcp_connector(reactor: Any, connect_timeout: float) -> Connector:
    """Plain TCP to the checked address, with a connect timeout."""

    def connect(address: IPAddress, port: int) -> IStreamClientEndpoint:
        kind = TCP6ClientEndpoint if address.version == 6 else TCP4ClientEndpoint
        return kind(reactor, str(address), port, timeout=connect_timeout)

    return connect


class AddressGuard:
    """Turns a URL's host into the addresses that may be connected to, or refuses."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of C{host}, each allowed by the policy; else a 403 (or 400/502)."""
        try:
            name = normalize_host(host)
            literal = ip_literal(name)
        except BadHost as e:
            raise HttpError(400, "bad_url", str(e)) from None
        found = [literal] if literal is not None else list(await self.resolver(name, port))
        if not found:
            raise HttpError(502, "dns_failed", f"{name} has no address")
        for address in found:
            refusal = self.policy.refusal(address)
            if refusal is not None:
                # A name's internal address is not told to the client.
                what = (
                    str(address) if literal is not None else f"{name} resolves to an address that"
                )
                raise HttpError(
                    403,
                    "forbidden_address",
                    f"{what} is {refusal.reason}; media is fetched only from public addresses",
                )
        return found


@implementer(IStreamClientEndpoint)
class CheckedEndpoint:
    """Connects to a URL's host only at an address the guard has checked."""

    def __init__(
        self, guard: AddressGuard, connector: Connector, tls: TlsOptions, uri: URI
    ) -> None:
        self._guard = guard
        self._connector = connector
        self._tls_options = tls
        self._host = uri.host.decode("ascii", "replace")
        self._port = int(uri.port)
        self._tls = uri.scheme == b"https"

    def connect(self, factory: IProtocolFactory) -> Deferred[Any]:
        from twisted.internet.defer import ensureDeferred

        return ensureDeferred(self._connect(factory))

    async def _connect(self, factory: IProtocolFactory) -> Any:
        addresses = await self._guard.addresses(self._host, self._port)
        last: Exception | None = None
        for address in addresses:
            endpoint = self._connector(address, self._port)
            if self._tls:
                name = normalize_host(self._host)
                # The certificate is checked against the URL's host, not the address.
                endpoint = wrapClientTLS(self._tls_options(name), endpoint)
            try:
                return await endpoint.connect(factory)
            except neterror.ConnectError as e:
                last = e
        assert last is not None
        raise last


@implementer(IAgentEndpointFactory)
class _CheckedEndpoints:
    def __init__(self, guard: AddressGuard, connector: Connector, tls: TlsOptions) -> None:
        self._guard = guard
        self._connector = connector
        self._tls = tls

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        return CheckedEndpoint(self._guard, self._connector, self._tls, uri)


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float
    max_redirects: int
    user_agent: str = "hubsd media resolver"


def check_url(url: str, status: int = 400) -> str:
    """C{url} if it is an absolute http(s) URL with a host; else an HttpError(C{status})."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        raise HttpError(status, "bad_url", f"{url!r} is not a URL: {e}") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme or "none"
        raise HttpError(
            status, "unsupported_scheme", f"only http and https URLs are fetched, not {shown}"
        )
    if parts.username is not None or parts.password is not None:
        raise HttpError(status, "bad_url", "URLs with user names or passwords are not fetched")
    if not parts.hostname:
        raise HttpError(status, "bad_url", f"{url!r} has no host")
    try:
        normalize_host(parts.hostname)
    except BadHost as e:
        raise HttpError(status, "bad_url", str(e)) from None
    return url


class Fetcher:
    """GET requests through checked connections, following redirects one by one."""

    def __init__(
        self,
        reactor: Any,
        policy: AddressPolicy,
        limits: FetchLimits,
        resolver: Resolver | None = None,
        connector: Connector | None = None,
        tls: TlsOptions = optionsForClientTLS,
    ) -> None:
        self.limits = limits
        guard = AddressGuard(policy, resolver or system_resolver(reactor))
        endpoints = _CheckedEndpoints(
            guard, connector or tcp_connector(reactor, limits.connect_timeout), tls
        )
        # No persistent connections: each request is checked and connected anew.
        pool = HTTPConnectionPool(reactor, persistent=False)
        self._agent = Agent.usingEndpointFactory(reactor, endpoints, pool)

    async def open(self, url: str) -> tuple[str, IResponse]:
        """The final URL and the response whose body is still to be read (or abandoned)."""
        current = check_url(url)
        seen = {current}
        for _ in range(self.limits.max_redirects + 1):
            response = await self._get(current)
            if response.code not in _REDIRECTS:
                return current, _checked_status(response)
            locations = response.headers.getRawHeaders(b"location") or []
            abandon(response)
            if not locations:
                raise HttpError(
                    502, "upstream_error", f"a {response.code} redirect without Location"
                )
            target = urljoin(current, locations[0].decode("latin-1").strip())
            check_url(target, status=422)
            if target in seen:
                raise HttpError(422, "redirect_loop", f"{url} redirects in a loop (at {target})")
            seen.add(target)
            current = target
        raise HttpError(
            422,
            "too_many_redirects",
            f"{url} redirects more than {self.limits.max_redirects} times",
        )

    async def _get(self, url: str) -> IResponse:
        # Twisted's Agent, not treq: treq turns URLs into URIs with hyperlink,
        # whose IDNA step refuses IPv6 literals ([::1]) and underscores, and
        # it adds gzip decoding (a small body inflating without bound) and a
        # cookie jar (one site's cookies sent for another user's resolution).
        headers = Headers(
            {
                b"user-agent": [self.limits.user_agent.encode("ascii")],
                b"accept": [b"text/html,image/*,*/*;q=0.8"],
                b"accept-encoding": [b"identity"],
            }
        )
        try:
            response: IResponse = await self._agent.request(b"GET", request_target(url), headers)
        except HttpError:
            raise
        except neterror.TimeoutError:
            raise HttpError(504, "connect_timeout", f"connecting for {url} timed out") from None
        except (neterror.ConnectError, neterror.DNSLookupError) as e:
            raise HttpError(502, "connect_failed", f"cannot connect for {url}: {e}") from None
        except (ResponseNeverReceived, ResponseFailed) as e:
            if any(r.check(CancelledError) for r in e.reasons):
                raise CancelledError() from None  # the deadline, told as such by the caller
            reasons = "; ".join(r.getErrorMessage() for r in e.reasons)
            if any(r.check(SSL.Error, VerificationError) for r in e.reasons):
                raise HttpError(
                    502, "tls_failed", f"the TLS handshake for {url} failed: {reasons}"
                ) from None
            raise HttpError(
                502, "upstream_error", f"{url} gave no usable answer: {reasons}"
            ) from None
        encodings = response.headers.getRawHeaders(b"content-encoding") or []
        if any(e.strip().lower() not in (b"", b"identity") for e in encodings):
            abandon(response)
            raise HttpError(
                502, "upstream_encoding", "the server sent a compressed body, which is not read"
            )
        return response


def request_target(url: str) -> bytes:
    """C{url} (checked by L{check_url}) as the ASCII bytes of a request: IDNA host,
    percent-encoded path and query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ascii_host = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise HttpError(400, "bad_url", f"{host!r} is not a valid host name") from None
    netloc = ascii_host if parts.port is None else f"{ascii_host}:{parts.port}"
    path = quote(parts.path or "/", safe=_URL_SAFE)
    query = quote(parts.query, safe=_URL_SAFE)
    return urlunsplit((parts.scheme.lower(), netloc, path, query, "")).encode("ascii")


# Characters left as they are when a URL is made ASCII: the reserved ones
# and "%" (already percent-encoded text must stay as it is).
_URL_SAFE = "/%:@!$&'()*+,;=-._~?"


def _checked_status(response: IResponse) -> IResponse:
    if 200 <= response.code < 300:
        return response
    abandon(response)
    status = 422 if 400 <= response.code < 500 else 502
    raise HttpError(status, "upstream_status", f"the server answered HTTP {response.code}")
