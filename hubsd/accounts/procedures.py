"""
Sign-in over WAMP: the ``hubsd.account.*`` procedures.

L{WampAccounts} registers four procedures through an in-process trusted
session, as the room API does (docs/wamp-api.md, "Accounts"), and a gate
that lets any session call them and do nothing else under
``hubsd.account.``. They are the same sign-in as HTTP and the Phoenix
``auth:*`` channel (L{hubsd.accounts.signin.SignIn}) with the same limits;
the client's address for the per-address limit is its WAMP transport's
peer. A signed-in WAMP client reconnects with the account token as its
``ticket`` (the ``ticket`` authenticator of L{hubsd.rooms.procedures}).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred

from hubsd.accounts.errors import BadRequest, NotSignedIn, SignInError
from hubsd.accounts.records import Credentials
from hubsd.accounts.signin import SignIn
from hubsd.wamp import errors
from hubsd.wamp.errors import WampError
from hubsd.wamp.local import register_procedures

PREFIX = "hubsd.account."


def error_uri(e: SignInError) -> str:
    """The WAMP error URI of a sign-in error: C{hubsd.error.<code>}."""
    return f"hubsd.error.{e.code}"


def peer_host(peer: object) -> str | None:
    """The IP address in an Autobahn peer string (C{tcp4:127.0.0.1:5000},
    C{tcp6:::1:5000}); None when it names none (a local or unix peer)."""
    if not isinstance(peer, str):
        return None
    kind, _, rest = peer.partition(":")
    if kind not in ("tcp4", "tcp6") or ":" not in rest:
        return None
    return rest.rpartition(":")[0].strip("[]") or None


class WampAccounts:
    """Binds a L{SignIn} to one realm of the router."""

    def __init__(self, router: Any, realm: str, sign_in: SignIn) -> None:
        self.router = router
        self.realm = realm
        self.sign_in = sign_in
        self.session: Any = None
        self.procedures: dict[str, Callable[..., Awaitable[Any]]] = {}
        #: Pending waits by caller session, cancelled when it leaves.
        self._waits: dict[int, set[Deferred[Credentials]]] = {}

    async def start(self) -> None:
        """Join the realm as a trusted session and register the procedures."""
        self.session = self.router.attach_local_session(self.realm, "hubsd.accounts", "trusted")
        table: dict[str, Callable[..., Awaitable[Any]]] = {
            "request_link": self._request_link,
            "verify": self._verify,
            "wait": self._wait,
            "whoami": self._whoami,
        }
        await register_procedures(self.session, PREFIX, table, self._endpoint, self.procedures)
        self.router.add_gate(PREFIX, self.gate)
        self.router.add_session_observer(None, self.on_session_leave)

    def stop(self) -> None:
        for waits in list(self._waits.values()):
            for d in list(waits):
                d.cancel()
        if self.session is not None:
            self.session.leave()

    def gate(self, details: dict[str, Any], action: str, uri: str, options: dict[str, Any]) -> bool:
        """Anyone may call the procedures; nothing else happens under the prefix."""
        return action == "call" and uri in self.procedures

    def on_session_leave(self, details: dict[str, Any]) -> None:
        for d in list(self._waits.pop(details["session"], ())):
            d.cancel()

    def _endpoint(self, uri: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        signature = inspect.signature(fn)

        async def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            details = kwargs.pop("_details")
            try:
                signature.bind(details, *args, **kwargs)
            except TypeError as e:
                raise WampError(error_uri(BadRequest("")), f"{uri}: {e}") from None
            try:
                return await fn(details, *args, **kwargs)
            except SignInError as e:
                raise WampError(error_uri(e), str(e)) from None

        def endpoint(*args: Any, **kwargs: Any) -> Deferred[Any]:
            return ensureDeferred(call(args, kwargs))

        return endpoint

    @staticmethod
    def _caller(details: Any) -> dict[str, Any]:
        return details.caller_session or {}

    def _address(self, details: Any) -> str:
        transport = self._caller(details).get("transport") or {}
        # A caller without an IP address (a local session) shares one bucket.
        return peer_host(transport.get("peer")) or "local"

    async def _request_link(
        self, details: Any, email: Any, topic: Any = None, origin: Any = ""
    ) -> dict[str, Any]:
        sent = await self.sign_in.request_link(email, origin, topic, self._address(details))
        return {"topic": sent}

    async def _verify(self, details: Any, topic: Any, token: Any) -> dict[str, Any]:
        return (await self.sign_in.verify(topic, token, self._address(details))).as_dict()

    async def _wait(self, details: Any, topic: Any) -> dict[str, Any]:
        caller = details.caller
        if caller is None:
            raise WampError(errors.NOT_AUTHORIZED, "unknown caller")
        waited = self.sign_in.wait_for(topic, address=self._address(details))
        waits = self._waits.setdefault(caller, set())
        waits.add(waited)
        try:
            return (await waited).as_dict()
        finally:
            waits.discard(waited)
            if not waits and self._waits.get(caller) is waits:
                del self._waits[caller]

    async def _whoami(self, details: Any) -> dict[str, Any]:
        extra = self._caller(details).get("authextra") or {}
        if self._caller(details).get("authprovider") != "hubsd" or "account_id" not in extra:
            raise NotSignedIn("this session is not signed in (connect with an account token)")
        # The session was authenticated with an account token; the record
        # may be gone since, so it is looked up again.
        account = await self.sign_in.account_record(extra["account_id"])
        return account.as_dict()
