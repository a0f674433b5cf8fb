"""The dashboard's Prometheus counters and histograms, kept by prometheus-client. Under gunicorn
every worker is its own process: with `PROMETHEUS_MULTIPROC_DIR` set (the README's production
run, `gunicorn.conf.py`) each writes its values to files there and a scrape adds them up
(`dashboard.operations.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

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
routing_runs = Counter(
    "dashboard_routing_runs",
    "Conversations routing looked at, by trigger and what came of it (assigned, no one eligible, paused, waiting for the budget, …).",
    ["trigger", "outcome"],
)
take_backs = Counter(
    "dashboard_routing_take_backs",
    "Conversations routing took back from a silent assignee, by where they went (reassigned, unassigned).",
    ["to"],
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
