"""`manage.py listen_events`: WapiKit's live events, read by one process per deployment."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dashboard.live.delivery import deliver, report_state
from dashboard.live.listener import listen


class Command(BaseCommand):
    help = (
        "Listen to WapiKit's event stream and hand its events to the dashboard. Run it beside the "
        "web processes; with Redis, run several for failover: one listens, the others stand by. "
        "Stops cleanly on SIGTERM or SIGINT."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        listen(on_event=deliver, on_state=report_state)
