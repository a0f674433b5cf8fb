"""A little live traffic for `make run`'s demo: every SANDBOX_DEMO_TRAFFIC_SECONDS a customer of
an Active conversation writes again, through the sandbox's webhook hook (`POST /_sandbox/events`,
the same request the README shows), so a newcomer's inbox changes by itself within a minute.
0 turns it off (the tests' settings do)."""

from __future__ import annotations

import logging
import random
import threading

import requests
from django.conf import settings

from .models import Conversation

logger = logging.getLogger(__name__)

LINES = (
    "Hi, is my order on its way?",
    "Thanks! One more question about the invoice.",
    "Can I change the delivery address?",
    "The link you sent does not open on my phone.",
    "Are you open on Saturday?",
    "Perfect, that works for me 👍",
)


class DemoTraffic(threading.Thread):
    """Runs beside the sandbox in rundemo's process until `stop`."""

    def __init__(self, *, root_url: str, every_seconds: float) -> None:
        super().__init__(name="demo-traffic", daemon=True)
        self.root_url, self.every_seconds = root_url, every_seconds
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.every_seconds):
            try:
                self.write_once()
            except (requests.RequestException, OSError) as exc:
                # The sandbox may be stopped on purpose (to watch an outage): try again next time.
                logger.debug("demo traffic: no message this time (%s)", exc)

    def write_once(self) -> None:
        # Among the most recent: the cards on the inbox's first page.
        recent = Conversation.objects.filter(status="Active").order_by("-last_activity_at")
        active = list(recent.values_list("unique_id", flat=True)[:20])
        if not active:
            return
        requests.post(
            f"{self.root_url}/_sandbox/events",
            json={"type": "NewMessage", "conversation_id": str(random.choice(active)), "text": random.choice(LINES)},
            headers={settings.WAPIKIT_AUTH_HEADER: settings.SANDBOX_API_KEY},
            timeout=5,
        )
