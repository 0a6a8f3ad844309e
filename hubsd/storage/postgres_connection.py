"""
Connecting to PostgreSQL through txpostgres, and staying connected.

L{ReconnectingPool} is a txpostgres pool whose connections each carry a
L{Reconnector}: when a query finds its connection dead, the failing query
errbacks (the store turns that into C{StorageUnavailable}), and the
connection is re-opened in the background every C{retry_interval} seconds
until the server answers again. Nothing here ever raises into the reactor.
"""

from __future__ import annotations

from typing import Any, TypeVar

from psycopg2.extensions import parse_dsn
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.defer import TimeoutError as DeferredTimeout
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from txpostgres.reconnection import DeadConnectionDetector
from txpostgres.txpostgres import Connection, ConnectionPool

log = Logger()

T = TypeVar("T")


def within(d: Deferred[T], seconds: float, reactor: Any) -> Deferred[T]:
    """
    A Deferred that fires like C{d}, or fails with C{DeferredTimeout} after
    C{seconds}. C{d} is not cancelled (txpostgres cannot cancel a connection
    attempt: its canceller raises); a late result is dropped, and the caller
    closes the connection instead.
    """
    outcome: Deferred[T] = Deferred()

    def expire() -> None:
        outcome.errback(DeferredTimeout(f"no answer within {seconds:g}s"))

    timer = reactor.callLater(seconds, expire)

    def settle(result: Any) -> None:
        if timer.active():
            timer.cancel()
            if isinstance(result, Failure):
                outcome.errback(result)
            else:
                outcome.callback(result)

    d.addBoth(settle)
    return outcome


def describe_dsn(dsn: str) -> str:
    """
    "host H database D" for messages: the DSN's host and database, never its
    password. Missing values are shown as libpq's defaults would be chosen.
    """
    try:
        parts = parse_dsn(dsn)
    except Exception:
        # The parser's message may quote the DSN, password included.
        return "host ? database ? (the dsn cannot be parsed)"
    host = parts.get("host") or parts.get("hostaddr") or "(default socket)"
    if parts.get("port"):
        host = f"{host}:{parts['port']}"
    database = parts.get("dbname") or parts.get("user") or "(default)"
    return f"host {host} database {database}"


def one_line(reason: object) -> str:
    """A driver error as one line (libpq messages span several)."""
    return " ".join(str(reason).split())


class Reconnector(DeadConnectionDetector):
    """
    Re-open a dead connection now, then every C{interval} seconds, logging
    the loss and the recovery once each, until it succeeds or L{stop} is called.
    """

    def __init__(self, reactor: Any, interval: float, timeout: float, where: str) -> None:
        super().__init__(reactor=reactor)
        self._interval = interval
        self._timeout = timeout
        self._where = where
        self._pending: IDelayedCall | None = None
        self._stopped = False

    def startReconnecting(self, f: Failure) -> None:
        if self._stopped:
            return
        log.warn(
            "lost connection to PostgreSQL at {where}: {reason}; reconnecting every {interval}s",
            where=self._where,
            reason=one_line(f.value),
            interval=self._interval,
        )
        self._pending = self.reactor.callLater(0, self._attempt)

    def _attempt(self) -> None:
        self._pending = None
        if self._stopped:
            return
        d = within(maybeDeferred(self.reconnect), self._timeout, self.reactor)
        d.addCallbacks(self._recovered, self._retry)

    def _retry(self, f: Failure) -> None:
        log.debug("still cannot reach PostgreSQL at {where}", where=self._where)
        if not self._stopped:
            self._pending = self.reactor.callLater(self._interval, self._attempt)

    def _recovered(self, _: object) -> Deferred[Any] | None:
        if self._stopped:
            return None
        log.info("reconnected to PostgreSQL at {where}", where=self._where)
        d: Deferred[Any] = self.connectionRecovered()
        return d

    def stop(self) -> None:
        """Stop trying; used when the store stops."""
        self._stopped = True
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        self._pending = None


class ReconnectingPool(ConnectionPool):
    """
    A txpostgres pool of C{size} connections to C{dsn}, each with its own
    L{Reconnector}.
    """

    def __init__(
        self, reactor: Any, dsn: str, size: int, retry_interval: float, timeout: float
    ) -> None:
        self.reactor = reactor
        self.reconnectors: list[Reconnector] = []
        self._retry = retry_interval
        self._timeout = timeout
        self._where = describe_dsn(dsn)
        super().__init__(None, dsn, min=size)
        # The pool lends connections out by removing them from its set; keep
        # them all here so that closing reaches the busy ones too.
        self.all_connections = list(self.connections)

    def connectionFactory(self, reactor: Any, cooperator: Any) -> Connection:
        detector = Reconnector(reactor, self._retry, self._timeout, self._where)
        self.reconnectors.append(detector)
        return Connection(reactor, cooperator, detector=detector)

    def close(self) -> None:
        """Stop reconnecting and close every connection, opened or not."""
        for reconnector in self.reconnectors:
            reconnector.stop()
        for connection in self.all_connections:
            try:
                connection.close()
            except Exception:
                # Never opened (no psycopg2 connection yet): nothing to close.
                pass
