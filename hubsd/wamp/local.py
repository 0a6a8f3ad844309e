"""
In-process sessions: the room core, the Phoenix gateway and the SFU
signalling talk to the router with values, no serialization.

    session = router.attach_local_session("hubsd", "room-core", "trusted")
    sub = yield session.subscribe("hubsd.room.x", on_event)   # on_event(LocalEvent)
    yield session.publish("hubsd.room.x", ["hi"], acknowledge=True)
    reg = yield session.register("hubsd.room.join", join)     # join(*args, **kwargs)
    result = yield session.call("hubsd.room.join", ["me"])
    session.leave()

A local session is authorized like any other (authrole C{trusted} may do
everything). Every method returns a Deferred failing with
L{hubsd.wamp.errors.WampError} on an ERROR. An event's args/kwargs are
decoded lazily and at most once per publication (the payload is shared);
each subscription's handlers get one L{LocalEvent} per publication, after
the fan-out that produced it (L{hubsd.wamp.router.Router.deliver_local}),
never re-entrantly in its middle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from hubsd.wamp import errors
from hubsd.wamp.errors import WampError
from hubsd.wamp.messages import (
    ABORT,
    CALL,
    CANCEL,
    ERROR,
    GOODBYE,
    INTERRUPT,
    INVOCATION,
    PUBLISH,
    PUBLISHED,
    REGISTER,
    REGISTERED,
    RESULT,
    SUBSCRIBE,
    SUBSCRIBED,
    UNREGISTER,
    UNREGISTERED,
    UNSUBSCRIBE,
    UNSUBSCRIBED,
    YIELD,
)
from hubsd.wamp.payload import Payload
from hubsd.wamp.session import RouterSession

if TYPE_CHECKING:
    from hubsd.wamp.router import Router

log = Logger()


class LocalEvent:
    """An EVENT delivered to a local handler; args/kwargs decode lazily."""

    __slots__ = ("subscription", "publication", "details", "payload", "topic")

    def __init__(
        self,
        subscription: int,
        publication: int,
        details: dict[str, Any],
        payload: Payload,
        topic: str,
    ) -> None:
        self.subscription = subscription
        self.publication = publication
        self.details = details
        self.payload = payload
        #: The concrete topic (also for pattern subscriptions).
        self.topic = topic

    @property
    def args(self) -> list[Any]:
        return self.payload.args or []

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.payload.kwargs or {}

    @property
    def retained(self) -> bool:
        return bool(self.details.get("retained"))


class LocalInvocation:
    """
    What a local endpoint registered with C{details_arg} receives.

    C{caller_session} is the caller's full session details (authid,
    authrole, authextra...) when the caller is disclosed (register with
    C{disclose_caller=True} to always get it). C{progress(*args, **kwargs)}
    sends a progressive result when the caller asked for them.
    """

    __slots__ = (
        "procedure",
        "caller",
        "caller_authid",
        "caller_authrole",
        "caller_session",
        "receive_progress",
        "_send_progress",
    )

    def __init__(
        self,
        details: dict[str, Any],
        caller_session: dict[str, Any] | None,
        send_progress: Callable[[list[Any], dict[str, Any]], None],
    ) -> None:
        self.procedure: str | None = details.get("procedure")
        self.caller: int | None = details.get("caller")
        self.caller_authid: str | None = details.get("caller_authid")
        self.caller_authrole: str | None = details.get("caller_authrole")
        self.caller_session = caller_session
        self.receive_progress = bool(details.get("receive_progress"))
        self._send_progress = send_progress

    def progress(self, *args: Any, **kwargs: Any) -> None:
        if self.receive_progress:
            self._send_progress(list(args), kwargs)


@dataclass
class LocalSubscription:
    id: int
    topic: str
    handler: Callable[[LocalEvent], Any]


@dataclass
class LocalRegistration:
    id: int
    procedure: str
    endpoint: Callable[..., Any]
    details_arg: str | None = None


@dataclass
class CallResult:
    """A result with several values or keyword results."""

    args: list[Any]
    kwargs: dict[str, Any]


_ROLES = {
    "publisher": {"features": {}},
    "subscriber": {"features": {}},
    "caller": {"features": {"progressive_call_results": True}},
    "callee": {"features": {"call_canceling": True, "progressive_call_results": True}},
}


class LocalSession(RouterSession):
    """A router session living in this process (see module docstring)."""

    def __init__(self, router: Router) -> None:
        RouterSession.__init__(self, router)
        self.roles = _ROLES
        self.transport_info = {"type": "local"}
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[Deferred[Any], Any]] = {}
        self._handlers: dict[int, list[LocalSubscription]] = {}
        self._endpoints: dict[int, LocalRegistration] = {}
        # invocation id -> the endpoint's Deferred (None while it runs synchronously)
        self._invocations: dict[int, Deferred[Any] | None] = {}
        self._progress: dict[int, Callable[..., Any]] = {}
        #: Fires (with None) when the session leaves, for whatever reason
        #: (L{leave}, C{wamp.session.kill}, router shutdown).
        self.left: Deferred[None] = Deferred()

    # -- API -----------------------------------------------------------------

    def publish(
        self,
        topic: str,
        args: Any = None,
        kwargs: Any = None,
        payload: Payload | None = None,
        **options: Any,
    ) -> Deferred[int | None]:
        """
        Publish C{args}/C{kwargs}, or C{payload} as it is (e.g. the
        L{LocalEvent.payload} or L{hubsd.wamp.router.Publication.payload}
        of a received publication: no decoding, and receivers in its
        serializer get the raw slice spliced). Options as in WAMP
        (C{acknowledge}, C{exclude_me}, C{exclude}, C{eligible},
        C{retain}, C{droppable}, C{disclose_me}...). Fires with the
        publication id when C{acknowledge=True}, else with None.
        """
        request = next(self._ids)
        if payload is None:
            payload = Payload.from_values(args, kwargs)
        elif args is not None or kwargs is not None:
            raise TypeError("give args/kwargs or a payload, not both")
        msg: list[Any] = [PUBLISH, request, options, topic, payload]
        if options.get("acknowledge"):
            return self._request(request, msg, lambda m: m[2])
        if not self.joined:
            return fail(WampError(errors.CANCELED, "session left"))
        self.handle(msg)
        return succeed(None)

    def subscribe(
        self, topic: str, handler: Callable[[LocalEvent], Any], **options: Any
    ) -> Deferred[LocalSubscription]:
        """Subscribe C{handler(LocalEvent)}; options: match, get_retained."""
        request = next(self._ids)

        def made(m: list[Any]) -> LocalSubscription:
            sub = LocalSubscription(m[2], topic, handler)
            self._handlers.setdefault(sub.id, []).append(sub)
            return sub

        return self._request(request, [SUBSCRIBE, request, options, topic], made)

    def unsubscribe(self, sub: LocalSubscription) -> Deferred[None]:
        handlers = self._handlers.get(sub.id, [])
        if sub in handlers:
            handlers.remove(sub)
        if handlers:
            return succeed(None)
        self._handlers.pop(sub.id, None)
        request = next(self._ids)
        return self._request(request, [UNSUBSCRIBE, request, sub.id], lambda m: None)

    def register(
        self,
        procedure: str,
        endpoint: Callable[..., Any],
        details_arg: str | None = None,
        **options: Any,
    ) -> Deferred[LocalRegistration]:
        """Register C{endpoint(*args, **kwargs)}; options: match, invoke,
        disclose_caller. With C{details_arg}, the endpoint also gets a
        L{LocalInvocation} as that keyword argument."""
        request = next(self._ids)

        def made(m: list[Any]) -> LocalRegistration:
            reg = LocalRegistration(m[2], procedure, endpoint, details_arg)
            self._endpoints[reg.id] = reg
            return reg

        return self._request(request, [REGISTER, request, options, procedure], made)

    def unregister(self, reg: LocalRegistration) -> Deferred[None]:
        self._endpoints.pop(reg.id, None)
        request = next(self._ids)
        return self._request(request, [UNREGISTER, request, reg.id], lambda m: None)

    def call(
        self,
        procedure: str,
        args: Any = None,
        kwargs: Any = None,
        on_progress: Callable[..., Any] | None = None,
        **options: Any,
    ) -> Deferred[Any]:
        """Call; a single positional result is returned as itself,
        anything else as a L{CallResult}. Cancelling the Deferred sends
        CANCEL (mode killnowait)."""
        request = next(self._ids)
        if on_progress is not None:
            options["receive_progress"] = True
            self._progress[request] = on_progress
        msg: list[Any] = [CALL, request, options, procedure]
        if kwargs:
            msg += [list(args or []), dict(kwargs)]
        elif args is not None:
            msg.append(list(args))

        def canceller(d: Deferred[Any]) -> None:
            self._pending.pop(request, None)
            self._progress.pop(request, None)
            if self.joined:
                self.handle([CANCEL, request, {"mode": "killnowait"}])

        if not self.joined:
            return fail(WampError(errors.CANCELED, "session left"))
        d: Deferred[Any] = Deferred(canceller)
        self._pending[request] = (d, _call_result)
        self.handle(msg)
        return d

    def leave(self) -> None:
        """Leave the realm; pending requests fail with C{wamp.error.canceled}."""
        was = self.joined
        RouterSession.leave(self)
        if was:
            self.router.release_session_id(self.session_id)
            pending, self._pending = self._pending, {}
            for d, _ in pending.values():
                d.errback(Failure(WampError(errors.CANCELED, "session left")))
            self.left.callback(None)

    # -- plumbing ----------------------------------------------------------------

    def _request(self, request: int, msg: list[Any], convert: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self._pending[request] = (d, convert)
        if not self.joined:
            self._pending.pop(request)
            return fail(WampError(errors.CANCELED, "session left"))
        self.handle(msg)
        return d

    def send(self, msg: list[Any]) -> None:
        t = msg[0]
        if t in (SUBSCRIBED, UNSUBSCRIBED, PUBLISHED, REGISTERED, UNREGISTERED, RESULT):
            request = msg[1]
            if t == RESULT and msg[2].get("progress"):
                cb = self._progress.get(request)
                if cb is not None:
                    args, kwargs = _args(msg, 3)
                    self._safe(cb, "progress handler", *args, **kwargs)
                return
            entry = self._pending.pop(request, None)
            self._progress.pop(request, None)
            if entry is not None:
                d, convert = entry
                d.callback(convert(msg) if convert is not None else None)
        elif t == ERROR:
            if msg[1] == INVOCATION:
                return
            entry = self._pending.pop(msg[2], None)
            self._progress.pop(msg[2], None)
            if entry is not None:
                entry[0].errback(Failure(WampError(msg[4], *_args(msg, 5)[0])))
        elif t == INVOCATION:
            self._invoke(msg)
        elif t == INTERRUPT:
            inv = self._invocations.pop(msg[1], None)
            if inv is not None:
                inv.cancel()
        elif t in (GOODBYE, ABORT):
            self.leave()

    def _invoke(self, msg: list[Any]) -> None:
        inv_id, reg_id = msg[1], msg[2]
        args, kwargs = _args(msg, 4)
        reg = self._endpoints.get(reg_id)
        if reg is None:
            self.handle([ERROR, INVOCATION, inv_id, {}, errors.NO_SUCH_PROCEDURE])
            return
        if reg.details_arg:
            details = msg[3]
            caller = details.get("caller")
            realm = self.realm
            peer = realm.sessions.get(caller) if (realm is not None and caller) else None

            def progress(a: list[Any], kw: dict[str, Any]) -> None:
                if inv_id in self._invocations and self.joined:
                    self.handle([YIELD, inv_id, {"progress": True}, a, kw])

            kwargs[reg.details_arg] = LocalInvocation(
                details, peer.details() if peer is not None else None, progress
            )
        self._invocations[inv_id] = None
        d = maybeDeferred(reg.endpoint, *args, **kwargs)
        if inv_id in self._invocations:
            self._invocations[inv_id] = d
        else:
            # INTERRUPT arrived while the endpoint ran (e.g. its progress
            # could not be delivered): cancel what it left running.
            d.cancel()

        def done(result: Any) -> None:
            if inv_id not in self._invocations or not self.joined:
                return
            del self._invocations[inv_id]
            if isinstance(result, CallResult):
                self.handle([YIELD, inv_id, {}, result.args, result.kwargs])
            elif result is None:
                self.handle([YIELD, inv_id, {}])
            else:
                self.handle([YIELD, inv_id, {}, [result]])

        def failed(f: Failure) -> None:
            if inv_id not in self._invocations or not self.joined:
                return
            del self._invocations[inv_id]
            exc: Any = f.value
            error = getattr(exc, "error", None)
            uri = getattr(exc, "uri", None)
            if isinstance(error, str):
                args = list(getattr(exc, "args_", None) or exc.args[1:] or [])
            elif isinstance(uri, str):
                # The room core's exceptions: a URI and a message for the client.
                error, args = uri, [str(exc)]
            else:
                self.router.hook_failed(
                    ("endpoint", reg.procedure),
                    "local endpoint {procedure} failed",
                    f,
                    procedure=reg.procedure,
                )
                # Nothing of an unexpected exception goes to the caller.
                error, args = errors.RUNTIME_ERROR, []
            self.handle([ERROR, INVOCATION, inv_id, {}, error, args])

        d.addCallbacks(done, failed)

    def _safe(self, fn: Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> None:
        """Run a handler; its failure (or its Deferred's) is the router's
        to count and log once (L{hubsd.wamp.router.Router.hook_failed})."""

        def failed(f: Failure | None = None) -> None:
            self.router.hook_failed(fn, "local handler for {what} failed", f, what=what)

        try:
            r = fn(*args, **kwargs)
        except Exception:
            failed()
            return
        if isinstance(r, Deferred):
            r.addErrback(failed)

    def send_event(
        self,
        sub_id: int,
        pub_id: int,
        details: dict[str, Any],
        payload: Payload,
        cache: dict[Any, Any],
        key: Any,
    ) -> None:
        """Queue the event for L{deliver}: one L{LocalEvent} per
        (subscription, publication), shared by every local receiver."""
        handlers = self._handlers.get(sub_id)
        if not handlers:
            return
        event = cache.get(LocalEvent)
        if event is None:
            topic = details.get("topic") or handlers[0].topic
            event = cache[LocalEvent] = LocalEvent(sub_id, pub_id, details, payload, topic)
        self.router.local_queue.append((self, sub_id, event))

    def deliver(self, sub_id: int, event: LocalEvent) -> None:
        """Run this session's handlers of C{sub_id} (called by the router
        after the fan-out that queued C{event})."""
        if not self.joined:
            return
        handlers = self._handlers.get(sub_id)
        if not handlers:
            return
        for sub in list(handlers):
            self._safe(sub.handler, sub.topic, event)


async def register_procedures(
    session: LocalSession,
    prefix: str,
    table: dict[str, Callable[..., Any]],
    endpoint: Callable[[str, Callable[..., Any]], Callable[..., Any]],
    into: dict[str, Callable[..., Any]],
) -> None:
    """
    Register every C{table} entry at C{prefix + name} as C{endpoint(uri, fn)},
    with the caller disclosed in a C{_details} keyword: the one way the room
    API's bindings (rooms, accounts, SFU) publish their procedures. Each
    C{uri -> fn} goes into C{into} before it is registered, so a gate that
    consults C{into} already knows the procedure when its first call comes.
    """
    for name, fn in table.items():
        uri = prefix + name
        into[uri] = fn
        await session.register(uri, endpoint(uri, fn), details_arg="_details", disclose_caller=True)


def _args(msg: list[Any], i: int) -> tuple[list[Any], dict[str, Any]]:
    args = msg[i] if len(msg) > i else []
    kwargs = msg[i + 1] if len(msg) > i + 1 else {}
    return list(args or []), dict(kwargs or {})


def _call_result(msg: list[Any]) -> Any:
    args, kwargs = _args(msg, 3)
    if len(args) == 1 and not kwargs:
        return args[0]
    if not args and not kwargs:
        return None
    return CallResult(args, kwargs)
