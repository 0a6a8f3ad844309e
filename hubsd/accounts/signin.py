"""
L{SignIn}: sign-in by e-mailed link, the same for every transport.

1. L{SignIn.request_link}: a client gives an address and a login topic (Hubs:
   a uuid of its ``auth:<topic>`` channel). A random single-use token is
   kept hashed in the store with the address's hash and an expiry, and a
   link ``<public_origin><verify_path>?auth_topic=&auth_token=&auth_origin=``
   is e-mailed. If the e-mail cannot be sent, the token is removed again
   and the client is told (L{Unavailable}).
2. Whoever opens the link proves the mailbox: L{SignIn.verify} takes the
   token from the store (once; expired, used, unknown and other topics'
   tokens all get the same L{InvalidLink}), finds or makes the account
   (accounts are made on first sign-in) and issues an account token.
3. Everyone waiting on the topic (L{SignIn.wait}) is handed the same
   L{Credentials}: the page that asked for the link signs in.

Limits, shared by all transports: requests per client address, links per
e-mail address and links per minute in all (``[accounts]``). Addresses are
hashed before they reach the store, and are neither logged nor quoted.
Admins are the accounts whose address hash is one of ``[accounts] admins``'.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, ensureDeferred, fail
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from hubsd.accounts.addresses import check_email, check_origin, check_topic
from hubsd.accounts.errors import (
    InvalidLink,
    NotSignedIn,
    RateLimited,
    SignInError,
    TimedOut,
    Unavailable,
)
from hubsd.accounts.letter import letter, sign_in_link, site_name
from hubsd.accounts.mailer import Mailer, compose
from hubsd.accounts.records import AccountInfo, Credentials
from hubsd.accounts.settings import AccountSettings
from hubsd.accounts.waiters import Waiters
from hubsd.rooms.errors import InvalidToken
from hubsd.rooms.ratelimit import KeyedLimiter
from hubsd.storage.errors import NotFound, StorageUnavailable
from hubsd.storage.records import Account, hash_email, hash_token

log = Logger()
T = TypeVar("T")

_LINK_TOKEN = re.compile(r"[0-9a-f]{64}")
#: How often expired links are swept from the store, at most.
SWEEP_INTERVAL = 600.0


class SignIn:
    """
    Sign-in by e-mailed link over C{store} (an IRoomStore) and C{tokens}
    (L{hubsd.rooms.tokens.Tokens}). C{reactor} connects to the SMTP server;
    C{clock} (the reactor by default; a test's C{task.Clock}) tells the time
    of expiries, limits and waits. With no C{mailer} and no SMTP settings,
    sign-in is off: link requests fail with L{Unavailable}.
    """

    def __init__(
        self,
        store: Any,
        tokens: Any,
        settings: AccountSettings,
        reactor: Any,
        clock: Any = None,
        mailer: Mailer | None = None,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.settings = settings
        self.clock = reactor if clock is None else clock
        if mailer is None and settings.smtp is not None:
            mailer = Mailer(settings.smtp, reactor)
        self.mailer = mailer
        self.waiters = Waiters(settings.max_waiters)

        def now() -> float:
            return float(self.clock.seconds())

        per_email = settings.links_per_email_per_hour
        self._per_address = KeyedLimiter(settings.rate_per_address, settings.burst_per_address, now)
        self._per_email = KeyedLimiter(per_email / 3600, per_email, now)
        self._everyone = KeyedLimiter(
            settings.links_per_minute / 60, settings.links_per_minute, now
        )
        self._admins = tuple(hash_email(address) for address in settings.admins)
        self._sweeper: LoopingCall | None = None

    @property
    def enabled(self) -> bool:
        """Whether links can be e-mailed (an SMTP server is configured)."""
        return self.mailer is not None

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        """Sweep expired links from the store now and then."""
        self._sweeper = LoopingCall(lambda: ensureDeferred(self._sweep()))
        self._sweeper.clock = self.clock
        interval = min(self.settings.link_lifetime, SWEEP_INTERVAL)
        self._sweeper.start(interval, now=False).addErrback(
            lambda f: log.failure("the sign-in link sweeper stopped", f)
        )

    def stop(self) -> None:
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
        self._sweeper = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.seconds(), UTC)

    async def _sweep(self) -> None:
        try:
            removed = await self.store.delete_expired_login_tokens(self._now())
        except StorageUnavailable as e:
            log.warn("expired sign-in links not swept: {reason}", reason=str(e))
            return
        if removed:
            log.debug("{n} expired sign-in links swept", n=removed)

    # -- the three steps --------------------------------------------------------

    def request_link(
        self, email: object, origin: object = "", topic: object = None, address: str | None = None
    ) -> Deferred[str]:
        """
        E-mail a sign-in link for C{topic} (a new uuid if None) to C{email};
        C{address} is the client's IP address for the per-address limit.

        @return: Deferred[str] firing with the topic once the e-mail is
            accepted by the SMTP server (or, when sign-up is off and the
            address has no account, at once and with no e-mail: the answer
            does not tell whether an account exists). Fails with
            L{BadRequest}, L{RateLimited} or L{Unavailable} (nothing kept).
        """
        return ensureDeferred(self._request_link(email, origin, topic, address))

    async def _request_link(
        self, email: object, origin: object, topic: object, address: str | None
    ) -> str:
        if address is not None:
            self._limit(self._per_address, address, "sign-in requests from this address")
        to = check_email(email)
        auth_origin = check_origin(origin)
        auth_topic = str(uuid.uuid4()) if topic is None else check_topic(topic)
        if self.mailer is None:
            raise Unavailable("sign-in by e-mail is not set up on this server")
        email_hash = hash_email(to)
        self._limit(self._per_email, email_hash, "sign-in links for this address")
        self._limit(self._everyone, "*", "sign-in links")
        if not self.settings.allow_sign_up and not await self._has_account(to):
            return auth_topic
        token = secrets.token_hex(32)
        token_hash = hash_token(token)
        expires = self._now() + timedelta(seconds=self.settings.link_lifetime)
        await _stored(self.store.add_login_token(token_hash, email_hash, auth_topic, expires))
        message = compose(
            self.mailer.settings.sender,
            to,
            f"Your sign-in link for {self.site()}",
            letter(
                self.site(),
                sign_in_link(self.settings, auth_topic, token, auth_origin),
                self.settings.link_lifetime,
            ),
        )
        try:
            await self.mailer.send(to, message)
        except Unavailable:
            # Nothing half done: the link that was never sent cannot be used.
            try:
                await self.store.delete_login_token(token_hash)
            except StorageUnavailable:
                log.warn("an unsent sign-in link stays stored until it expires")
            raise
        log.info("a sign-in link was e-mailed")
        return auth_topic

    async def _has_account(self, email: str) -> bool:
        try:
            await _stored(self.store.get_account_by_email(email))
        except NotFound:
            return False
        return True

    def verify(
        self, topic: object, token: object, address: str | None = None
    ) -> Deferred[Credentials]:
        """
        Use the link of C{topic} with C{token}, once. Everyone waiting on the
        topic is told, and the credentials are returned too (whoever holds
        the link holds the mailbox).

        @return: Deferred[Credentials]; fails with L{InvalidLink} (one answer
            for a wrong, used, expired or other topic's token), L{BadRequest}
            for a malformed topic, L{RateLimited} or L{Unavailable}.
        """
        return ensureDeferred(self._verify(topic, token, address))

    async def _verify(self, topic: object, token: object, address: str | None) -> Credentials:
        if address is not None:
            self._limit(self._per_address, address, "sign-in requests from this address")
        auth_topic = check_topic(topic)
        invalid = InvalidLink(
            "this sign-in link is not valid: it may have been used or have expired"
        )
        if not isinstance(token, str) or not _LINK_TOKEN.fullmatch(token):
            raise invalid
        # Looked up by the SHA-256 of the token: a lookup's timing can tell
        # a guesser about hashes, which say nothing of other tokens.
        try:
            login = await _stored(
                self.store.take_login_token(hash_token(token), auth_topic, self._now())
            )
        except NotFound:
            raise invalid from None
        account = await _stored(self.store.account_for_email_hash(login.email_hash))
        credentials = Credentials(
            self.tokens.issue_account(
                account.account_id, lifetime=int(self.settings.account_token_lifetime)
            ),
            account.account_id,
            self.is_admin(account),
        )
        log.info("account {account} signed in", account=account.account_id)
        told = self.waiters.tell(auth_topic, credentials)
        return replace(credentials, told=told)

    def wait(
        self,
        topic: object,
        on_credentials: Callable[[Credentials], None],
        address: str | None = None,
    ) -> Callable[[], None]:
        """
        Call C{on_credentials} once when the link of C{topic} is used (on
        this node). Returns a callable that stops waiting; call it when the
        waiting transport goes away. A wait counts against the per-address
        limit of C{address} (so that one client cannot take every waiter's
        place).

        @raise BadRequest: for a malformed topic.
        @raise RateLimited: when C{address} asks too often.
        @raise Unavailable: when too many clients wait already.
        """
        if address is not None:
            self._limit(self._per_address, address, "sign-in requests from this address")
        return self.waiters.add(check_topic(topic), on_credentials)

    def wait_for(
        self, topic: object, timeout: float | None = None, address: str | None = None
    ) -> Deferred[Credentials]:
        """
        A Deferred firing with the credentials when the link of C{topic} is
        used, or failing with L{TimedOut} after C{timeout} seconds (the
        link lifetime by default), or at once as L{wait} would raise.
        Cancelling it stops the wait.
        """
        stops: list[Callable[[], None]] = []

        def cancelled(_: Deferred[Credentials]) -> None:
            for stop in stops:
                stop()

        waited: Deferred[Credentials] = Deferred(cancelled)
        try:
            stops.append(self.wait(topic, waited.callback, address))
        except SignInError as e:
            return fail(e)
        seconds = self.settings.link_lifetime if timeout is None else timeout
        timer = self.clock.callLater(seconds, self._time_out, waited, stops[0])
        waited.addBoth(_cancelling(timer))
        return waited

    @staticmethod
    def _time_out(waited: Deferred[Credentials], stop: Callable[[], None]) -> None:
        stop()
        if not waited.called:
            waited.errback(TimedOut("nobody used the sign-in link in time; ask for a new one"))

    # -- who is signed in ---------------------------------------------------------

    def account_of(self, token: object) -> int:
        """The account id of a valid account token; L{NotSignedIn} otherwise.
        (Checks the token only: for the account's record, use L{whoami}.)"""
        try:
            return int(self.tokens.verify_account(token))
        except InvalidToken as e:
            raise NotSignedIn(str(e)) from None

    def whoami(self, token: object) -> Deferred[AccountInfo]:
        """Deferred[AccountInfo] of a valid account token whose account exists;
        fails with L{NotSignedIn} otherwise."""
        try:
            account_id = self.account_of(token)
        except NotSignedIn as e:
            return fail(e)
        return self.account_record(account_id)

    def account_record(self, account_id: int) -> Deferred[AccountInfo]:
        """Deferred[AccountInfo] of an account (from a token already checked);
        fails with L{NotSignedIn} if the store has no such account."""

        async def look_up() -> AccountInfo:
            try:
                account = await _stored(self.store.get_account(account_id))
            except NotFound:
                raise NotSignedIn("this account no longer exists") from None
            return AccountInfo(account.account_id, self.is_admin(account), account.created_at)

        return ensureDeferred(look_up())

    def is_admin(self, account: Account) -> bool:
        """Whether the account's address is one of ``[accounts] admins`` (by hash)."""
        found = False
        for admin in self._admins:
            found |= hmac.compare_digest(admin, account.email_hash)
        return found

    # -- helpers ------------------------------------------------------------------

    def _limit(self, limiter: KeyedLimiter, key: str, what: str) -> None:
        wait = limiter.wait(key)
        if wait:
            raise RateLimited(f"too many {what}; try again in {wait} s", wait)

    def site(self) -> str:
        """The host (and port) of ``[hubsd] public_origin``, as the e-mail names it."""
        return site_name(self.settings.public_origin)


async def _stored(d: Deferred[T]) -> T:
    """Await a store call; a store that cannot be reached is L{Unavailable}."""
    try:
        return await d
    except StorageUnavailable as e:
        log.warn("sign-in failed: {reason}", reason=str(e))
        raise Unavailable("sign-in is unavailable right now; try again later") from None


def _cancelling(timer: Any) -> Callable[[T], T]:
    def cancel(result: T) -> T:
        if timer.active():
            timer.cancel()
        return result

    return cancel
