"""
The router side of one joined WAMP session, whatever carries it.

L{RouterSession} handles every message a joined session may send
(PUBLISH, SUBSCRIBE, UNSUBSCRIBE, CALL, CANCEL, REGISTER, UNREGISTER,
YIELD, ERROR, GOODBYE) and answers through L{RouterSession.send}. Wire
sessions (L{hubsd.wamp.wire}) add the handshake and serialization; local
sessions (L{hubsd.wamp.local}) receive the answers as values. A malformed
or out-of-place message is a protocol violation: ABORT and close, never an
exception escaping to the transport.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from autobahn.wamp import message as m
from autobahn.wamp.exception import InvalidUriError, ProtocolError
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from hubsd.wamp import errors, meta
from hubsd.wamp.authorization import TRUSTED, reserved
from hubsd.wamp.errors import ProtocolViolation, WampError
from hubsd.wamp.ids import new_id
from hubsd.wamp.messages import (
    ABORT,
    CALL,
    CANCEL,
    ERROR,
    GOODBYE,
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
    check_shape,
    is_uri,
    parse_publish,
)
from hubsd.wamp.payload import Payload

if TYPE_CHECKING:
    from hubsd.wamp.auth import Authenticated
    from hubsd.wamp.broker import Subscription
    from hubsd.wamp.dealer import PendingCall, Registration
    from hubsd.wamp.router import Realm, Router

log = Logger()

_CACHE_MAX = 1024
#: Messages a session may send while one of its authorizations is pending.
MAX_BACKLOG = 256
#: Marks a cached decision "reserved for the router" (L{reserved}).
_RESERVED = "reserved"
_JOINED_TYPES = frozenset(
    (SUBSCRIBE, UNSUBSCRIBE, CALL, YIELD, ERROR, CANCEL, REGISTER, UNREGISTER, GOODBYE)
)

#: A session's details as the router builds them (L{RouterSession.details}):
#: session, authid, authrole, authmethod, authprovider, authextra,
#: transport, realm. Shared, so read it, never mutate it.
SessionInfo = dict[str, Any]


class EventEncoder(Protocol):
    """
    Turns one publication into the bytes a kind of session receives.

    The broker calls C{event} once per (subscription, encoder) of each
    publication and writes the same bytes to the C{out} queue of every
    receiver that shares the encoder, so an encoder must not depend on the
    receiver. C{topic} is the publication's concrete topic (given for exact
    subscriptions too, where WAMP leaves it out of C{details}). Raising
    skips this event for these receivers (logged once per occurrence).
    """

    def event(
        self,
        topic: str,
        subscription: int,
        publication: int,
        details: dict[str, Any],
        payload: Payload,
    ) -> bytes: ...


class _WireEvents:
    """An L{EventEncoder} over a wire whose C{event} has no topic argument."""

    __slots__ = ("wire",)

    def __init__(self, wire: Any) -> None:
        self.wire = wire

    def event(
        self,
        topic: str,
        subscription: int,
        publication: int,
        details: dict[str, Any],
        payload: Payload,
    ) -> bytes:
        frame: bytes = self.wire.event(subscription, publication, details, payload)
        return frame


_ENCODERS: dict[int, EventEncoder] = {}


def event_encoder(wire: Any) -> EventEncoder | None:
    """The L{EventEncoder} of a session whose C{wire} is C{wire}: the wire
    itself, or one shared adapter per wire if its C{event} takes no topic."""
    if wire is None:
        return None
    enc = _ENCODERS.get(id(wire))
    if enc is None:
        try:
            legacy = len(inspect.signature(wire.event).parameters) == 4
        except (TypeError, ValueError):
            legacy = False
        enc = _WireEvents(wire) if legacy else wire
        _ENCODERS[id(wire)] = enc  # wires are few and live as long as the process
    return enc


class RouterSession(ABC):
    """A session that has joined a realm. Subclasses provide the output side."""

    #: What encodes this session's events (an L{EventEncoder}; None: the
    #: broker calls L{send_event} with values) and the outgoing queue
    #: (L{hubsd.wamp.outgoing.Outgoing}) the bytes go to. A wire session's
    #: C{wire} (serializer + framing) is shared by every session using both;
    #: C{encoder} is derived from it on join (L{event_encoder}).
    wire: Any = None
    out: Any = None
    encoder: EventEncoder | None = None

    def __init__(self, router: Router) -> None:
        self.router = router
        self.realm: Realm | None = None
        self.session_id = 0
        self.authid = ""
        self.authrole = ""
        self.authmethod = ""
        self.authprovider = ""
        self.authextra: dict[str, Any] | None = None
        self.roles: dict[str, Any] = {}
        self.transport_info: dict[str, Any] = {}
        # Dicts used as ordered sets: an empty dict costs 64 bytes, an empty
        # set 216, and most sessions hold few of these (idle memory counts).
        self.subscriptions: dict[Subscription, None] = {}
        self.registrations: dict[Registration, None] = {}
        self.calls_in: dict[PendingCall, None] = {}
        self.calls_out: dict[PendingCall, None] = {}
        self.joined = False
        self._allowed: dict[tuple[str, str], Any] = {}
        self._details: dict[str, Any] | None = None
        # Messages waiting for a pending authorization (None: nothing pending).
        self._backlog: deque[list[Any]] | None = None

    # -- output side, provided by subclasses ---------------------------

    @abstractmethod
    def send(self, msg: list[Any]) -> None:
        """Deliver one message (as values) to the peer."""

    def send_event(
        self,
        sub_id: int,
        pub_id: int,
        details: dict[str, Any],
        payload: Payload,
        cache: dict[Any, Any],
        key: Any,
    ) -> None:
        """
        Deliver an EVENT to a session without an L{encoder} (sessions with
        one get bytes in C{out} from the broker). C{cache} is shared by the
        subscription's receivers for this publication: build what every
        receiver gets once. C{key} is None for a reliable event, else the
        supersede key of a droppable one (see L{hubsd.wamp.outgoing}).
        """
        raise NotImplementedError("a session without an encoder must implement send_event")

    def close_transport(self, reason: str) -> None:  # noqa: B027 - a no-op by default
        """
        Close the underlying transport (after queued output if possible).
        In-process sessions have none, hence no-op by default.
        """

    # -- identity --------------------------------------------------------

    def supports(self, role: str, feature: str) -> bool:
        """True if the peer announced C{feature} for C{role} in HELLO."""
        r = self.roles.get(role)
        if not isinstance(r, dict):
            return False
        f = r.get("features")
        return isinstance(f, dict) and bool(f.get(feature))

    def details(self) -> SessionInfo:
        """The session meta API shape (C{wamp.session.get}, C{on_join}) plus
        C{realm}. Built once after join (identity does not change); the same
        dict goes to gates, hooks and observers: do not mutate it."""
        if self._details is not None:
            return self._details
        details = {
            "realm": self.realm.name if self.realm is not None else None,
            "session": self.session_id,
            "authid": self.authid,
            "authrole": self.authrole,
            "authmethod": self.authmethod,
            "authprovider": self.authprovider,
            "authextra": self.authextra,
            "transport": self.transport_info,
        }
        if self.joined:
            self._details = details
        return details

    def join(self, realm: Realm, auth: Authenticated) -> None:
        """Enter C{realm} with the identity C{auth} (session id already set)."""
        self.realm = realm
        self.authid = auth.authid
        self.authrole = auth.authrole
        self.authmethod = auth.authmethod
        self.authprovider = auth.authprovider
        self.authextra = auth.authextra
        if self.wire is not None:
            self.encoder = event_encoder(self.wire)
        self.joined = True
        realm.attach(self)

    def leave(self) -> None:
        """Leave the realm: drop subscriptions, registrations, pending calls,
        and messages waiting for an authorization; tell the observers."""
        if not self.joined:
            return
        self.joined = False
        self._backlog = None
        assert self.realm is not None
        self.realm.detach(self)

    def kill(self, reason: str, text: str | None) -> None:
        """Close this session from the router side with GOODBYE (with
        C{Details.message} unless C{text} is None)."""
        if not self.joined:
            return
        self.send([GOODBYE, {"message": text} if text is not None else {}, reason])
        self.leave()
        self.close_transport(reason)

    def shutdown(self, reason: str) -> Deferred[None]:
        """Router shutdown: GOODBYE and close; fires when closed."""
        self.kill(reason, "router shutting down")
        return succeed(None)

    # -- input side ------------------------------------------------------

    def abort(self, reason: str, text: str) -> None:
        """Send ABORT, leave and close."""
        try:
            self.send([ABORT, {"message": text}, reason])
        finally:
            self.leave()
            self.close_transport(reason)

    def handle(self, msg: list[Any]) -> None:
        """
        Process one message of a joined session; never raises. While an
        authorization of an earlier message is pending, C{msg} waits in
        order behind it (at most L{MAX_BACKLOG} messages, then the session
        is aborted).
        """
        backlog = self._backlog
        if backlog is not None:
            if len(backlog) >= MAX_BACKLOG:
                self.abort(errors.PROTOCOL_VIOLATION, "too many messages while authorizing")
                return
            backlog.append(msg)
            return
        self._handle_now(msg)
        if self.router.local_queue:
            self.router.deliver_local()

    def _handle_now(self, msg: list[Any]) -> None:
        self._guarded(msg, self._dispatch, msg)

    def _guarded(self, msg: list[Any], fn: Callable[..., None], *args: Any) -> None:
        """Run C{fn(*args)} for C{msg}: errors become ERROR or ABORT."""
        try:
            fn(*args)
        except WampError as e:
            self._error(msg, e)
        except InvalidUriError as e:
            self._error(msg, WampError(errors.INVALID_URI, str(e)))
        except (ProtocolViolation, ProtocolError) as e:
            self.abort(errors.PROTOCOL_VIOLATION, str(e))
        except Exception:
            log.failure("router error on message type {type}", type=msg[0])
            self.abort(errors.PROTOCOL_VIOLATION, "message could not be processed")

    def _error(self, msg: list[Any], e: WampError) -> None:
        if msg[0] == PUBLISH and not (type(msg[2]) is dict and msg[2].get("acknowledge")):
            # An unacknowledged publish gets no answer, not even an ERROR.
            return
        request = msg[1] if len(msg) > 1 and type(msg[1]) is int else 0
        out: list[Any] = [ERROR, msg[0], request, {}, e.error]
        if e.args_ or e.kwargs_:
            out.append(e.args_)
        if e.kwargs_:
            out.append(e.kwargs_)
        self.send(out)

    def _dispatch(self, msg: list[Any]) -> None:
        t = msg[0]
        if t == PUBLISH:
            self._on_publish(msg)
            return
        if t not in _JOINED_TYPES:
            raise ProtocolViolation(f"message type {t} not allowed in a joined session")
        # Checked before Autobahn's parsers, whose constructors rely on assert.
        check_shape(msg)
        if t == SUBSCRIBE:
            self._on_subscribe(m.Subscribe.parse(msg), msg)
        elif t == UNSUBSCRIBE:
            self._on_unsubscribe(m.Unsubscribe.parse(msg))
        elif t == CALL:
            self._on_call(m.Call.parse(msg), msg)
        elif t == YIELD:
            y = m.Yield.parse(msg)
            self._dealer().yield_(self, y.request, y.args, y.kwargs, bool(y.progress))
        elif t == ERROR:
            e = m.Error.parse(msg)
            if e.request_type != INVOCATION:
                raise ProtocolViolation("ERROR is only valid for INVOCATION here")
            self._dealer().error(self, e.request, e.error, e.args, e.kwargs)
        elif t == CANCEL:
            c = m.Cancel.parse(msg)
            self._dealer().cancel(self, c.request, c.mode or "kill")
        elif t == REGISTER:
            self._on_register(m.Register.parse(msg), msg)
        elif t == UNREGISTER:
            self._on_unregister(m.Unregister.parse(msg))
        elif t == GOODBYE:
            m.Goodbye.parse(msg)
            self.send([GOODBYE, {}, errors.CLOSE_GOODBYE_AND_OUT])
            self.leave()
            self.close_transport(errors.CLOSE_GOODBYE_AND_OUT)

    def _dealer(self) -> Any:
        assert self.realm is not None
        return self.realm.dealer

    # -- authorization ---------------------------------------------------

    def authorize(
        self,
        action: str,
        uri: str,
        options: dict[str, Any],
        check_uri: bool = True,
        match: str | None = None,
    ) -> bool | Deferred[bool]:
        """
        Decide C{action} on C{uri} (L{hubsd.wamp.authorization} gives the
        order). Returns True, False or a Deferred firing with the dynamic
        authorizer's answer; raises L{WampError} for an invalid URI.
        """
        key = (action, uri) if match is None or match == "exact" else (action + match, uri)
        ok = self._allowed.get(key)
        if ok is None:
            ok = self._first_answer(action, uri, check_uri, match)
            if len(self._allowed) > _CACHE_MAX:
                self._allowed.clear()
            self._allowed[key] = ok
        if ok is True:
            return True
        authorizer = self.router.authorizer
        if ok is False:
            return authorizer.ask_dynamic(self.details(), action, uri, options)
        if ok is _RESERVED:
            return False
        # A gate: asked every time, its answers are never cached.
        return authorizer.ask_gate(ok, self.details(), action, uri, options)

    def _first_answer(self, action: str, uri: str, check_uri: bool, match: str | None) -> Any:
        """What stays true for this session and URI: True (allowed), the
        gate that decides, L{_RESERVED}, or False (ask the dynamic hook)."""
        if check_uri and not is_uri(uri):
            raise WampError(errors.INVALID_URI, f"invalid URI {uri!r}")
        if reserved(action, uri, self.authrole):
            return _RESERVED
        if self.authrole == TRUSTED:
            return True
        gate = self.router.authorizer.gate_for(uri, match)
        if gate is not None:
            return gate
        assert self.realm is not None
        return self.router.authorizer.static(self.realm.name, self.authrole, action, uri)

    def forget_decisions(self) -> None:
        """Drop cached authorization decisions (the gates changed)."""
        self._allowed.clear()

    def _when_allowed(
        self,
        msg: list[Any],
        action: str,
        uri: str,
        options: dict[str, Any],
        then: Any,
        check_uri: bool = True,
        match: str | None = None,
    ) -> None:
        ok = self.authorize(action, uri, options, check_uri, match)
        if ok is True:
            then()
        elif isinstance(ok, Deferred):
            # Later messages of this session wait for this decision, so that
            # none overtakes this one (handle() queues them meanwhile).
            self._backlog = deque()

            def decided(allowed: object) -> None:
                if not self.joined:
                    return
                if allowed is True:
                    self._guarded(msg, then)
                else:
                    self._denied(msg, action, uri)

            def failed(f: Failure) -> None:
                self.router.authorizer.dynamic_failed(f, action, uri)
                if self.joined:
                    self._denied(msg, action, uri)

            ok.addCallbacks(decided, failed)
            ok.addBoth(self._resume)
        else:
            self._denied(msg, action, uri)

    def _denied(self, msg: list[Any], action: str, uri: str) -> None:
        if action == "publish":
            self.router.stats.publishes_rejected += 1
        self._error(msg, WampError(errors.NOT_AUTHORIZED, f"not authorized to {action} {uri}"))

    def _resume(self, _: object) -> None:
        """An authorization decided: handle what waited for it, in order,
        until another one must be waited for."""
        backlog, self._backlog = self._backlog, None
        while backlog and self.joined:
            self._handle_now(backlog.popleft())
            if self._backlog is not None:
                # Waiting again: what is left waits behind the new decision.
                self._backlog.extend(backlog)
                break
        self.router.deliver_local()

    # -- broker ----------------------------------------------------------

    def _on_publish(self, msg: list[Any]) -> None:
        request, options, topic, payload = parse_publish(msg)
        self._when_allowed(
            msg,
            "publish",
            topic,
            options,
            lambda: self._publish(request, topic, payload, options),
        )

    def _publish(self, request: int, topic: str, payload: Payload, options: dict[str, Any]) -> None:
        realm = self.realm
        assert realm is not None
        router = self.router
        if router.has_hooks:
            try:
                payload, options = router.run_publish_hooks(self, topic, payload, options)
            except WampError:
                router.stats.publishes_rejected += 1
                if options.get("acknowledge"):
                    raise
                return
        droppable = options.get("droppable") or realm.is_droppable(topic)
        stats = router.stats
        stats.publishes += 1
        if droppable and not options.get("retain") and router.shedder.shed():
            # The router is behind: this update goes nowhere, so that
            # reliable messages are not kept waiting (L{hubsd.wamp.shedding}).
            stats.publishes_shed += 1
            pub_id = new_id()
        else:
            pub_id, sent = realm.broker.publish(self, topic, payload, options, droppable)
            stats.events += sent
        if options.get("acknowledge"):
            self.send([PUBLISHED, request, pub_id])

    def _on_subscribe(self, s: m.Subscribe, msg: list[Any]) -> None:
        # Autobahn's parser validated the topic for its match policy; a
        # pattern subscription is authorized against the pattern string.
        match = s.match or "exact"

        def go() -> None:
            realm = self.realm
            assert realm is not None
            sub, created, added = realm.broker.subscribe(self, s.topic, match)
            self.send([SUBSCRIBED, s.request, sub.id])
            if created:
                realm.publish_meta(meta.SUBSCRIPTION_ON_CREATE, [self.session_id, sub.describe()])
            if added:
                realm.publish_meta(meta.SUBSCRIPTION_ON_SUBSCRIBE, [self.session_id, sub.id])
            if s.get_retained:
                realm.broker.send_retained(self, sub)

        self._when_allowed(
            msg, "subscribe", s.topic, {"match": match}, go, check_uri=False, match=match
        )

    def _on_unsubscribe(self, u: m.Unsubscribe) -> None:
        realm = self.realm
        assert realm is not None
        sub = realm.broker.by_id.get(u.subscription)
        if sub is None or sub.subscribers.get(self.session_id) is not self:
            raise WampError(errors.NO_SUCH_SUBSCRIPTION)
        deleted = realm.broker.unsubscribe(self, sub)
        self.send([UNSUBSCRIBED, u.request])
        realm.publish_meta(meta.SUBSCRIPTION_ON_UNSUBSCRIBE, [self.session_id, sub.id])
        if deleted:
            realm.publish_meta(meta.SUBSCRIPTION_ON_DELETE, [self.session_id, sub.id])

    # -- dealer ----------------------------------------------------------

    def _on_call(self, c: m.Call, msg: list[Any]) -> None:
        options = msg[2]

        def go() -> None:
            realm = self.realm
            assert realm is not None
            builtin = realm.dealer.builtins.get(c.procedure)
            if builtin is not None:
                result = builtin(self, c.args or [], c.kwargs or {})
                self.send([RESULT, c.request, {}, [result]])
                return
            realm.dealer.call(self, c.request, c.procedure, c.args, c.kwargs, options)

        self._when_allowed(msg, "call", c.procedure, options, go)

    def _on_register(self, r: m.Register, msg: list[Any]) -> None:
        match = r.match or "exact"
        invoke = r.invoke or "single"

        def go() -> None:
            realm = self.realm
            assert realm is not None
            disclose = msg[2].get("disclose_caller") is True
            reg, created = realm.dealer.register(self, r.procedure, match, invoke, disclose)
            self.send([REGISTERED, r.request, reg.id])
            if created:
                realm.publish_meta(meta.REGISTRATION_ON_CREATE, [self.session_id, reg.describe()])
            realm.publish_meta(meta.REGISTRATION_ON_REGISTER, [self.session_id, reg.id])

        self._when_allowed(
            msg, "register", r.procedure, {"match": match}, go, check_uri=False, match=match
        )

    def _on_unregister(self, u: m.Unregister) -> None:
        realm = self.realm
        assert realm is not None
        reg = realm.dealer.by_id.get(u.registration)
        if reg is None or self not in reg.callees:
            raise WampError(errors.NO_SUCH_REGISTRATION)
        deleted = realm.dealer.unregister(self, reg)
        self.send([UNREGISTERED, u.request])
        realm.publish_meta(meta.REGISTRATION_ON_UNREGISTER, [self.session_id, reg.id])
        if deleted:
            realm.publish_meta(meta.REGISTRATION_ON_DELETE, [self.session_id, reg.id])
