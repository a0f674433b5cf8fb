"""Health for load balancers: is the database usable, and can WapiKit be reached?

WapiKit is checked with a TCP connect to its host plus the circuit breaker's state, not with an
API call: WapiKit rate-limits each route, and a load balancer polling every few seconds would
spend that budget."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.utils import DatabaseError
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.wapikit import get_client


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def wapikit_reachability() -> tuple[str, float | None]:
    breaker = get_client().breaker
    if breaker is not None and breaker.is_open:
        return "circuit open", None
    parts = urlsplit(settings.WAPIKIT_BASE_URL)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    start = time.perf_counter()
    try:
        socket.create_connection((parts.hostname, port), timeout=1.0).close()
    except OSError:
        return "unreachable", None
    return "reachable", round((time.perf_counter() - start) * 1000, 1)


@login_not_required
@api_view(["GET"])
@renderer_classes([JSONRenderer])
def health(request: Request) -> Response:
    database = database_ok()
    wapikit, connect_ms = wapikit_reachability()
    # The instance is healthy when its database works: an unreachable WapiKit affects every
    # instance alike, so taking this one out of the pool would not help.
    return Response(
        {
            "status": "ok" if database else "failing",
            "database": "ok" if database else "failing",
            "wapikit": wapikit,
            "wapikit_connect_ms": connect_ms,
        },
        status=200 if database else 503,
    )
