"""The team's WapiKit request budget, against the sandbox answering as WapiKit's server does
(rate limits per address and route, X-RateLimit headers on every answer), over real HTTP.
Each test sets small limits through the sandbox's control endpoint; the sandbox forgets them
after the test. The sandbox counts the tests' own reads from the same address, so they read
what they need before setting a limit (a changed limit starts a fresh window)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from dashboard.conversations import shared
from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import budget, get_client
from tests.integration.conftest import body_of, conversations_with, html

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
TOKEN = "scrape-token-for-budget-tests-0123"
ONE = "/conversation/:id"
LIST = "/conversations"


@pytest.fixture
def limited(server_wapikit):
    """The server sandbox, with whatever limits the test sets forgotten afterwards."""
    yield server_wapikit
    server_wapikit.control(reset=True)


def clock(timestamp: float) -> str:
    return timezone.localtime(datetime.fromtimestamp(timestamp, tz=UTC)).strftime("%H:%M")


def calls_on(calls, bucket: str) -> list:
    return [call for call in calls if call.route == bucket]


# Used up


def test_once_the_list_budget_is_used_up_the_inbox_says_until_when_and_sends_nothing(
    limited, login_as, upstream_calls
):
    owner = login_as("owner")
    limited.control(rate_limits={"conversations": 2})
    for _ in range(4):
        owner.get("/")
        if budget.available(get_client(), LIST) == 0:
            break
    state = budget.state(get_client(), LIST)
    assert state.held_off_until is not None
    upstream_calls.clear()

    answer = owner.get("/")

    assert f"WapiKit&#x27;s request budget for listing conversations is used up until {clock(state.held_off_until)}." in (
        body_of(answer)
    )
    assert calls_on(upstream_calls, LIST) == []


def test_after_a_429_nothing_goes_to_that_route_until_its_reset(limited, login_as, upstream_calls):
    owner = login_as("owner")
    limited.control(rate_limits={"conversations": 0})

    owner.get("/")
    refused = calls_on(upstream_calls, LIST)
    for _ in range(3):
        owner.get("/")
        owner.get("/inbox/tabs/")

    assert [call.status for call in refused] == [429]
    assert len(calls_on(upstream_calls, LIST)) == 1
    assert budget.state(get_client(), LIST).held_off


# Bulk pre-flight


@pytest.fixture
def conversation_budget(limited, login_as, upstream_calls):
    """An owner whose dashboard has read WapiKit's budget for single conversations: 20 an hour,
    less what opening one conversation took. Returns (client, ids, remaining, reserve)."""
    ids = [c["uniqueId"] for c in conversations_with(limited, "Active")][:8]
    owner = login_as("owner")
    limited.control(rate_limits={"conversation": 20})
    upstream_calls.clear()
    assert owner.get(f"/conversations/{ids[0]}/").status_code == 200
    remaining = 20 - len(calls_on(upstream_calls, ONE))
    assert budget.available(get_client(), ONE) == remaining
    upstream_calls.clear()
    return owner, ids, remaining, math.ceil(0.2 * 20)


def bulk_close(owner, ids: list[str], **extra):
    return owner.post("/bulk/", {"action": "close", "ids": ids, "next": "/", **extra.pop("data", {})}, **extra)


def test_a_bulk_action_that_would_dig_into_the_reserve_asks_first_and_sends_nothing(
    conversation_budget, upstream_calls
):
    owner, ids, remaining, reserve = conversation_budget
    # Each close: a read if the scan misses it, the POST, and the read-back the server's empty answer needs.
    count = (remaining - reserve) // 3 + 1
    assert 3 * count <= remaining
    returns = clock(budget.state(get_client(), ONE).reset_at)

    answer = bulk_close(owner, ids[:count])

    body = body_of(answer)
    assert answer.status_code == 200
    assert html(
        f"This needs up to {3 * count} requests of WapiKit's budget for reading and changing conversations; "
        f"{remaining} remain until {returns}, and {reserve} are kept in reserve"
    ) in body
    assert '<button type="submit" name="confirm" value="yes">Run anyway</button>' in body
    assert body.count('<input type="hidden" name="ids"') == count
    assert upstream_calls == []
    assert not AuditEntry.objects.exists()


def test_confirming_runs_the_bulk_action(conversation_budget, upstream_calls):
    owner, ids, remaining, reserve = conversation_budget
    count = (remaining - reserve) // 3 + 1

    answer = bulk_close(owner, ids[:count], data={"confirm": "yes"})

    assert answer.status_code == 200
    assert "Close: " in body_of(answer)
    assert AuditEntry.objects.count() == count
    assert calls_on(upstream_calls, ONE)


def test_the_confirmation_comes_as_a_fragment_for_htmx(conversation_budget, upstream_calls):
    owner, ids, remaining, reserve = conversation_budget
    count = (remaining - reserve) // 3 + 1

    body = body_of(bulk_close(owner, ids[:count], **HTMX))

    assert "<html" not in body
    assert 'hx-post="/bulk/"' in body
    assert f"This needs up to {3 * count} requests" in body
    assert upstream_calls == []


def test_a_bulk_action_that_needs_more_than_remains_is_refused_before_anything_is_sent(
    conversation_budget, upstream_calls
):
    owner, ids, remaining, _ = conversation_budget
    count = remaining // 3 + 1
    returns = clock(budget.state(get_client(), ONE).reset_at)

    answer = bulk_close(owner, ids[:count], data={"confirm": "yes"}, **HTMX)

    assert answer.status_code == 429
    assert html(
        f"This needs up to {3 * count} requests of WapiKit's budget for reading and changing conversations, "
        f"but only {remaining} remain until {returns}. Nothing was sent"
    ) in body_of(answer)
    assert upstream_calls == []
    assert not AuditEntry.objects.exists()


def test_without_rate_limits_a_bulk_action_runs_at_once(wapikit, login_as, upstream_calls):
    if wapikit.profile != "spec":
        pytest.skip("the server sandbox states rate limits")
    ids = [c["uniqueId"] for c in conversations_with(wapikit, "Active")][:8]

    answer = bulk_close(login_as("owner"), ids)

    assert "Run anyway" not in body_of(answer)
    assert AuditEntry.objects.count() == len(ids)


# Status page and metrics


def test_owners_see_the_budget_per_route_and_the_live_events_state(limited, login_as):
    owner = login_as("owner")
    limited.control(rate_limits={"conversations": 50})
    inbox = body_of(owner.get("/"))
    state = budget.state(get_client(), LIST)

    answer = owner.get("/status/")

    body = body_of(answer)
    assert answer.status_code == 200
    assert '<a href="/status/">Status</a>' in inbox
    assert "<code>/conversations</code>" in body
    assert f"<td>{state.remaining}</td>" in body
    assert "<td>50</td>" in body
    assert f">{clock(state.reset_at)}</time>" in body
    assert "<strong>not running</strong>" in body


def test_agents_may_not_open_the_status_page_nor_see_its_link(limited, login_as):
    agent = login_as("agent")

    inbox = body_of(agent.get("/"))
    answer = agent.get("/status/")

    assert answer.status_code == 403
    assert "<code>/conversations</code>" not in body_of(answer)
    assert 'href="/status/"' not in inbox


def test_the_budget_and_the_stream_are_gauges_on_the_metrics_endpoint(limited, login_as, settings):
    settings.METRICS_TOKEN = TOKEN
    owner = login_as("owner")
    limited.control(rate_limits={"conversations": 1})
    owner.get("/")
    owner.get("/")
    state = budget.state(get_client(), LIST)

    scraped = owner.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scraped.content.decode())
        for sample in family.samples
    }
    route = (("route", LIST),)
    assert samples[("dashboard_upstream_budget_remaining", route)] == 0
    assert samples[("dashboard_upstream_budget_limit", route)] == 1
    assert samples[("dashboard_upstream_budget_reset_timestamp_seconds", route)] == state.reset_at
    assert samples[("dashboard_upstream_budget_held_off", route)] == 1
    assert samples[("dashboard_events_stream_up", ())] == 0
    assert samples[("dashboard_events_stream_state", (("state", "not running"),))] == 1
    assert samples[("dashboard_events_stream_state", (("state", "connected"),))] == 0
    ratio = shared.hit_ratio()
    if ratio is None:
        assert ("dashboard_shared_cache_hit_ratio", ()) not in samples
    else:
        assert samples[("dashboard_shared_cache_hit_ratio", ())] == ratio
