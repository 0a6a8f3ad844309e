"""
Reading the body of a fetched response, within a cap.

A body is collected up to C{limit} bytes; past that it is either cut (an
HTML page, whose tags are in its head) or refused with a 422 ``too_large``
(an image, which is no use cut), and the connection is closed either way,
as it is when the caller gives up (the resolver's deadline cancels the
read). A body that is not wanted at all is abandoned unread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import UNKNOWN_LENGTH, IResponse

from hubsd.web.http import HttpError


def content_type(response: IResponse) -> tuple[str, str | None]:
    """The response's media type (lower case, no parameters) and its charset, if named."""
    raw = (response.headers.getRawHeaders(b"content-type") or [b""])[0].decode("latin-1")
    kind, _, params = raw.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return kind.strip().lower(), charset


_DONE = Failure(ResponseDone())


class _CappedBody(Protocol):
    """Collects a body up to C{limit} bytes, then truncates or fails, and closes."""

    def __init__(self, finished: Deferred[tuple[bytes, bool]], limit: int, truncate: bool) -> None:
        self._finished: Deferred[tuple[bytes, bool]] | None = finished
        self._limit = limit
        self._truncate = truncate
        self._chunks: list[bytes] = []
        self._size = 0

    def connectionMade(self) -> None:
        if self._limit == 0 and self._truncate:
            self._end(lambda d: d.callback((b"", True)))

    def dataReceived(self, data: bytes) -> None:
        if self._finished is None:
            return
        room = self._limit - self._size
        if len(data) <= room:
            self._chunks.append(data)
            self._size += len(data)
        elif self._truncate:
            self._chunks.append(data[:room])
            body = b"".join(self._chunks)
            self._end(lambda d: d.callback((body, True)))
        else:
            error = _too_large(self._limit)
            self._end(lambda d: d.errback(error))

    def cancel(self) -> None:
        """Stop reading (the caller gave up); the Deferred fails with CancelledError."""
        self._end(lambda d: None)

    def _end(self, fire: Callable[[Deferred[tuple[bytes, bool]]], None]) -> None:
        finished, self._finished = self._finished, None
        if self.transport is not None:
            # The body's transport is a producer (Twisted's TransportProxyProducer).
            cast(IPushProducer, self.transport).stopProducing()
        if finished is not None:
            fire(finished)

    def connectionLost(self, reason: Failure = _DONE) -> None:
        finished, self._finished = self._finished, None
        if finished is None:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            finished.callback((b"".join(self._chunks), False))
        else:
            finished.errback(
                HttpError(502, "upstream_error", f"the body broke off: {reason.getErrorMessage()}")
            )


def _too_large(limit: int) -> HttpError:
    return HttpError(422, "too_large", f"the media is larger than the {limit} bytes read")


async def read_body(response: IResponse, limit: int, truncate: bool) -> tuple[bytes, bool]:
    """
    At most C{limit} bytes of the body and whether it was cut. Without
    C{truncate}, a longer body is a 422 ``too_large`` (told by Content-Length
    before anything is read, when the server gives one).
    """
    if not truncate and response.length is not UNKNOWN_LENGTH and response.length > limit:
        abandon(response)
        raise _too_large(limit)
    body: _CappedBody | None = None

    def cancel(d: Deferred[tuple[bytes, bool]]) -> None:
        if body is not None:
            body.cancel()

    finished: Deferred[tuple[bytes, bool]] = Deferred(cancel)
    body = _CappedBody(finished, limit, truncate)
    response.deliverBody(body)
    return await finished


def abandon(response: IResponse) -> None:
    """Close the connection without reading the body."""
    response.deliverBody(_CappedBody(Deferred(), 0, True))
