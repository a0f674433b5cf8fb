"""The metrics endpoint: every process's counters (`dashboard.observability.metrics`), and gauges
read from the shared cache when scraped (the circuit breaker, the team's WapiKit request budget,
the live-events state, the shared reads' hit ratio), so they are the same whichever worker
answers."""

from __future__ import annotations

import ipaddress
import os
import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from dashboard.conversations import live_state, shared
from dashboard.observability.addresses import client_address
from dashboard.wapikit import budget, get_client
from dashboard.wapikit.budget import BucketState


@login_not_required
@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        return HttpResponse(
            "Metrics need METRICS_TOKEN (sent as 'Authorization: Bearer …') or a scraper address in "
            "METRICS_ALLOWED_ADDRESSES.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and secrets.compare_digest(sent.strip().encode(), token.encode()):
        return True
    allowed = [part.strip() for part in settings.METRICS_ALLOWED_ADDRESSES.split(",") if part.strip()]
    if not allowed:
        return False
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in allowed)


class SharedStateCollector(Collector):
    """Gauges read from the shared cache when scraped."""

    def collect(self):
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
        if (ratio := shared.hit_ratio()) is not None:
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
