"""`GET`/`PUT /api/v1/routing`: the `routing` scope, for Owners and staff only; a PUT replaces
every rule or, with one invalid rule, changes nothing and says why."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.routing.models import Rule, Switch
from tests.api.conftest import ALL_SCOPES, problem_of
from tests.integration.conftest import member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def put(caller, body):
    return Client().put("/api/v1/routing", body, content_type="application/json", **caller.headers)


@pytest.mark.parametrize(
    ("kind", "scopes", "status"),
    [
        ("owner", ["routing"], 200),
        ("owner", [s for s in ALL_SCOPES if s != "routing"], 403),
        ("manager", ALL_SCOPES, 403),
        ("agent", ALL_SCOPES, 403),
        ("norole", ALL_SCOPES, 403),
        ("stranger@example.com", ALL_SCOPES, 403),
    ],
)
def test_only_an_owners_token_with_the_routing_scope_reads_and_sets_routing(wapikit, caller, kind, scopes, status):
    who = caller(kind, scopes=scopes)
    assert who.get("/api/v1/routing").status_code == status
    body = {"rules": [{"name": "Support", "roles": ["Support agent"]}]}
    answer = put(who, body)
    assert answer.status_code == status
    assert Rule.objects.exists() is (status == 200)
    if status == 403:
        problem_of(answer)


def test_staff_may_set_routing_with_the_scope(wapikit, caller, django_user_model):
    who = caller("staff@example.com", scopes=["routing"])
    django_user_model.objects.filter(pk=who.user.pk).update(is_staff=True)
    assert who.get("/api/v1/routing").status_code == 200


def test_no_token_is_refused(wapikit):
    assert Client().get("/api/v1/routing").status_code == 401


def test_a_put_replaces_the_rules_in_order_and_sets_the_switch(wapikit, caller):
    Rule.objects.create(name="Old", roles=["Closer"])
    mei = member_ids(wapikit)["mei.chen@example.com"]
    body = {
        "paused": True,
        "rules": [
            {"name": "VIP", "tag": "vip", "member_ids": [mei], "method": "round_robin", "capacity": 3,
             "presence": "anyone", "unanswered_minutes": 15, "take_back_to": "unassigned"},
            {"name": "Everyone", "roles": ["Support agent"]},
        ],
    }
    answer = put(caller("owner", scopes=["routing"]), body)
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert [r["name"] for r in data["rules"]] == ["VIP", "Everyone"]
    assert data["rules"][0]["member_ids"] == [mei] and data["rules"][0]["unanswered_minutes"] == 15
    assert data["paused"] is True and Switch.objects.get().paused
    assert data["preview"].endswith("left over") or "no rule takes" in data["preview"]
    assert list(Rule.objects.values_list("name", flat=True)) == ["VIP", "Everyone"]


def test_a_member_who_may_not_see_conversations_is_refused_with_the_reason_and_nothing_changes(wapikit, caller):
    Rule.objects.create(name="Old", roles=["Closer"])
    tomas = member_ids(wapikit)["norole@example.com"]
    body = {"rules": [{"name": "Fine", "roles": ["Support agent"]}, {"name": "Tomas", "member_ids": [tomas]}]}
    answer = put(caller("owner", scopes=["routing"]), body)
    assert answer.status_code == 409
    assert "rule 2: Tomás Silva cannot see conversations: their roles do not allow Get:Conversation." in (
        problem_of(answer)["detail"]
    )
    assert list(Rule.objects.values_list("name", flat=True)) == ["Old"]


def test_a_rule_without_members_or_with_a_duplicate_name_is_refused(wapikit, caller):
    owner = caller("owner", scopes=["routing"])
    assert put(owner, {"rules": [{"name": "Nobody"}]}).status_code == 409
    twice = {"rules": [{"name": "A", "roles": ["Closer"]}, {"name": "a", "roles": ["Closer"]}]}
    assert put(owner, twice).status_code == 409
    assert put(owner, {"rules": [{"name": "A", "capacity": 0, "roles": ["Closer"]}]}).status_code == 400
    assert not Rule.objects.exists()
