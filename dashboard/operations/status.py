"""The status page: what the dashboard knows of WapiKit right now, for Owners and staff. The
team's request budget per route, the live-events stream, how much the shared reads save, and
whether routing runs (or waits for its share of the assign route)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.conversations import live_state as live_state
from dashboard.conversations import shared
from dashboard.conversations.audit import may_read_audit
from dashboard.conversations.members import powers_for
from dashboard.routing import state as routing_state
from dashboard.wapikit import budget, errors, get_client


@require_GET
def status_page(request: HttpRequest) -> HttpResponse:
    try:
        powers = powers_for(request.user)
    except errors.WapiKitError:
        powers = None
    # The audit trail's rule: the budget and the stream are the whole team's business.
    if not may_read_audit(request.user, powers):
        return render(request, "status.html", {"forbidden": True, "powers": powers}, status=403)
    stream = live_state.current()
    return render(
        request,
        "status.html",
        {
            "powers": powers,
            "buckets": budget.snapshot(get_client()),
            "reserve": settings.WAPIKIT_BUDGET_RESERVE,
            "stream": stream,
            "stream_since": datetime.fromtimestamp(stream.since, tz=UTC),
            "last_event": datetime.fromtimestamp(stream.last_event_at, tz=UTC) if stream.last_event_at else None,
            "hit_ratio": shared.hit_ratio(),
            "routing": routing_state.current(),
        },
    )
