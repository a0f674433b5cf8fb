"""The dashboard's Prometheus metrics.

Counters and histograms are kept by prometheus-client. Under gunicorn every worker is its own
process: with `PROMETHEUS_MULTIPROC_DIR` set (the README's production run, `gunicorn.conf.py`)
each writes its values to files there and a scrape adds them up. What lives in the shared cache
(the circuit breaker, the team's WapiKit request budget, the live-events state, the shared reads'
hit ratio) is read at scrape time instead, so it is the same whichever worker answers."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

if TYPE_CHECKING:
    from dashboard.wapikit.budget import BucketState

# A `_created` timestamp beside every counter doubles a scrape for nothing Prometheus needs here.
disable_created_metrics()

upstream_requests = Counter(
    "dashboard_upstream_requests",
    "Requests sent to WapiKit, each attempt once, by route and answer (an HTTP status, timeout or unreachable).",
    ["method", "route", "status"],
)
upstream_seconds = Histogram(
    "dashboard_upstream_request_seconds",
    "How long WapiKit took to answer (or to fail), per attempt.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
requests = Counter(
    "dashboard_requests",
    "Requests the dashboard answered, by view (URL name) and status.",
    ["method", "view", "status"],
)
request_seconds = Histogram(
    "dashboard_request_seconds",
    "How long the dashboard took to answer, by view.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
cache_lookups = Counter(
    "dashboard_cache_lookups",
    "Reads of the dashboard's caches (members, scans, rendered cards), by result.",
    ["cache", "result"],
)
actions = Counter(
    "dashboard_actions",
    "Actions on conversations as the audit log records them, by action, outcome and where they came from.",
    ["action", "outcome", "via"],
)
signin_refused = Counter(
    "dashboard_signin_refused",
    "Sign-ins refused by the throttle before the password was checked.",
)
signin_throttle_engaged = Counter(
    "dashboard_signin_throttle_engaged",
    "Times an account or an address reached the throttle's slow-down or lock-out threshold.",
    ["limit", "state"],
)


def cache_lookup(name: str, *, hit: bool) -> None:
    cache_lookups.labels(cache=name, result="hit" if hit else "miss").inc()


class SharedStateCollector(Collector):
    """Gauges read from the shared cache when scraped."""

    def collect(self):
        # Imported here: these modules count their cache lookups through this one.
        from dashboard.inbox import reads
        from dashboard.live import state as live_state
        from dashboard.wapikit import budget, get_client

        client = get_client()
        breaker = client.breaker
        circuit = GaugeMetricFamily(
            "dashboard_upstream_circuit_open", "1 while the circuit breaker fails requests to WapiKit at once."
        )
        circuit.add_metric([], 1.0 if breaker is not None and breaker.is_open else 0.0)
        yield circuit
        yield from _budget_gauges(budget.snapshot(client))
        stream = live_state.current()
        every_state = (
            live_state.CONNECTED, live_state.CONNECTING, live_state.UNAVAILABLE,
            live_state.REFUSED, live_state.STANDBY, live_state.NOT_RUNNING,
        )
        yield from _stream_gauges(current=stream.state, live=stream.live, states=every_state)
        # The listener is its own process: what it counted reaches this scrape through its state.
        for name, value, text in (
            ("dashboard_events_delivered", stream.events, "Events the listener decoded and delivered since it started."),
            ("dashboard_events_skipped_undecodable", stream.undecodable, "Frames the listener could not decode and skipped since it started."),
            ("dashboard_events_reconnects", stream.reconnects, "Times the listener reconnected to WapiKit's events since it started."),
        ):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], float(value))
            yield gauge
        if (ratio := reads.hit_ratio()) is not None:
            hit_ratio = GaugeMetricFamily(
                "dashboard_shared_cache_hit_ratio",
                "Shared reads answered from the cache, over all lookups, across every process sharing it.",
            )
            hit_ratio.add_metric([], ratio)
            yield hit_ratio


def _budget_gauges(buckets: list[BucketState]) -> list[GaugeMetricFamily]:
    """The team's WapiKit request budget per route bucket, as WapiKit last stated it."""
    remaining = GaugeMetricFamily(
        "dashboard_upstream_budget_remaining",
        "Requests WapiKit still allows on the route before its reset.",
        labels=["route"],
    )
    limit = GaugeMetricFamily(
        "dashboard_upstream_budget_limit", "Requests WapiKit allows on the route per window.", labels=["route"]
    )
    reset = GaugeMetricFamily(
        "dashboard_upstream_budget_reset_timestamp_seconds",
        "When the route's window ends and its budget is whole again (Unix seconds).",
        labels=["route"],
    )
    held_off = GaugeMetricFamily(
        "dashboard_upstream_budget_held_off",
        "1 while the dashboard sends nothing on the route (budget used up, or a 429), until its reset.",
        labels=["route"],
    )
    for bucket in buckets:
        if bucket.remaining is not None:
            remaining.add_metric([bucket.bucket], bucket.remaining)
        if bucket.limit is not None:
            limit.add_metric([bucket.bucket], bucket.limit)
        if bucket.reset_at is not None:
            reset.add_metric([bucket.bucket], bucket.reset_at)
        held_off.add_metric([bucket.bucket], 1.0 if bucket.held_off else 0.0)
    return [remaining, limit, reset, held_off]


def _stream_gauges(*, current: str, live: bool, states: tuple[str, ...]) -> list[GaugeMetricFamily]:
    up = GaugeMetricFamily("dashboard_events_stream_up", "1 while WapiKit's live events reach the dashboard.")
    up.add_metric([], 1.0 if live else 0.0)
    state = GaugeMetricFamily(
        "dashboard_events_stream_state",
        "1 for the state the live-events listener is in, 0 for the others.",
        labels=["state"],
    )
    for name in states:
        state.add_metric([name], 1.0 if name == current else 0.0)
    return [up, state]


def exposition() -> bytes:
    """The text a scrape gets: every process's values when they share a directory, else this one's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ThisProcess())
    registry.register(SharedStateCollector())
    return generate_latest(registry)


class _ThisProcess(Collector):
    """The default registry's metrics, without registering the scrape-time gauges on it for good."""

    def collect(self):
        yield from REGISTRY.collect()
