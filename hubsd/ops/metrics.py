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


class HubsdCollector:
    """Reads the daemon's counters at scrape time."""

    def __init__(self, service: Any) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hubsd_up", "1 when every part of the daemon is ready.")
        up.add_metric([], 1.0 if self._service.state == "ready" else 0.0)
        yield up
        router = self._service.router
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


def metrics_site(service: Any) -> Site:
    """A Site serving the metrics at ``/metrics``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubsdCollector(service))
    root = Resource()
    root.putChild(b"metrics", MetricsResource(registry=registry))
    return Site(root)
