"""
The networked-aframe (NAF) relay rules of a room (pure: values in, decisions out).

A member publishes a NAF envelope ``{"dataType": str, "data": ...}`` on the
room's NAF topic (an optional ``clientId`` names the member a directed full
sync is meant for; any other key, a client's ``from_session_id`` above all,
is never relayed). The caller (the room's relay) decodes the message once
and calls::

    verdict = inspect(envelope, sender, permissions, table, is_moderator=...)

- ``sender``: the sender's room session id (str), ``permissions``: its 17
  hub permissions (``permissions_for``), ``table``: the room's
  `hubsd.rooms.entities.EntityTable`, ``is_moderator``: may remove any
  entity (moderators and owners).
- Malformed input raises `InvalidPayload` whose message names the field
  (``data.d[2].lastOwnerTime must be a finite number``); nothing was applied.
- Otherwise a `Verdict`: relay ``verdict.data`` under ``verdict.data_type``
  iff ``verdict.relay``; build the receivers' envelope with `outgoing` (it
  sets ``from_session_id`` to the sender, the only copy). ``changed`` False
  means ``data`` is exactly what the client sent (same object, untouched),
  so already encoded bytes of it may be reused; True means it was stamped,
  completed or had ``um`` elements removed, and must be re-encoded.
  ``dropped`` holds one reason per refused entity sync (or for the refused
  message); ``reason`` is set when the whole message is dropped.
  ``corrections`` are entity states (``u`` data) to send back to the sender
  ONLY: the sender claimed an ownership the server refused, and applying
  the server's state (which beats its claim under NAF's rule) makes it agree
  at once instead of after the winner's next update. Send each as
  `correction_envelope` (state) builds it: a ``u`` from the entity's owner.
  ``envelope["data"]`` is modified in place when ``changed`` (a dropped
  first sync may have been stamped too); never relay the envelope itself.
- Counters: every drop is counted in the table (``table.counters()``).
- The late-joiner state is ``table.snapshot()``; a member leaving for good
  is ``table.member_left(session_id)`` (see `hubsd.rooms.entities`). An
  accepted ``r`` removes the entity's descendants from the table too, as
  NAF clients drop them with their parent; nothing extra needs relaying.

Rules (hubs-protocol.md 5.2 and 8.12, issue 7 part 8):

- ``u``: a first sync of a non-persistent entity needs the spawn permission
  of its template suffix (``permissions.may_spawn``); refused -> dropped
  (``denied``). ``persistent`` missing counts as non-persistent (Hubs only
  checks ``persistent == false``, which omitting the key bypassed). A
  permitted first sync is stamped: owner and creator := the sender. Then
  the ownership rule of the table applies (`EntityTable.apply`), and taking
  an entity from another owner needs the same permission as spawning its
  template (``permissions.may_take``; refused -> ``denied``, with no
  correction: the taker's claim beats the table's state under NAF's rule,
  so its page restores the entity itself).
- ``um``: dropped whole if any element is a first sync (as Hubs does,
  ``first_sync_in_um``); otherwise each element goes through the table and
  refused elements are removed from ``d`` (all refused -> message dropped).
- ``r``: relayed only when the table accepted the removal (owner, creator
  or moderator).
- any other dataType (``nn``, ``drawing-<id>``, ...): opaque, relayed as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from hubsd.rooms.entities import DROP_NOT_OWNER, EntityTable
from hubsd.rooms.errors import InvalidPayload
from hubsd.rooms.permissions import may_spawn

#: Longest networkId, owner, creator or parent id.
MAX_ID_LENGTH = 128
MAX_TEMPLATE_LENGTH = 256
MAX_DATA_TYPE_LENGTH = 256
MAX_COMPONENTS = 1024
#: Default cap on the entity syncs of one ``um``.
MAX_SYNCS_PER_MESSAGE = 256
#: |lastOwnerTime| bound: JavaScript's safe integers (ms clocks fit easily).
_TIME_BOUND = float(2**53)

_NONE: tuple[str, ...] = ()
_NO_CORRECTIONS: tuple[dict[str, Any], ...] = ()
_MISSING: Any = object()


@dataclass(slots=True)
class Envelope:
    """A checked NAF envelope. ``syncs``: the entity syncs of ``u``/``um``."""

    data_type: str
    data: Any
    client_id: str | None
    syncs: list[dict[str, Any]] | None
    network_id: str | None = None
    has_first_sync: bool = False


@dataclass(slots=True)
class Verdict:
    """What to do with one NAF message; see the module docstring."""

    relay: bool
    data_type: str
    data: Any
    changed: bool
    reason: str | None = None
    dropped: tuple[str, ...] = _NONE
    corrections: tuple[dict[str, Any], ...] = _NO_CORRECTIONS
    client_id: str | None = None


def _bad(field: str, problem: str) -> InvalidPayload:
    return InvalidPayload(f"{field} {problem}")


def _check_id(value: object, field: str) -> str:
    if type(value) is not str or not value or len(value) > MAX_ID_LENGTH:
        raise _bad(field, _ID_PROBLEM)
    return value


_ID_PROBLEM = f"must be a non-empty string of at most {MAX_ID_LENGTH} characters"
_STR_PROBLEM = f"must be a string of at most {MAX_ID_LENGTH} characters"


class _Bad(Exception):
    """A bad field of an entity sync; the caller adds where the sync was."""

    def __init__(self, field: str, problem: str) -> None:
        Exception.__init__(self, field, problem)
        self.field = field
        self.problem = problem


def _check(sync: object) -> bool:
    # Runs for every entity sync: plain lookups, no string building unless
    # something is wrong. Returns the sync's isFirstSync.
    if type(sync) is not dict:
        raise _Bad("", "must be an object")
    get = sync.get
    value = get("networkId")
    if type(value) is not str or not value or len(value) > MAX_ID_LENGTH:
        raise _Bad(".networkId", _ID_PROBLEM)
    first = get("isFirstSync", False)
    if first is not False and first is not True:
        raise _Bad(".isFirstSync", "must be true or false")
    value = get("owner", _MISSING)
    if value is not _MISSING:
        if type(value) is not str or len(value) > MAX_ID_LENGTH:
            raise _Bad(".owner", _STR_PROBLEM)
    elif first:
        raise _Bad(".owner", "is required in a first sync")
    value = get("lastOwnerTime", _MISSING)
    if value is not _MISSING:
        kind = type(value)
        # NaN fails both comparisons; huge ints compare exactly with a float
        # (no OverflowError); bool is excluded by the exact type test.
        if (kind is not int and kind is not float) or not -_TIME_BOUND <= value <= _TIME_BOUND:
            raise _Bad(".lastOwnerTime", "must be a finite number")
    elif first:
        raise _Bad(".lastOwnerTime", "is required in a first sync")
    value = get("components", _MISSING)
    if value is not _MISSING:
        if type(value) is not dict:
            raise _Bad(".components", "must be an object")
        if len(value) > MAX_COMPONENTS:
            raise _Bad(".components", f"must have at most {MAX_COMPONENTS} entries")
        for key in value:
            if type(key) is not str:
                raise _Bad(".components", "must have string keys")
    elif first:
        raise _Bad(".components", "is required in a first sync")
    value = get("template", _MISSING)
    if value is not _MISSING:
        if type(value) is not str or len(value) > MAX_TEMPLATE_LENGTH:
            raise _Bad(".template", f"must be a string of at most {MAX_TEMPLATE_LENGTH} characters")
    elif first:
        raise _Bad(".template", "is required in a first sync")
    value = get("creator", _MISSING)
    if value is not _MISSING and (type(value) is not str or len(value) > MAX_ID_LENGTH):
        raise _Bad(".creator", _STR_PROBLEM)
    value = get("persistent", _MISSING)
    if value is not _MISSING and value is not True and value is not False:
        raise _Bad(".persistent", "must be true or false")
    value = get("parent")
    if value is not None and (type(value) is not str or not value or len(value) > MAX_ID_LENGTH):
        raise _Bad(".parent", "must be null or a " + _ID_PROBLEM[5:])
    return first


def check_sync(sync: object, where: str = "data") -> dict[str, Any]:
    """
    Check one entity sync; C{where} names it in errors (``data``,
    ``data.d[3]``). Only ``networkId`` (non-empty str, at most 128
    characters) is required, except that a first sync also needs ``owner``,
    ``lastOwnerTime``, ``template`` and ``components``. Types: owner and
    creator str (<= 128), lastOwnerTime a finite number (|x| <= 2**53, not
    a bool), template str (<= 256), components an object with str keys (at
    most 1024), isFirstSync and persistent bools, parent null or an id.
    Unknown keys are left alone.

    @return: C{sync}.
    @raise InvalidPayload: naming the first bad field.
    """
    try:
        _check(sync)
    except _Bad as bad:
        raise _bad(where + bad.field, bad.problem) from None
    return cast(dict[str, Any], sync)


def parse_envelope(obj: object, max_syncs: int = MAX_SYNCS_PER_MESSAGE) -> Envelope:
    """
    Check a NAF envelope as a client sent it (decoded JSON/msgpack values).

    @raise InvalidPayload: naming the bad field.
    """
    if type(obj) is not dict:
        raise _bad("envelope", "must be an object")
    data_type = obj.get("dataType")
    if type(data_type) is not str or not data_type or len(data_type) > MAX_DATA_TYPE_LENGTH:
        raise _bad(
            "dataType", f"must be a non-empty string of at most {MAX_DATA_TYPE_LENGTH} characters"
        )
    client_id = obj.get("clientId")
    if client_id is not None and (type(client_id) is not str or len(client_id) > MAX_ID_LENGTH):
        raise _bad("clientId", f"must be a string of at most {MAX_ID_LENGTH} characters")
    data = obj.get("data", _MISSING)
    if data_type == "um":
        if type(data) is not dict:
            raise _bad("data", "must be an object")
        syncs = data.get("d")
        if type(syncs) is not list:
            raise _bad("data.d", "must be a list")
        if not syncs:
            raise _bad("data.d", "must not be empty")
        if len(syncs) > max_syncs:
            raise _bad("data.d", f"must have at most {max_syncs} entity syncs")
        first = False
        index = 0
        try:
            for sync in syncs:
                if _check(sync):
                    first = True
                index += 1
        except _Bad as bad:
            raise _bad("data.d[%d]%s" % (index, bad.field), bad.problem) from None
        return Envelope(data_type, data, client_id, syncs, None, first)
    if data_type == "u":
        try:
            first = _check(data)
        except _Bad as bad:
            raise _bad("data" + bad.field, bad.problem) from None
        return Envelope(data_type, data, client_id, [data], None, first)
    if data_type == "r":
        if type(data) is not dict:
            raise _bad("data", "must be an object")
        network_id = _check_id(data.get("networkId"), "data.networkId")
        return Envelope(data_type, data, client_id, None, network_id)
    return Envelope(data_type, None if data is _MISSING else data, client_id, None)


def inspect(
    envelope: object,
    sender: str,
    permissions: Mapping[str, bool],
    table: EntityTable,
    *,
    is_moderator: bool = False,
    max_syncs: int = MAX_SYNCS_PER_MESSAGE,
) -> Verdict:
    """
    Decide what to relay of one NAF message from C{sender}; apply it to
    C{table}. See the module docstring for the contract.

    @raise InvalidPayload: the envelope is malformed (nothing was applied).
    """
    env = parse_envelope(envelope, max_syncs)
    data_type = env.data_type
    syncs = env.syncs
    if syncs is None:
        if env.network_id is None:
            return Verdict(True, data_type, env.data, False, client_id=env.client_id)
        known = env.network_id in table
        if table.remove(sender, env.network_id, is_moderator):
            return Verdict(True, data_type, env.data, False, client_id=env.client_id)
        reason = "not_owner" if known else "unknown"
        return Verdict(False, data_type, env.data, False, reason, (reason,))

    if data_type == "u":
        sync = syncs[0]
        if (
            env.has_first_sync
            and sync.get("persistent") is not True
            and not may_spawn(permissions, sync["template"])
        ):
            table.dropped_denied += 1
            return Verdict(False, data_type, sync, False, "denied", ("denied",))
        decision = table.apply(sender, sync, permissions)
        if decision.accepted:
            return Verdict(True, data_type, sync, decision.changed, client_id=env.client_id)
        refused = decision.reason or "refused"
        return Verdict(
            False,
            data_type,
            sync,
            False,
            refused,
            (refused,),
            _correction(table, sender, sync, decision is DROP_NOT_OWNER),
        )

    if env.has_first_sync:
        table.dropped_first_sync_in_um += 1
        return Verdict(False, data_type, env.data, False, "first_sync_in_um", ("first_sync_in_um",))
    changed = False
    kept: list[dict[str, Any]] | None = None
    dropped: list[str] = []
    corrections: list[dict[str, Any]] = []
    apply = table.apply
    for index, sync in enumerate(syncs):
        decision = apply(sender, sync, permissions)
        if decision.accepted:
            if decision.changed:
                changed = True
            if kept is not None:
                kept.append(sync)
            continue
        if kept is None:
            kept = syncs[:index]
        dropped.append(decision.reason or "refused")
        corrections.extend(_correction(table, sender, sync, decision is DROP_NOT_OWNER))
    if kept is None:
        return Verdict(True, data_type, env.data, changed, client_id=env.client_id)
    if not kept:
        return Verdict(
            False, data_type, env.data, False, dropped[-1], tuple(dropped), tuple(corrections)
        )
    env.data["d"] = kept
    return Verdict(
        True,
        data_type,
        env.data,
        True,
        None,
        tuple(dropped),
        tuple(corrections),
        env.client_id,
    )


def _correction(
    table: EntityTable, sender: str, sync: dict[str, Any], not_owner: bool
) -> tuple[dict[str, Any], ...]:
    # Only a sender that claimed the entity for itself believes it owns it;
    # anyone else's refused sync needs no answer.
    if not not_owner or sync.get("owner") != sender:
        return _NO_CORRECTIONS
    state = table.state(sync["networkId"])
    return _NO_CORRECTIONS if state is None else (state,)


def outgoing(verdict: Verdict, sender: str) -> dict[str, Any]:
    """The envelope receivers get for a relayed C{verdict} from C{sender}."""
    return {"dataType": verdict.data_type, "data": verdict.data, "from_session_id": sender}


def correction_envelope(state: dict[str, Any]) -> dict[str, Any]:
    """
    The envelope that carries one of ``verdict.corrections`` to the sender
    alone: a ``u`` as if from the entity's owner, whose state it is (Hubs
    clients check updates against the sender's permissions).
    """
    return {"dataType": "u", "data": state, "from_session_id": state["owner"]}


__all__ = [
    "correction_envelope",
    "Envelope",
    "Verdict",
    "check_sync",
    "inspect",
    "outgoing",
    "parse_envelope",
]
