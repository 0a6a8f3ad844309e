"""
The router: realms, hooks for the in-process parts, statistics, shutdown.

The room core, the Phoenix gateway and the SFU signalling touch the router
only through these (all optional, all synchronous unless said otherwise):

- L{Router.set_authenticator}: custom authentication methods, e.g. the
  C{ticket} that carries a JWT (L{hubsd.wamp.auth}).
- L{Router.add_gate}: a prefix of URIs (C{hubsd.}) whose rights one
  function decides alone (L{hubsd.wamp.authorization}).
- L{Router.set_authorizer}: dynamic authorization (may answer a Deferred;
  the session's later messages wait for it, in order).
- L{Router.add_publish_hook}: inspect, rewrite, narrow or reject a
  publication before fan-out (L{Publication}).
- L{Router.add_session_observer}: learn of joins and leaves at once.
- L{Router.attach_local_session}: an in-process session (L{hubsd.wamp.local});
  L{Router.attach}: any other L{RouterSession}, e.g. one with its own
  L{hubsd.wamp.session.EventEncoder}, authenticated outside WAMP.

The router is a Twisted service (L{Router.startService} starts its load
shedder; L{Router.stopService} shuts every session down).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hubsd.wamp import errors, meta
from hubsd.wamp.auth import Authenticated, Authenticator, AuthService
from hubsd.wamp.authorization import Authorizer, DynamicAuthorizer, Gate
from hubsd.wamp.broker import Broker
from hubsd.wamp.dealer import Dealer
from hubsd.wamp.errors import WampError
from hubsd.wamp.ids import new_unique_id
from hubsd.wamp.outgoing import OutputBatcher
from hubsd.wamp.patterns import PatternSet
from hubsd.wamp.payload import Payload
from hubsd.wamp.session import SessionInfo
from hubsd.wamp.settings import RouterSettings
from hubsd.wamp.shedding import LoadShedder

if TYPE_CHECKING:
    from hubsd.wamp.local import LocalSession
    from hubsd.wamp.session import RouterSession

log = Logger()

#: How long output waits to be sent while the router sheds load (seconds).
OVERLOAD_FLUSH_DELAY = 0.01


@dataclass
class RouterStats:
    """Counters, exposed as metrics by the daemon."""

    sessions_joined: int = 0
    sessions_left: int = 0
    publishes: int = 0
    events: int = 0
    publishes_rejected: int = 0
    events_dropped: int = 0
    events_superseded: int = 0
    slow_disconnects: int = 0
    protocol_violations: int = 0
    events_too_big: int = 0
    publishes_shed: int = 0
    hook_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class PublishRejected(WampError):
    """Raised by a publish hook to refuse a publication with an error URI."""


class Publication:
    """
    What a publish hook sees, and what it may change.

    - C{realm}, C{topic}, C{options} (the PUBLISH options, do not mutate)
      and C{session}: the publisher's L{SessionInfo} (C{"session"} is its
      WAMP session id, plus authid, authrole, authextra, realm...).
    - C{payload} is lazy: C{.raw} is the serialized slice, C{.args} and
      C{.kwargs} decode on first use (once per publication).
    - C{exclude}: WAMP session ids that must not receive this event, in
      addition to the publisher's own C{exclude} option (a hook adds to
      it, e.g. the members who blocked the publisher). Empty at first.
    - C{exclude_me}: whether the publisher is left out; starts as the
      publisher's option (default True), a hook may change it.
    """

    __slots__ = ("realm", "session", "topic", "payload", "options", "exclude", "exclude_me")

    def __init__(
        self,
        realm: str,
        session: SessionInfo,
        topic: str,
        payload: Payload,
        options: dict[str, Any],
    ) -> None:
        self.realm = realm
        self.session = session
        self.topic = topic
        self.payload = payload
        self.options = options
        self.exclude: Collection[int] = set()
        self.exclude_me: bool = options.get("exclude_me", True) is not False

    @property
    def args(self) -> list[Any] | None:
        return self.payload.args

    @property
    def kwargs(self) -> dict[str, Any] | None:
        return self.payload.kwargs

    def effective_options(self) -> dict[str, Any]:
        """The PUBLISH options with the hooks' exclusions applied."""
        options = self.options
        me = options.get("exclude_me", True) is not False
        if not self.exclude and self.exclude_me == me:
            return options
        options = dict(options)
        if self.exclude:
            exclude: Collection[Any] = [*(options.get("exclude") or ()), *self.exclude]
            try:
                # Checked once per receiver in the fan-out: a set, if it can be.
                exclude = frozenset(exclude)
            except TypeError:
                pass  # a publisher's list with unhashable junk in it
            options["exclude"] = exclude
        options["exclude_me"] = self.exclude_me
        return options


#: hook(publication) -> None (accept) | (args, kwargs) | Payload (rewrite);
#: raise WampError(uri, message) (or anything with a C{uri} or C{error} str
#: attribute) to reject with that URI.
PublishHook = Callable[[Publication], Any]
#: on_join(details) / on_leave(details), details a L{SessionInfo}.
SessionObserver = Callable[[SessionInfo], Any]


class Realm:
    """One realm: its sessions, broker and dealer."""

    def __init__(self, router: Router, name: str) -> None:
        self.router = router
        self.name = name
        self.broker = Broker()
        self.dealer = Dealer(router.reactor, router.settings.call_timeout)
        self.sessions: dict[int, RouterSession] = {}
        self._droppable: dict[str, bool] = {}
        meta.install(self)

    def is_droppable(self, topic: str) -> bool:
        """True if settings mark C{topic} droppable (cached per topic)."""
        d = self._droppable.get(topic)
        if d is None:
            if len(self._droppable) > 4096:
                self._droppable.clear()
            d = self._droppable[topic] = self.router.droppable.matches(topic)
        return d

    def attach(self, session: RouterSession) -> None:
        """A session joined: count it, publish the meta event, tell observers."""
        self.sessions[session.session_id] = session
        self.router.stats.sessions_joined += 1
        details = session.details()
        self.publish_meta(meta.SESSION_ON_JOIN, [details])
        self.router.notify_observers(0, details)

    def detach(self, session: RouterSession) -> None:
        """A session left (however): forget what it held, then publish the
        meta events and tell the observers, so that whatever they publish
        in reaction no longer reaches the leaver."""
        if self.sessions.pop(session.session_id, None) is None:
            return
        self.router.stats.sessions_left += 1
        sid = session.session_id
        for sub, deleted in self.broker.remove_peer(session):
            self.publish_meta(meta.SUBSCRIPTION_ON_UNSUBSCRIBE, [sid, sub.id])
            if deleted:
                self.publish_meta(meta.SUBSCRIPTION_ON_DELETE, [sid, sub.id])
        for reg, deleted in self.dealer.remove_peer(session):
            self.publish_meta(meta.REGISTRATION_ON_UNREGISTER, [sid, reg.id])
            if deleted:
                self.publish_meta(meta.REGISTRATION_ON_DELETE, [sid, reg.id])
        self.publish_meta(meta.SESSION_ON_LEAVE, [sid, session.authid, session.authrole])
        self.router.notify_observers(1, session.details())
        self.router.release_session_id(sid)

    def publish_meta(self, topic: str, args: list[Any]) -> None:
        """Publish a router-originated meta event (no authorization)."""
        if next(self.broker.matching(topic), None) is None:
            return
        self.broker.publish(None, topic, Payload.from_values(args), {}, False)
        self.router.deliver_local()


class Router(Service):
    """
    hubsd's WAMP router (broker + dealer) for the configured realms, as a
    Twisted service: L{startService} starts the load shedder's timer,
    L{stopService} says GOODBYE to every session (L{shutdown}).
    """

    def __init__(self, settings: RouterSettings, reactor: IReactorTime) -> None:
        self.settings = settings
        self.reactor = reactor
        self.stats = RouterStats()
        self.batcher = OutputBatcher(reactor)
        self.shedder = LoadShedder(reactor, settings.overload_lag, self._overloaded)
        self.auth = AuthService(settings)
        self.authorizer = Authorizer(settings)
        self.droppable = PatternSet(settings.droppable_topics)
        self._hooks: list[tuple[PatternSet, PublishHook]] = []
        self._hooks_for: dict[str, tuple[PublishHook, ...]] = {}
        self._hook_failed: set[object] = set()
        self.has_hooks = False
        self._observers: list[tuple[SessionObserver | None, SessionObserver | None]] = []
        #: Events for in-process handlers, delivered after the current
        #: fan-out (L{deliver_local}): (session, subscription id, event).
        self.local_queue: deque[tuple[Any, int, Any]] = deque()
        self._delivering = False
        self.session_ids: set[int] = set()
        self.realms = {name: Realm(self, name) for name in settings.realms}
        self.closing = False

    def startService(self) -> None:
        """Start sampling the reactor's lag for load shedding."""
        Service.startService(self)
        self.shedder.start()

    def stopService(self) -> Deferred[None]:
        """L{shutdown} with C{wamp.close.system_shutdown}."""
        Service.stopService(self)
        return self.shutdown()

    def _overloaded(self, overloaded: bool) -> None:
        # Behind: send to each receiver less often, with more events a send.
        self.batcher.delay = OVERLOAD_FLUSH_DELAY if overloaded else 0.0

    # -- hooks -------------------------------------------------------------

    def set_authenticator(self, authmethod: str, fn: Authenticator) -> None:
        """
        Install C{fn(realm, authid, details)} for C{authmethod}. For
        C{ticket}, C{fn} is asked for every ticket that matches no static
        principal, with the ticket in C{details["ticket"]}; its
        L{Authenticated} (or a Deferred of one) sets authid, authrole and
        authextra. See L{hubsd.wamp.auth}.
        """
        self.auth.custom[authmethod] = fn

    def set_authorizer(self, fn: DynamicAuthorizer | None) -> None:
        """Install C{fn(session_details, action, uri, options)} -> bool | Deferred[bool]."""
        self.authorizer.dynamic = fn

    def add_gate(self, prefix: str, gate: Gate) -> None:
        """
        Let C{gate(details, action, uri, options) -> bool} alone decide every
        publish, subscribe, call and register by a non-trusted session on
        URIs starting with C{prefix} (and pattern subscriptions or
        registrations that could match such URIs). Static rules and the
        dynamic authorizer are not asked there; the longest matching prefix
        wins; C{wamp.*} stays reserved; trusted sessions bypass gates.
        Called every time (never cached); a raise denies. A denied publish
        is C{wamp.error.not_authorized} when acknowledged, else dropped,
        and counted in C{publishes_rejected}. See L{hubsd.wamp.authorization}.
        """
        self.authorizer.add_gate(prefix, gate)
        for realm in self.realms.values():
            for session in realm.sessions.values():
                session.forget_decisions()

    def add_session_observer(
        self, on_join: SessionObserver | None = None, on_leave: SessionObserver | None = None
    ) -> None:
        """
        Call C{on_join(details)} after a session joined a realm and
        C{on_leave(details)} as soon as it left, was killed, or its
        transport dropped (after its subscriptions and registrations are
        gone). Both get the same L{SessionInfo} (C{details["realm"]} is the
        realm's name). An observer that raises is logged, nothing else.
        """
        self._observers.append((on_join, on_leave))

    def notify_observers(self, which: int, details: SessionInfo) -> None:
        """Tell the observers (C{which}: 0 join, 1 leave) about a session."""
        for pair in self._observers:
            fn = pair[which]
            if fn is None:
                continue
            try:
                fn(details)
            except Exception:
                log.failure(
                    "session observer failed for session {session}", session=details["session"]
                )

    def add_publish_hook(self, pattern: str, hook: PublishHook) -> None:
        """Run C{hook} for publications whose topic matches C{pattern}
        (authorization-pattern syntax, L{hubsd.wamp.patterns}); see
        L{Publication}. Hooks run synchronously, in the order they were
        added, after authorization and before fan-out."""
        self._hooks.append((PatternSet([pattern]), hook))
        self._hooks_for.clear()
        self.has_hooks = True

    def run_publish_hooks(
        self, session: RouterSession, topic: str, payload: Payload, options: dict[str, Any]
    ) -> tuple[Payload, dict[str, Any]]:
        """Apply the matching hooks; return the (maybe rewritten) payload
        and options, or raise L{WampError} to reject."""
        hooks = self._hooks_for.get(topic)
        if hooks is None:
            if len(self._hooks_for) > 4096:
                self._hooks_for.clear()
            hooks = self._hooks_for[topic] = tuple(h for p, h in self._hooks if p.matches(topic))
        if not hooks:
            return payload, options
        assert session.realm is not None
        pub = Publication(session.realm.name, session.details(), topic, payload, options)
        for hook in hooks:
            try:
                out = hook(pub)
                if out is None:
                    continue
                if isinstance(out, Payload):
                    pub.payload = out
                else:
                    args, kwargs = out
                    pub.payload = Payload.from_values(args, kwargs)
            except WampError:
                raise
            except Exception as e:
                raise self._hook_error(hook, topic, e) from None
        return pub.payload, pub.effective_options()

    def _hook_error(self, hook: PublishHook, topic: str, e: Exception) -> WampError:
        """The rejection for a hook's exception. One with an error URI
        (C{uri} or C{error} attribute) is a rejection, not a failure; a
        bug is logged with its traceback the first time per hook only."""
        uri = getattr(e, "error", None)
        if isinstance(uri, str):
            return WampError(uri, *getattr(e, "args", ())[1:])
        uri = getattr(e, "uri", None)
        if isinstance(uri, str):
            return WampError(uri, str(e))
        self.hook_failed(hook, "publish hook failed on {topic}", topic=topic)
        return WampError(errors.RUNTIME_ERROR, "publish hook failed")

    def hook_failed(self, key: object, text: str, failure: Any = None, **fields: Any) -> None:
        """
        An in-process hook (publish hook, local handler or endpoint) failed:
        count it in C{stats.hook_errors}, and log it with its traceback the
        first time per C{key} only, so that bad input a hook chokes on
        cannot fill the log with one traceback per message.
        """
        self.stats.hook_errors += 1
        k = id(key) if not isinstance(key, (str, tuple)) else key
        if k in self._hook_failed:
            return
        if len(self._hook_failed) < 4096:
            self._hook_failed.add(k)
        log.failure(text + " (later failures of it are only counted)", failure, **fields)

    # -- sessions ----------------------------------------------------------

    def new_session_id(self) -> int:
        sid = new_unique_id(self.session_ids)
        self.session_ids.add(sid)
        return sid

    def release_session_id(self, sid: int) -> None:
        self.session_ids.discard(sid)

    def attach(self, session: RouterSession, realm: str, authenticated: Authenticated) -> None:
        """
        Join C{session} (any L{RouterSession}, e.g. a gateway's session that
        authenticated outside the WAMP handshake) to C{realm} as
        C{authenticated}: it gets a session id and the observers are told.
        Raises L{WampError} C{wamp.error.no_such_realm}, or
        C{wamp.close.system_shutdown} while the router shuts down.
        """
        r = self.realms.get(realm)
        if r is None:
            raise WampError(errors.NO_SUCH_REALM, realm)
        if self.closing:
            raise WampError(errors.CLOSE_SYSTEM_SHUTDOWN, "router is shutting down")
        session.session_id = self.new_session_id()
        session.join(r, authenticated)

    def attach_local_session(
        self,
        realm: str,
        authid: str,
        authrole: str,
        authextra: dict[str, Any] | None = None,
    ) -> LocalSession:
        """Join C{realm} in-process; see L{hubsd.wamp.local.LocalSession}."""
        from hubsd.wamp.local import LocalSession

        session = LocalSession(self)
        self.attach(session, realm, Authenticated(authid, authrole, authextra, "local", "local"))
        return session

    def unsubscribe_prefix(self, realm: str, session_id: int, prefix: str) -> int:
        """
        End every subscription of session C{session_id} in C{realm} whose
        topic starts with C{prefix} (the room core does this when a member
        leaves or is removed from a room: it must stop receiving the room's
        events at once). The session is not told; meta events are published
        as for an UNSUBSCRIBE. Returns how many subscriptions ended.
        """
        r = self.realms.get(realm)
        session = r.sessions.get(session_id) if r is not None else None
        if r is None or session is None:
            return 0
        ended = 0
        for sub in [s for s in session.subscriptions if s.uri.startswith(prefix)]:
            deleted = r.broker.unsubscribe(session, sub)
            ended += 1
            r.publish_meta("wamp.subscription.on_unsubscribe", [session_id, sub.id])
            if deleted:
                r.publish_meta("wamp.subscription.on_delete", [session_id, sub.id])
        return ended

    def deliver_local(self) -> None:
        """Run the in-process handlers of queued events, in order. Handlers
        never run in the middle of a fan-out; events they publish are
        queued behind and delivered by the same loop."""
        if self._delivering or not self.local_queue:
            return
        self._delivering = True
        queue = self.local_queue
        try:
            while queue:
                session, sub_id, event = queue.popleft()
                session.deliver(sub_id, event)
        finally:
            self._delivering = False

    def shutdown(self, reason: str = errors.CLOSE_SYSTEM_SHUTDOWN) -> Deferred[None]:
        """GOODBYE every session, close transports; fires when all are closed."""
        self.closing = True
        self.shedder.stop()
        waits = []
        for realm in self.realms.values():
            for session in list(realm.sessions.values()):
                waits.append(session.shutdown(reason))
        if not waits:
            return succeed(None)
        d: Deferred[Any] = DeferredList(waits, consumeErrors=True)
        # A transport that never reports its close must not block shutdown.
        d.addTimeout(10.0, self.reactor, onTimeoutCancel=lambda *_: None)
        return d.addCallback(lambda _: None)
