"""
The WAMP meta API: built-in procedures answered by the router itself.

Session: C{wamp.session.count/list/get/kill/kill_by_authid/kill_by_authrole}. Subscriptions:
C{wamp.subscription.list/lookup/match/get/list_subscribers/count_subscribers}.
Registrations: C{wamp.registration.list/lookup/match/get/list_callees/count_callees}.
Meta events (C{wamp.session.on_join/on_leave}, C{wamp.subscription.on_*},
C{wamp.registration.on_*}) are published by the realm and the session.
Calling them still needs a C{call} rule (or authrole C{trusted}).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hubsd.wamp import errors
from hubsd.wamp.errors import WampError
from hubsd.wamp.messages import is_uri

if TYPE_CHECKING:
    from hubsd.wamp.router import Realm
    from hubsd.wamp.session import RouterSession

# The meta events' topics (published by the realm and the session).
SESSION_ON_JOIN = "wamp.session.on_join"
SESSION_ON_LEAVE = "wamp.session.on_leave"
SUBSCRIPTION_ON_CREATE = "wamp.subscription.on_create"
SUBSCRIPTION_ON_SUBSCRIBE = "wamp.subscription.on_subscribe"
SUBSCRIPTION_ON_UNSUBSCRIBE = "wamp.subscription.on_unsubscribe"
SUBSCRIPTION_ON_DELETE = "wamp.subscription.on_delete"
REGISTRATION_ON_CREATE = "wamp.registration.on_create"
REGISTRATION_ON_REGISTER = "wamp.registration.on_register"
REGISTRATION_ON_UNREGISTER = "wamp.registration.on_unregister"
REGISTRATION_ON_DELETE = "wamp.registration.on_delete"


def _arg(args: list[Any], i: int, kind: type) -> Any:
    if len(args) <= i or not isinstance(args[i], kind):
        raise WampError(errors.INVALID_ARGUMENT, f"argument {i} must be {kind.__name__}")
    return args[i]


def install(realm: Realm) -> None:
    """Register the meta procedures of C{realm}'s dealer."""
    broker, dealer, b = realm.broker, realm.dealer, realm.dealer.builtins

    def filtered(args: list[Any], kwargs: dict[str, Any]) -> list[RouterSession]:
        # The spec passes the filter positionally; a keyword is accepted too.
        roles = args[0] if args and isinstance(args[0], list) else kwargs.get("filter_authroles")
        return [s for s in realm.sessions.values() if roles is None or s.authrole in roles]

    b["wamp.session.count"] = lambda c, a, k: len(filtered(a, k))
    b["wamp.session.list"] = lambda c, a, k: [s.session_id for s in filtered(a, k)]

    def session_get(caller: RouterSession, args: list[Any], kw: dict[str, Any]) -> Any:
        s = realm.sessions.get(_arg(args, 0, int))
        if s is None:
            raise WampError(errors.NO_SUCH_SESSION)
        return s.details()

    def kill_where(
        caller: RouterSession, kw: dict[str, Any], which: Callable[[RouterSession], bool]
    ) -> int:
        """Kill every other session of the realm C{which} selects; the count."""
        reason, message = _kill_reason(kw)
        victims = [s for s in realm.sessions.values() if s is not caller and which(s)]
        for s in victims:
            s.kill(reason, message)
        return len(victims)

    def session_kill(caller: RouterSession, args: list[Any], kw: dict[str, Any]) -> Any:
        sid = _arg(args, 0, int)
        # The caller is not "another session with that id" (spec).
        s = realm.sessions.get(sid)
        if s is None or s is caller:
            raise WampError(errors.NO_SUCH_SESSION)
        s.kill(*_kill_reason(kw))
        return None

    b["wamp.session.get"] = session_get
    b["wamp.session.kill"] = session_kill

    def kill_by_authid(caller: RouterSession, args: list[Any], kw: dict[str, Any]) -> int:
        authid = _arg(args, 0, str)
        return kill_where(caller, kw, lambda s: s.authid == authid)

    def kill_by_authrole(caller: RouterSession, args: list[Any], kw: dict[str, Any]) -> int:
        authrole = _arg(args, 0, str)
        return kill_where(caller, kw, lambda s: s.authrole == authrole)

    b["wamp.session.kill_by_authid"] = kill_by_authid
    b["wamp.session.kill_by_authrole"] = kill_by_authrole

    def match_policy(args: list[Any]) -> str:
        opts = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        return str(opts.get("match", "exact"))

    def sub_get(c: RouterSession, args: list[Any], kw: dict[str, Any]) -> Any:
        sub = broker.by_id.get(_arg(args, 0, int))
        if sub is None:
            raise WampError(errors.NO_SUCH_SUBSCRIPTION)
        return sub

    b["wamp.subscription.list"] = lambda c, a, k: broker.all()
    b["wamp.subscription.lookup"] = lambda c, a, k: _id_or_none(
        broker.lookup(_arg(a, 0, str), match_policy(a))
    )
    b["wamp.subscription.match"] = lambda c, a, k: (
        [s.id for s in broker.matching(_arg(a, 0, str))] or None
    )
    b["wamp.subscription.get"] = lambda c, a, k: sub_get(c, a, k).describe()
    b["wamp.subscription.list_subscribers"] = lambda c, a, k: list(sub_get(c, a, k).subscribers)
    b["wamp.subscription.count_subscribers"] = lambda c, a, k: len(sub_get(c, a, k).subscribers)

    def reg_get(c: RouterSession, args: list[Any], kw: dict[str, Any]) -> Any:
        reg = dealer.by_id.get(_arg(args, 0, int))
        if reg is None:
            raise WampError(errors.NO_SUCH_REGISTRATION)
        return reg

    b["wamp.registration.list"] = lambda c, a, k: dealer.all()
    b["wamp.registration.lookup"] = lambda c, a, k: _id_or_none(
        dealer.lookup(_arg(a, 0, str), match_policy(a))
    )
    b["wamp.registration.match"] = lambda c, a, k: _id_or_none(dealer.best(_arg(a, 0, str)))
    b["wamp.registration.get"] = lambda c, a, k: reg_get(c, a, k).describe()
    b["wamp.registration.list_callees"] = lambda c, a, k: [
        s.session_id for s in reg_get(c, a, k).callees
    ]
    b["wamp.registration.count_callees"] = lambda c, a, k: len(reg_get(c, a, k).callees)


def _kill_reason(kw: dict[str, Any]) -> tuple[str, str | None]:
    """The GOODBYE reason and message of the kill procedures (spec defaults:
    C{wamp.close.normal}, no message)."""
    reason = kw.get("reason")
    if reason is None:
        reason = errors.CLOSE_NORMAL
    if not isinstance(reason, str) or not is_uri(reason):
        raise WampError(errors.INVALID_URI, "reason must be a URI")
    message = kw.get("message")
    if message is not None and not isinstance(message, str):
        raise WampError(errors.INVALID_ARGUMENT, "message must be a string")
    return reason, message


def _id_or_none(obj: Any) -> int | None:
    return obj.id if obj is not None else None
