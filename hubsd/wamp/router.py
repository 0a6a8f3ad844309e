"""
The router: realms, hooks for the room core, statistics, shutdown.

Hooks (all optional):

- L{Router.set_authenticator}: custom authentication methods (L{hubsd.wamp.auth}).
- L{Router.set_authorizer}: dynamic authorization (L{hubsd.wamp.authorization}).
- L{Router.add_publish_hook}: see L{Publication}. Hooks run synchronously,
  in the order they were added, before fan-out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hubsd.wamp import errors, meta
from hubsd.wamp.auth import Authenticated, Authenticator, AuthService
from hubsd.wamp.authorization import Authorizer, DynamicAuthorizer
from hubsd.wamp.broker import Broker
from hubsd.wamp.dealer import Dealer
from hubsd.wamp.errors import WampError
from hubsd.wamp.ids import new_unique_id
from hubsd.wamp.outgoing import OutputBatcher
from hubsd.wamp.patterns import PatternSet
from hubsd.wamp.payload import Payload
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

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class PublishRejected(WampError):
    """Raised by a publish hook to refuse a publication with an error URI."""


class Publication:
    """
    What a publish hook sees. C{payload} is lazy: C{.raw} is the serialized
    slice, C{.args}/C{.kwargs} decode on first use (once per publication).
    """

    __slots__ = ("realm", "session", "topic", "payload", "options")

    def __init__(
        self,
        realm: str,
        session: dict[str, Any],
        topic: str,
        payload: Payload,
        options: dict[str, Any],
    ) -> None:
        self.realm = realm
        self.session = session
        self.topic = topic
        self.payload = payload
        self.options = options

    @property
    def args(self) -> list[Any] | None:
        return self.payload.args

    @property
    def kwargs(self) -> dict[str, Any] | None:
        return self.payload.kwargs


#: hook(publication) -> None (accept) | (args, kwargs) | Payload (rewrite); raise to reject.
PublishHook = Callable[[Publication], Any]


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
        self.sessions[session.session_id] = session
        self.router.stats.sessions_joined += 1
        self.publish_meta("wamp.session.on_join", [session.details()])

    def detach(self, session: RouterSession) -> None:
        if self.sessions.pop(session.session_id, None) is None:
            return
        self.router.stats.sessions_left += 1
        sid = session.session_id
        for sub, deleted in self.broker.remove_peer(session):
            self.publish_meta("wamp.subscription.on_unsubscribe", [sid, sub.id])
            if deleted:
                self.publish_meta("wamp.subscription.on_delete", [sid, sub.id])
        for reg, deleted in self.dealer.remove_peer(session):
            self.publish_meta("wamp.registration.on_unregister", [sid, reg.id])
            if deleted:
                self.publish_meta("wamp.registration.on_delete", [sid, reg.id])
        self.publish_meta("wamp.session.on_leave", [sid, session.authid, session.authrole])

    def publish_meta(self, topic: str, args: list[Any]) -> None:
        """Publish a router-originated meta event (no authorization)."""
        if next(self.broker.matching(topic), None) is None:
            return
        self.broker.publish(None, topic, Payload.from_values(args), {}, False)


class Router:
    """hubsd's WAMP router (broker + dealer) for the configured realms."""

    def __init__(self, settings: RouterSettings, reactor: IReactorTime) -> None:
        self.settings = settings
        self.reactor = reactor
        self.stats = RouterStats()
        self.batcher = OutputBatcher(reactor)
        self.shedder = LoadShedder(reactor, settings.overload_lag, self._overloaded)
        self.shedder.start()
        self.auth = AuthService(settings)
        self.authorizer = Authorizer(settings)
        self.droppable = PatternSet(settings.droppable_topics)
        self._hooks: list[tuple[PatternSet, PublishHook]] = []
        self._hooks_for: dict[str, tuple[PublishHook, ...]] = {}
        self.has_hooks = False
        self.session_ids: set[int] = set()
        self.realms = {name: Realm(self, name) for name in settings.realms}
        self.closing = False

    def _overloaded(self, overloaded: bool) -> None:
        # Behind: send to each receiver less often, with more events a send.
        self.batcher.delay = OVERLOAD_FLUSH_DELAY if overloaded else 0.0

    # -- hooks -------------------------------------------------------------

    def set_authenticator(self, authmethod: str, fn: Authenticator) -> None:
        """Install C{fn(realm, authid, details)} for C{authmethod}."""
        self.auth.custom[authmethod] = fn

    def set_authorizer(self, fn: DynamicAuthorizer | None) -> None:
        """Install C{fn(session_details, action, uri, options)} -> bool | Deferred[bool]."""
        self.authorizer.dynamic = fn

    def add_publish_hook(self, pattern: str, hook: PublishHook) -> None:
        """Run C{hook} for publications whose topic matches C{pattern}."""
        self._hooks.append((PatternSet([pattern]), hook))
        self._hooks_for.clear()
        self.has_hooks = True

    def run_publish_hooks(
        self, session: RouterSession, topic: str, payload: Payload, options: dict[str, Any]
    ) -> Payload:
        """Apply the matching hooks; return the (maybe rewritten) payload."""
        hooks = self._hooks_for.get(topic)
        if hooks is None:
            if len(self._hooks_for) > 4096:
                self._hooks_for.clear()
            hooks = self._hooks_for[topic] = tuple(h for p, h in self._hooks if p.matches(topic))
        if not hooks:
            return payload
        assert session.realm is not None
        pub = Publication(session.realm.name, session.details(), topic, payload, options)
        for hook in hooks:
            try:
                out = hook(pub)
            except WampError:
                raise
            except Exception as e:
                uri = getattr(e, "error", None)
                if isinstance(uri, str):
                    raise WampError(uri, *[a for a in getattr(e, "args", ())[1:]]) from None
                log.failure("publish hook failed on {topic}", topic=topic)
                raise WampError(errors.RUNTIME_ERROR) from None
            if out is None:
                continue
            if isinstance(out, Payload):
                pub.payload = out
            else:
                args, kwargs = out
                pub.payload = Payload.from_values(args, kwargs)
        return pub.payload

    # -- sessions ----------------------------------------------------------

    def new_session_id(self) -> int:
        sid = new_unique_id(self.session_ids)
        self.session_ids.add(sid)
        return sid

    def release_session_id(self, sid: int) -> None:
        self.session_ids.discard(sid)

    def attach_local_session(
        self,
        realm: str,
        authid: str,
        authrole: str,
        authextra: dict[str, Any] | None = None,
    ) -> LocalSession:
        """Join C{realm} in-process; see L{hubsd.wamp.local.LocalSession}."""
        from hubsd.wamp.local import LocalSession

        r = self.realms.get(realm)
        if r is None:
            raise WampError(errors.NO_SUCH_REALM, realm)
        session = LocalSession(self)
        session.session_id = self.new_session_id()
        session.join(r, Authenticated(authid, authrole, authextra, "local", "local"))
        return session

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
