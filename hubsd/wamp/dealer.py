"""
The dealer: registrations, calls, invocations, progressive results,
cancellation and timeouts.

Promise: every CALL ends in exactly one final RESULT or ERROR to the caller
(unless the caller left), whatever the callee does: it may disconnect
(C{wamp.error.canceled}), be too slow (C{wamp.error.timeout}) or be
canceled (C{wamp.error.canceled}).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from hubsd.wamp import errors
from hubsd.wamp.errors import WampError
from hubsd.wamp.ids import new_unique_id
from hubsd.wamp.messages import CALL, ERROR, INTERRUPT, INVOCATION, RESULT
from hubsd.wamp.patterns import wildcard_match

if TYPE_CHECKING:
    from hubsd.wamp.session import RouterSession


class Registration:
    """One (procedure, match) with its callees in registration order."""

    __slots__ = ("id", "uri", "match", "invoke", "created", "callees", "_next", "disclose_caller")

    def __init__(self, reg_id: int, uri: str, match: str, invoke: str) -> None:
        self.id = reg_id
        self.uri = uri
        self.match = match
        self.invoke = invoke
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.callees: list[RouterSession] = []
        self._next = 0
        # REGISTER.Options.disclose_caller: callers are always identified.
        self.disclose_caller = False

    def describe(self) -> dict[str, Any]:
        """The C{wamp.registration.get} shape."""
        return {
            "id": self.id,
            "created": self.created,
            "uri": self.uri,
            "match": self.match,
            "invoke": self.invoke,
        }

    def pick(self) -> RouterSession:
        """Choose a callee according to the invocation policy."""
        c = self.callees
        if self.invoke == "roundrobin":
            self._next %= len(c)
            callee = c[self._next]
            self._next += 1
            return callee
        if self.invoke == "random":
            return random.choice(c)
        if self.invoke == "last":
            return c[-1]
        return c[0]


class PendingCall:
    """A CALL waiting for its callee."""

    __slots__ = (
        "caller",
        "request",
        "callee",
        "invocation",
        "receive_progress",
        "timer",
        "canceled",
    )

    def __init__(
        self, caller: RouterSession, request: int, callee: RouterSession, invocation: int
    ) -> None:
        self.caller = caller
        self.request = request
        self.callee = callee
        self.invocation = invocation
        self.receive_progress = False
        self.timer: IDelayedCall | None = None
        self.canceled = False


#: A built-in (meta) procedure: (caller, args, kwargs) -> result args list.
BuiltIn = Callable[["RouterSession", list[Any], dict[str, Any]], Any]


class Dealer:
    """Registrations and calls of one realm."""

    def __init__(self, reactor: IReactorTime, default_timeout: float) -> None:
        self._reactor = reactor
        self._default_timeout = default_timeout
        self._tables: dict[str, dict[str, Registration]] = {
            m: {} for m in ("exact", "prefix", "wildcard")
        }
        self.by_id: dict[int, Registration] = {}
        self.builtins: dict[str, BuiltIn] = {}
        self._invocations: dict[int, PendingCall] = {}
        self._by_caller: dict[tuple[int, int], PendingCall] = {}

    # -- registrations -------------------------------------------------

    def register(
        self,
        callee: RouterSession,
        uri: str,
        match: str,
        invoke: str,
        disclose_caller: bool = False,
    ) -> tuple[Registration, bool]:
        """Add C{callee}; return (registration, created) or raise WampError."""
        if uri in self.builtins:
            raise WampError(errors.PROCEDURE_ALREADY_EXISTS)
        table = self._tables[match]
        reg = table.get(uri)
        if reg is None:
            reg = Registration(new_unique_id(self.by_id), uri, match, invoke)
            table[uri] = reg
            self.by_id[reg.id] = reg
            created = True
        else:
            if reg.invoke == "single" or invoke == "single":
                raise WampError(errors.PROCEDURE_ALREADY_EXISTS)
            if reg.invoke != invoke:
                raise WampError(errors.PROCEDURE_EXISTS_INVOCATION_POLICY_CONFLICT)
            if callee in reg.callees:
                raise WampError(errors.PROCEDURE_ALREADY_EXISTS)
            created = False
        reg.callees.append(callee)
        reg.disclose_caller = reg.disclose_caller or disclose_caller
        callee.registrations[reg] = None
        return reg, created

    def unregister(self, callee: RouterSession, reg: Registration) -> bool:
        """Remove C{callee}; return True if the registration is deleted."""
        if callee in reg.callees:
            reg.callees.remove(callee)
        callee.registrations.pop(reg, None)
        if not reg.callees:
            self._tables[reg.match].pop(reg.uri, None)
            self.by_id.pop(reg.id, None)
            return True
        return False

    def lookup(self, uri: str, match: str) -> Registration | None:
        return self._tables.get(match, {}).get(uri)

    def best(self, procedure: str) -> Registration | None:
        """Exact beats the longest prefix, which beats a wildcard."""
        reg = self._tables["exact"].get(procedure)
        if reg is not None:
            return reg
        found = None
        for prefix, r in self._tables["prefix"].items():
            if procedure.startswith(prefix) and (found is None or len(prefix) > len(found.uri)):
                found = r
        if found is not None:
            return found
        for pattern, r in self._tables["wildcard"].items():
            if wildcard_match(pattern, procedure):
                return r
        return None

    def all(self) -> dict[str, list[int]]:
        """The C{wamp.registration.list} shape."""
        return {m: [r.id for r in t.values()] for m, t in self._tables.items()}

    # -- calls -----------------------------------------------------------

    def call(
        self,
        caller: RouterSession,
        request: int,
        procedure: str,
        args: list[Any] | None,
        kwargs: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        """Route a CALL: invoke a callee or answer with ERROR."""
        reg = self.best(procedure)
        if reg is None or not reg.callees:
            raise WampError(errors.NO_SUCH_PROCEDURE, f"no callee for {procedure}")
        callee = reg.pick()
        inv = new_unique_id(self._invocations)
        pending = PendingCall(caller, request, callee, inv)
        pending.receive_progress = bool(options.get("receive_progress"))
        self._invocations[inv] = pending
        self._by_caller[(caller.session_id, request)] = pending
        caller.calls_out[pending] = None
        callee.calls_in[pending] = None
        timeout = options.get("timeout")
        seconds = timeout / 1000.0 if isinstance(timeout, int) and timeout > 0 else 0.0
        seconds = seconds or self._default_timeout
        if seconds > 0:
            pending.timer = self._reactor.callLater(seconds, self._timed_out, pending)
        details: dict[str, Any] = {}
        if reg.match != "exact":
            details["procedure"] = procedure
        if pending.receive_progress:
            details["receive_progress"] = True
        if reg.disclose_caller or options.get("disclose_me"):
            details["caller"] = caller.session_id
            details["caller_authid"] = caller.authid
            details["caller_authrole"] = caller.authrole
        if seconds > 0:
            details["timeout"] = int(seconds * 1000)
        msg: list[Any] = [INVOCATION, inv, reg.id, details]
        _append(msg, args, kwargs)
        callee.send(msg)

    def _finish(self, pending: PendingCall) -> None:
        self._invocations.pop(pending.invocation, None)
        self._by_caller.pop((pending.caller.session_id, pending.request), None)
        pending.caller.calls_out.pop(pending, None)
        pending.callee.calls_in.pop(pending, None)
        if pending.timer is not None and pending.timer.active():
            pending.timer.cancel()
        pending.timer = None

    def _fail_caller(self, pending: PendingCall, error: str, text: str) -> None:
        pending.caller.send([ERROR, CALL, pending.request, {}, error, [text]])

    def _timed_out(self, pending: PendingCall) -> None:
        pending.timer = None
        if pending.invocation not in self._invocations:
            return
        self._finish(pending)
        self._interrupt(pending, "killnowait", errors.TIMEOUT)
        self._fail_caller(pending, errors.TIMEOUT, "call timed out")

    def _interrupt(self, pending: PendingCall, mode: str, reason: str) -> None:
        if pending.callee.supports("callee", "call_canceling"):
            pending.callee.send([INTERRUPT, pending.invocation, {"mode": mode, "reason": reason}])

    def yield_(
        self,
        callee: RouterSession,
        invocation: int,
        args: list[Any] | None,
        kwargs: dict[str, Any] | None,
        progress: bool,
    ) -> None:
        """A callee's (progressive) result. Unknown invocations are ignored:
        they may have been canceled or timed out meanwhile."""
        pending = self._invocations.get(invocation)
        if pending is None or pending.callee is not callee:
            return
        if progress:
            if pending.receive_progress and not pending.canceled:
                msg: list[Any] = [RESULT, pending.request, {"progress": True}]
                pending.caller.send(_append(msg, args, kwargs))
            return
        self._finish(pending)
        if pending.canceled:
            self._fail_caller(pending, errors.CANCELED, "call canceled")
            return
        pending.caller.send(_append([RESULT, pending.request, {}], args, kwargs))

    def error(
        self,
        callee: RouterSession,
        invocation: int,
        error: str,
        args: list[Any] | None,
        kwargs: dict[str, Any] | None,
    ) -> None:
        """A callee's ERROR for an invocation, passed on to the caller."""
        pending = self._invocations.get(invocation)
        if pending is None or pending.callee is not callee:
            return
        self._finish(pending)
        if pending.canceled:
            error, args, kwargs = errors.CANCELED, ["call canceled"], None
        pending.caller.send(_append([ERROR, CALL, pending.request, {}, error], args, kwargs))

    def cancel(self, caller: RouterSession, request: int, mode: str) -> None:
        """CANCEL with mode skip, kill or killnowait."""
        pending = self._by_caller.get((caller.session_id, request))
        if pending is None or pending.canceled:
            return
        if mode != "skip" and not pending.callee.supports("callee", "call_canceling"):
            mode = "skip"
        if mode == "kill":
            # Wait for the callee's answer, which becomes the caller's ERROR.
            pending.canceled = True
            self._interrupt(pending, "kill", errors.CANCELED)
            return
        self._finish(pending)
        if mode == "killnowait":
            self._interrupt(pending, "killnowait", errors.CANCELED)
        self._fail_caller(pending, errors.CANCELED, "call canceled")

    def abandon(self, caller: RouterSession, request: int, reason: str) -> None:
        """The caller cannot receive this call's results: end the call and
        interrupt the callee (the caller is answered by whoever abandons)."""
        pending = self._by_caller.get((caller.session_id, request))
        if pending is None:
            return
        self._finish(pending)
        self._interrupt(pending, "killnowait", reason)

    def remove_peer(self, peer: RouterSession) -> list[tuple[Registration, bool]]:
        """Drop C{peer}'s registrations and calls, answering every waiter."""
        out = []
        for reg in list(peer.registrations):
            out.append((reg, self.unregister(peer, reg)))
        for pending in list(peer.calls_in):
            self._finish(pending)
            self._fail_caller(pending, errors.CANCELED, "callee left")
        for pending in list(peer.calls_out):
            self._finish(pending)
            self._interrupt(pending, "killnowait", errors.CANCELED)
        return out


def _append(msg: list[Any], args: list[Any] | None, kwargs: dict[str, Any] | None) -> list[Any]:
    if kwargs:
        msg.append(args if args is not None else [])
        msg.append(kwargs)
    elif args is not None:
        msg.append(args)
    return msg
