"""Per-token throttling in the shared cache, and the API's own share of WapiKit's budget: a
script can spend neither another's calls nor the web dashboard's requests."""

from __future__ import annotations

import time

import pytest

from dashboard.wapikit import budget, get_client
from tests.api.conftest import problem_of
from tests.integration.conftest import first_conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_each_token_has_its_own_rate(caller, wapikit, settings):
    settings.API_TOKEN_RATE = "3/min"
    busy, other = caller("owner", name="busy"), caller("owner", name="other")
    assert [busy.get("/api/v1/members").status_code for _ in range(3)] == [200, 200, 200]
    refused = busy.get("/api/v1/members")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert problem_of(refused)["kind"] == "throttled"
    assert other.get("/api/v1/members").status_code == 200


def test_the_count_lives_in_the_shared_cache(caller, wapikit, settings):
    from django.core.cache import cache

    settings.API_TOKEN_RATE = "5/min"
    who = caller("owner")
    who.get("/api/v1/members")
    assert len(cache.get(f"api:throttle:token:{who.token.pk}")) == 1


@pytest.mark.parametrize("remaining, allowed", [(500, True), (250, True), (239, False)])
def test_the_api_leaves_the_web_its_share_of_wapikit_s_budget(remaining, allowed, caller, wapikit, upstream_calls):
    """600 an hour on /conversation/:id; 40% (240) are kept for the web dashboard."""
    who = caller("owner")
    cid = first_conversation(wapikit)["uniqueId"]
    reset = int(time.time()) + 600
    for bucket in ("/conversation/:id", "/conversation/:id/messages"):
        budget.record(get_client(), bucket, limit=600, remaining=remaining, reset=reset)
    upstream_calls.clear()

    answer = who.get(f"/api/v1/conversations/{cid}")

    if allowed:
        assert answer.status_code == 200
        return
    assert answer.status_code == 429
    body = problem_of(answer)
    assert body["kind"] == "budget_reserved"
    assert "kept for the web dashboard" in body["detail"] and "nothing was sent" in body["detail"]
    assert 1 <= int(answer["Retry-After"]) <= 600
    assert upstream_calls == []


def test_a_bulk_action_the_budget_cannot_carry_is_refused_before_anything_is_sent(caller, wapikit, upstream_calls):
    who = caller("owner")
    cid = first_conversation(wapikit)["uniqueId"]
    budget.record(get_client(), "/conversation/:id", limit=600, remaining=2, reset=int(time.time()) + 600)
    upstream_calls.clear()
    answer = who.post("/api/v1/conversations/bulk", {"action": "close", "ids": [cid]})
    assert answer.status_code == 429
    assert "Nothing was sent" in problem_of(answer)["detail"]
    assert upstream_calls == []
