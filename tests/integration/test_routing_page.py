"""The routing page: Owners and staff set rules, pause routing and see the preview; nobody else
may open it; a member who may not see conversations is refused with the reason."""

from __future__ import annotations

import pytest

from dashboard.routing.models import Rule, Switch
from tests.integration.conftest import body_of, html, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def new_rule(**fields) -> dict:
    data = {"name": "Support", "enabled": "on", "method": "balanced", "capacity": "10", "presence": "anyone",
            "online_minutes": "5", "grace_minutes": "2", "take_back_to": "rule", "roles": ["Support agent"]}
    data.update(fields)
    return {f"new-{key}": value for key, value in data.items()}


@pytest.mark.parametrize("kind", ["manager", "agent", "norole"])
def test_only_owners_and_staff_may_open_the_routing_page(wapikit, login_as, kind):
    client = login_as(kind)
    assert client.get("/routing/").status_code == 403
    assert client.post("/routing/rules/new/", new_rule()).status_code == 403
    assert client.post("/routing/pause/", {"paused": "1"}).status_code == 403
    assert not Rule.objects.exists() and not Switch.objects.exists()


def test_an_owner_adds_a_rule_and_the_preview_says_what_it_would_do(wapikit, login_as):
    client = login_as("owner")
    page = body_of(client.get("/routing/"))
    assert "No rule yet." in page
    answer = client.post("/routing/rules/new/", new_rule(capacity="100"))
    assert answer.status_code == 302
    page = body_of(client.get("/routing/"))
    assert "Rule “Support” added" in page
    preview = page.split("data-preview>")[1].split("</p>")[0].strip()
    assert preview.endswith("left over")
    assert "unassigned: " in preview
    assert "Priya Raman" in preview  # a Support agent
    assert Rule.objects.get().roles == ["Support agent"]


def test_a_named_member_who_may_not_see_conversations_is_refused_with_the_reason(wapikit, login_as):
    client = login_as("owner")
    tomas = member_ids(wapikit)["norole@example.com"]
    answer = client.post("/routing/rules/new/", new_rule(roles=[], member_ids=[tomas]))
    assert answer.status_code == 400
    assert html("Tomás Silva cannot see conversations: their roles do not allow Get:Conversation.") in body_of(answer)
    assert not Rule.objects.exists()


def test_the_pause_switch_is_one_click_and_says_who_paused(wapikit, login_as):
    client = login_as("owner")
    client.post("/routing/pause/", {"paused": "1"})
    page = body_of(client.get("/routing/"))
    assert "Routing is paused" in page and "owner@example.com" in page
    assert Switch.objects.get().paused
    client.post("/routing/pause/", {"paused": "0"})
    assert not Switch.objects.get().paused


def test_an_owner_edits_and_deletes_a_rule(wapikit, login_as):
    client = login_as("owner")
    rule = Rule.objects.create(name="Support", roles=["Support agent"])
    fields = {f"rule-{rule.pk}-{k}": v for k, v in {
        "name": "Support desk", "method": "round_robin", "capacity": "4", "presence": "online", "online_minutes": "5",
        "grace_minutes": "2", "take_back_to": "unassigned", "roles": ["Support agent"], "unanswered_minutes": "20",
    }.items()}
    assert client.post(f"/routing/rules/{rule.pk}/", fields).status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.method, rule.capacity, rule.unanswered_minutes, rule.enabled) == (
        "Support desk", "round_robin", 4, 20, False
    )
    assert client.post(f"/routing/rules/{rule.pk}/delete/").status_code == 302
    assert not Rule.objects.exists()


def test_the_preview_lists_who_is_passed_over_and_why(wapikit, login_as):
    client = login_as("owner")
    client.post("/routing/rules/new/", new_rule(capacity="1"))
    page = body_of(client.get("/routing/"))
    assert "Passed over by" in page
    assert "full: " in page
