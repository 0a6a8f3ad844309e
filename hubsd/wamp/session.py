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

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from autobahn.wamp import message as m
from autobahn.wamp.exception import InvalidUriError, ProtocolError
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from hubsd.wamp import errors
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


class RouterSession(ABC):
    """A session that has joined a realm. Subclasses provide the output side."""

    #: The shared serializer+framing of a wire session (None: deliver values
    #: through L{send_event}) and its outgoing queue; read by the broker.
    wire: Any = None
    out: Any = None

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
        self._allowed: dict[tuple[str, str], bool] = {}
        self._details: dict[str, Any] | None = None

    # -- output side, provided by subclasses ---------------------------

    @abstractmethod
    def send(self, msg: list[Any]) -> None:
        """Deliver one message (as values) to the peer."""

    @abstractmethod
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
        Deliver an EVENT; C{cache} is shared by the subscription's receivers.
        C{key} is None for a reliable event, else the supersede key of a
        droppable one (see L{hubsd.wamp.outgoing}).
        """

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

    def details(self) -> dict[str, Any]:
        """The session meta API shape (C{wamp.session.get}, C{on_join}).
        Built once after join (identity does not change); do not mutate."""
        if self._details is not None:
            return self._details
        details = {
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
        self.joined = True
        realm.attach(self)

    def leave(self) -> None:
        """Leave the realm: drop subscriptions, registrations, pending calls."""
        if not self.joined:
            return
        self.joined = False
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
        """Process one message of a joined session; never raises."""
        try:
            self._dispatch(msg)
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
        elif t == SUBSCRIBE:
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
        else:
            raise ProtocolViolation(f"message type {t} not allowed in a joined session")

    def _dealer(self) -> Any:
        assert self.realm is not None
        return self.realm.dealer

    # -- authorization ---------------------------------------------------

    def authorize(
        self, action: str, uri: str, options: dict[str, Any], check_uri: bool = True
    ) -> bool | Deferred[bool]:
        """Static rules (cached), else the dynamic hook."""
        key = (action, uri)
        ok = self._allowed.get(key)
        if ok is None:
            if check_uri and not is_uri(uri):
                raise WampError(errors.INVALID_URI, f"invalid URI {uri!r}")
            assert self.realm is not None
            ok = self.router.authorizer.static(self.realm.name, self.authrole, action, uri)
            if len(self._allowed) > _CACHE_MAX:
                self._allowed.clear()
            self._allowed[key] = ok
        if ok:
            return True
        if action in ("publish", "register") and uri.startswith("wamp."):
            # Reserved for the router: not even the dynamic authorizer grants it.
            return False
        return self.router.authorizer.ask_dynamic(self.details(), action, uri, options)

    def _when_allowed(
        self,
        msg: list[Any],
        action: str,
        uri: str,
        options: dict[str, Any],
        then: Any,
        check_uri: bool = True,
    ) -> None:
        ok = self.authorize(action, uri, options, check_uri)
        if ok is True:
            then()
        elif isinstance(ok, Deferred):

            def decided(allowed: object) -> None:
                if not self.joined:
                    return
                if allowed is True:
                    try:
                        then()
                    except WampError as e:
                        self._error(msg, e)
                else:
                    self._error(msg, WampError(errors.NOT_AUTHORIZED))

            def failed(f: Failure) -> None:
                log.failure("authorizer failed", f)
                if self.joined:
                    self._error(msg, WampError(errors.NOT_AUTHORIZED))

            ok.addCallbacks(decided, failed)
        else:
            raise WampError(errors.NOT_AUTHORIZED, f"not authorized to {action} {uri}")

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
                payload = router.run_publish_hooks(self, topic, payload, options)
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
                realm.publish_meta("wamp.subscription.on_create", [self.session_id, sub.describe()])
            if added:
                realm.publish_meta("wamp.subscription.on_subscribe", [self.session_id, sub.id])
            if s.get_retained:
                realm.broker.send_retained(self, sub)

        self._when_allowed(msg, "subscribe", s.topic, {"match": match}, go, check_uri=False)

    def _on_unsubscribe(self, u: m.Unsubscribe) -> None:
        realm = self.realm
        assert realm is not None
        sub = realm.broker.by_id.get(u.subscription)
        if sub is None or sub.subscribers.get(self.session_id) is not self:
            raise WampError(errors.NO_SUCH_SUBSCRIPTION)
        deleted = realm.broker.unsubscribe(self, sub)
        self.send([UNSUBSCRIBED, u.request])
        realm.publish_meta("wamp.subscription.on_unsubscribe", [self.session_id, sub.id])
        if deleted:
            realm.publish_meta("wamp.subscription.on_delete", [self.session_id, sub.id])

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
        if r.procedure.startswith("wamp.") and self.authrole != "trusted":
            raise WampError(errors.INVALID_URI, "wamp.* procedures are reserved")

        def go() -> None:
            realm = self.realm
            assert realm is not None
            disclose = msg[2].get("disclose_caller") is True
            reg, created = realm.dealer.register(self, r.procedure, match, invoke, disclose)
            self.send([REGISTERED, r.request, reg.id])
            if created:
                realm.publish_meta("wamp.registration.on_create", [self.session_id, reg.describe()])
            realm.publish_meta("wamp.registration.on_register", [self.session_id, reg.id])

        self._when_allowed(msg, "register", r.procedure, {"match": match}, go, check_uri=False)

    def _on_unregister(self, u: m.Unregister) -> None:
        realm = self.realm
        assert realm is not None
        reg = realm.dealer.by_id.get(u.registration)
        if reg is None or self not in reg.callees:
            raise WampError(errors.NO_SUCH_REGISTRATION)
        deleted = realm.dealer.unregister(self, reg)
        self.send([UNREGISTERED, u.request])
        realm.publish_meta("wamp.registration.on_unregister", [self.session_id, reg.id])
        if deleted:
            realm.publish_meta("wamp.registration.on_delete", [self.session_id, reg.id])
