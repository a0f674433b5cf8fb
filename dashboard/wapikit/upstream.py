"""Every request the WapiKit client sends, counted, timed and logged as one line.

The line carries the route pattern (ids replaced by `:id`), never the URL's query, the key or
a body: what WapiKit returns is customers' words."""

from __future__ import annotations

import logging

from dashboard.observability import metrics

from .transport import UpstreamCall

logger = logging.getLogger("dashboard.upstream")


def observe(call: UpstreamCall) -> None:
    metrics.upstream_requests.labels(method=call.method, route=call.route, status=call.outcome).inc()
    metrics.upstream_seconds.labels(method=call.method, route=call.route).observe(call.seconds)
    logger.info(
        "upstream %s %s %s %.1f ms",
        call.method,
        call.route,
        call.outcome,
        call.seconds * 1000,
        extra={
            "event": "upstream",
            "method": call.method,
            "route": call.route,
            "status": call.status,
            "outcome": call.outcome,
            "ms": round(call.seconds * 1000, 1),
        },
    )
