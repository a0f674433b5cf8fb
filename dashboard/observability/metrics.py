"""The dashboard's Prometheus metrics.

Counters and histograms are kept by prometheus-client. Under gunicorn every worker is its own
process: with `PROMETHEUS_MULTIPROC_DIR` set (the README's production run, `gunicorn.conf.py`)
each writes its values to files there and a scrape adds them up. What lives in the shared cache
(the circuit breaker) is read at scrape time instead, so it is the same whichever worker answers."""

from __future__ import annotations

import os

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
        from dashboard.wapikit import get_client

        breaker = get_client().breaker
        circuit = GaugeMetricFamily(
            "dashboard_upstream_circuit_open", "1 while the circuit breaker fails requests to WapiKit at once."
        )
        circuit.add_metric([], 1.0 if breaker is not None and breaker.is_open else 0.0)
        yield circuit


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
