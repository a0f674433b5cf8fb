"""Median server time of the inbox and of one card fragment, excluding the upstream call: the
render rows of `make bench`, and `manage.py bench_render` on their own.

Conversations come from the sandbox's own serialiser over seeded data, decoded once with the
dashboard's types; the timed request then runs the whole view (middleware, session, auth,
permissions, template) with only the upstream fetches replaced: that decoded page, the members
and the campaign names. None reaches WapiKit, so the rows leave no circuit or budget behind."""

from __future__ import annotations

import statistics
import time
from unittest import mock

import msgspec
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.test.utils import override_settings

from dashboard.conversations import members as members_module
from dashboard.conversations import reads, selectors, services
from dashboard.conversations.acting import ActionResult, Outcome
from dashboard.wapikit.types import Campaign, Conversation, Member
from devtools.benchmarks import benchkit
from devtools.sandbox.models import Conversation as ConversationRow
from devtools.sandbox.models import Member as MemberRow
from devtools.sandbox.spec_shapes import campaign_json, campaigns_by_name, conversation_json, conversations, member_json


def measure_render(runs: int, *, kind: str = "owner") -> list[tuple[str, float, int]]:
    """Median ms and bytes of the inbox (25 and 50 cards) and of one card fragment, with the
    upstream replaced by a decoded page of sandbox data. `kind`: whose inbox (owner or manager)."""
    if not ConversationRow.objects.exists():
        call_command("seed_sandbox")
    rows = list(conversations().filter(status="Active").order_by("-last_activity_at")[:50])
    decoded = msgspec.json.decode(
        msgspec.json.encode([conversation_json(r) for r in rows]), type=list[Conversation]
    )
    members = msgspec.json.decode(
        msgspec.json.encode([member_json(m) for m in MemberRow.objects.prefetch_related("roles")]),
        type=list[Member],
    )
    campaigns = msgspec.json.decode(
        msgspec.json.encode([campaign_json(c) for c in campaigns_by_name()]), type=list[Campaign]
    )
    viewer = next(m for m in members if (m.is_owner if kind == "owner" else m.email == "manager@example.com"))
    user, _ = get_user_model().objects.get_or_create(email=viewer.email)
    client = Client()
    client.force_login(user)

    results = []
    with (
        override_settings(ALLOWED_HOSTS=["testserver"]),
        mock.patch.object(members_module, "members_list", return_value=members),
        mock.patch.object(reads, "campaigns", return_value=campaigns),
        benchkit.counting_calls() as calls,
    ):
        for cards in (25, 50):
            page = selectors.InboxPage(decoded[:cards], 1, cards, 144, 3, True)
            with mock.patch.object(selectors, "inbox_page", return_value=page):
                median, size = _time(lambda: client.get(f"/?per_page={cards}"), runs)
            results.append((f"inbox, {cards} cards", median, size))
        target = decoded[0]
        closed = msgspec.structs.replace(target, status="Closed")
        # As the service answers it: closed, it left the inbox's default (Active) view.
        done = ActionResult(Outcome.SUCCEEDED, "", closed, left_view=True)
        with mock.patch.object(services, "conversation_act", return_value=done):
            median, size = _time(
                lambda: client.post(f"/conversations/{target.unique_id}/close/", {"next": "/"}, headers={"HX-Request": "true"}),
                runs,
            )
        results.append(("card fragment after Close", median, size))
    if calls:
        raise CommandError(f"the render rows reached WapiKit ({calls[0][0]} {calls[0][1]}): they time the page without it")
    return results


def _time(call, runs: int) -> tuple[float, int]:
    for _ in range(10):
        response = call()
        assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        response = call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), len(response.content)
