"""What routing tells the team: its rows in the audit log (via "routing", with the rule's name
and why), and each take-back, pushed to open dashboards and noticed for the managers. The
browser side of the notice is in tests/browser/test_routing.py."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from django.utils import timezone

from dashboard.conversations import bus
from dashboard.conversations.models import AuditEntry
from dashboard.live import delivery
from dashboard.routing import running, takeback
from dashboard.routing.models import TakeBack, TakeBackTo
from tests.integration.conftest import body_of, html, member_ids
from tests.integration.test_routing import customer_writes, never_had, rule, upstream  # noqa: F401 - the fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_routing_is_a_way_an_action_came_and_the_audit_log_shows_and_filters_it(upstream, login_as):  # noqa: F811
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei])
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    AuditEntry.objects.create(
        user_email="owner@example.com", conversation_id="22222222-2222-4222-8222-222222222222", action="close",
        via=AuditEntry.Via.CARD, outcome=AuditEntry.Outcome.SUCCEEDED,
    )

    routed = AuditEntry.objects.get(conversation_id=cid)
    assert routed.via == AuditEntry.Via.ROUTING and routed.get_via_display() == "Routing"
    client = login_as("owner")
    page = body_of(client.get("/audit/", {"via": "routing"}))
    assert '<option value="routing" selected>Routing</option>' in page
    assert cid[:8] in page and "22222222" not in page, "only routing's rows"
    row = page[page.index(cid[:8]):]
    row = row[:row.index("</tr>")]
    assert '<td data-label="Via" class="nowrap">Routing</td>' in row
    assert html('Routing rule "Support": balanced: fewest open') in row, "the rule's name and why"
    assert "Mei Chen" in row
    exported = client.get("/audit/", {"via": "routing", "format": "csv"}).getvalue().decode()
    assert cid in exported and "22222222" not in exported


def test_a_take_back_is_pushed_to_open_dashboards_and_noticed_for_managers_only(
    upstream, login_as, monkeypatch  # noqa: F811
):
    ids = member_ids(upstream)
    mei = ids["mei.chen@example.com"]
    rule(member_ids=[mei], unanswered_minutes=5, take_back_to=TakeBackTo.UNASSIGNED)
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    customer_writes(cid, minutes_ago=1)
    published: list[dict] = []
    monkeypatch.setattr(bus, "publish", published.append)

    assert takeback.take_back(cid, moment=timezone.now() + timedelta(minutes=6)) == "unassigned"

    record = TakeBack.objects.get(conversation_id=cid)
    assert {"conversation": cid, "why": "action"} in published, "the card is redrawn, as after any action"
    assert published[-1] == {"take_back": record.pk}
    manager = login_as("manager")
    notice = body_of(manager.get(f"/alerts/take-backs/{record.pk}/"))
    assert f'data-alert="take-backs/{record.pk}"' in notice
    assert "back from" in notice and "Mei Chen" in notice
    assert "not answered within 5 min" in notice and "unassigned now." in notice
    assert login_as("agent").get(f"/alerts/take-backs/{record.pk}/").status_code == 204, "for those who may assign"
    assert manager.get("/alerts/take-backs/999999/").status_code == 204


def test_a_worker_without_redis_hands_the_take_back_over_to_the_dashboard_s_streams(client, wapikit, monkeypatch):
    """Without Redis the task worker serves no streams: it hands what it publishes to the
    dashboard process (dashboard/live/delivery.py), which passes the take-back on."""
    published: list[dict] = []
    monkeypatch.setattr(bus, "publish", published.append)
    handed = delivery._Handed("message", body=msgspec.Raw(msgspec.json.encode(delivery.Published(take_back=7))))
    body = delivery._sealed(handed)

    answer = client.post(
        "/live/ingest/", body, content_type="application/json", HTTP_X_LIVE_SIGNATURE=delivery._signature(body)
    )

    assert answer.status_code == 204
    assert published == [{"take_back": 7}]
