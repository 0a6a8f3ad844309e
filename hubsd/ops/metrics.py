"""
Prometheus metrics, served on their own endpoint (``[metrics] endpoint``).

Counters are read from the parts when Prometheus scrapes, so the hot path
only increments plain integers (``RouterStats``) and never touches the
metrics library.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.twisted import MetricsResource
from twisted.web.resource import Resource
from twisted.web.server import Site

# RouterStats field -> (metric name, help). Counters only grow.
_ROUTER_COUNTERS = {
    "sessions_joined": ("hubsd_wamp_sessions_joined", "WAMP sessions that joined a realm."),
    "sessions_left": ("hubsd_wamp_sessions_left", "WAMP sessions that left a realm."),
    "publishes": ("hubsd_wamp_publishes", "PUBLISH messages accepted."),
    "events": ("hubsd_wamp_events", "EVENT messages delivered to subscribers."),
    "publishes_rejected": ("hubsd_wamp_publishes_rejected", "Publishes refused."),
    "events_dropped": ("hubsd_wamp_events_dropped", "Droppable events dropped under backpressure."),
    "events_superseded": (
        "hubsd_wamp_events_superseded",
        "Queued droppable events replaced by the same publisher's newer one.",
    ),
    "events_too_big": (
        "hubsd_wamp_events_too_big",
        "Events skipped for a RawSocket peer whose announced maximum length they exceed.",
    ),
    "publishes_shed": (
        "hubsd_wamp_publishes_shed",
        "Droppable publishes not fanned out because the router was behind.",
    ),
    "slow_disconnects": (
        "hubsd_wamp_slow_disconnects",
        "Sessions disconnected for exceeding the outgoing hard limit.",
    ),
    "protocol_violations": (
        "hubsd_wamp_protocol_violations",
        "Sessions aborted for breaking the WAMP protocol.",
    ),
}


# Room core figures (RoomDirectory.stats()): name -> (metric, help, is a counter).
_ROOM_FIGURES = {
    "rooms_live": ("hubsd_rooms_live", "Rooms loaded on this node (with members).", False),
    "members": ("hubsd_room_members", "Seats taken in the rooms of this node.", False),
    "members_held": (
        "hubsd_room_members_held",
        "Seats held for members whose connection dropped (reconnect grace).",
        False,
    ),
    "kicks": (
        "hubsd_room_kicks",
        "Members removed from rooms (by moderators or for flooding).",
        True,
    ),
    "dropped_rate": ("hubsd_room_dropped_rate", "Publications over a member's rate limit.", True),
    "dropped_not_owner": (
        "hubsd_room_naf_dropped_not_owner",
        "Entity updates from members that do not own the entity.",
        True,
    ),
    "dropped_unknown": ("hubsd_room_naf_dropped_unknown", "Updates of unknown entities.", True),
    "dropped_denied": (
        "hubsd_room_naf_dropped_denied",
        "Spawns the sender's permissions do not allow.",
        True,
    ),
    "dropped_full": ("hubsd_room_naf_dropped_full", "Spawns over the room's entity limit.", True),
    "dropped_first_sync_in_um": (
        "hubsd_room_naf_dropped_first_sync_in_um",
        "um messages dropped for carrying a first sync.",
        True,
    ),
}


class HubsdCollector:
    """Reads the daemon's counters at scrape time."""

    def __init__(self, service: Any) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hubsd_up", "1 when every part of the daemon is ready.")
        up.add_metric([], 1.0 if self._service.state == "ready" else 0.0)
        yield up
        router = getattr(self._service, "router", None)
        if router is None:
            return
        stats = router.stats.as_dict()
        for field, (name, doc) in _ROUTER_COUNTERS.items():
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], stats.get(field, 0))
            yield counter
        sessions = GaugeMetricFamily(
            "hubsd_wamp_sessions", "WAMP sessions currently joined, by realm.", labels=["realm"]
        )
        for name, realm in router.realms.items():
            sessions.add_metric([name], len(realm.sessions))
        yield sessions
        rooms = getattr(self._service, "rooms", None)
        if rooms is None:
            return
        figures = rooms.directory.stats()
        for field, (name, doc, grows) in _ROOM_FIGURES.items():
            family: Metric = (
                CounterMetricFamily(name, doc) if grows else GaugeMetricFamily(name, doc)
            )
            family.add_metric([], figures.get(field, 0))  # type: ignore[attr-defined]
            yield family


def metrics_site(service: Any) -> Site:
    """A Site serving the metrics at ``/metrics``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubsdCollector(service))
    root = Resource()
    root.putChild(b"metrics", MetricsResource(registry=registry))
    return Site(root)
