"""The team's shared WapiKit request budget (dashboard/wapikit/budget.py), through the client.

The upstream is faked at the HTTP boundary with `responses`; the clock is a fake one, so a
reset "passes" when the test moves it. Every test counts what reached the fake WapiKit: the
budget's whole point is requests that are never sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
import responses

from dashboard.observability.context import ContextPool
from dashboard.wapikit import budget, errors, share, transport
from dashboard.wapikit.client import WapiKitClient

BASE = "http://wapikit.test/api"
CONVERSATIONS_URL = f"{BASE}/conversations"
LISTED = {"conversations": []}
# 13:41 UTC; the budget examples below return at 14:05.
NOW = datetime(2025, 1, 15, 13, 41, tzinfo=UTC).timestamp()
RESET = NOW + 24 * 60


def make_client(base_url: str = BASE) -> WapiKitClient:
    return WapiKitClient(base_url=base_url, api_key="k-secret", timeout=(1, 2), get_retries=0, backoff=0)


def limits(*, limit: int, remaining: int, reset: float = RESET) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(int(reset))}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    """Time for the budget, the client and the cache's expiry alike."""
    fake = Clock(NOW)
    monkeypatch.setattr(transport.time, "time", fake)
    return fake


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def client() -> WapiKitClient:
    return make_client()


def sent(upstream) -> int:
    return len(upstream.calls)


# What is recorded


def test_every_answers_rate_limit_headers_are_recorded_per_route(client, upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=600, remaining=598))

    client.list_conversations()

    state = budget.state(client, "/conversations")
    assert (state.limit, state.remaining, state.reset_at, state.held_off_until) == (600, 598, RESET, None)
    assert [s.bucket for s in budget.snapshot(client)] == ["/conversations"]
    assert budget.available(client, "/conversations") == 598
    # The doctor reads the per-process copy.
    assert client.rate_limits["/conversations"].remaining == 598


def test_without_rate_limit_headers_nothing_is_ever_limited(client, upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED)

    with budget.background():
        for _ in range(30):
            client.list_conversations()

    assert sent(upstream) == 30
    assert budget.snapshot(client) == []
    assert budget.available(client, "/conversations") is None


# The reserve


def test_background_reads_stop_below_the_reserve_without_sending(client, upstream, settings):
    settings.WAPIKIT_BUDGET_RESERVE = 0.2
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=19))
    client.list_conversations()

    with budget.background(), pytest.raises(errors.BudgetReserved) as caught:
        client.list_conversations()

    assert sent(upstream) == 1
    assert caught.value.user_message == (
        "WapiKit's request budget for listing conversations is down to its reserve until 14:05 "
        "(19 left, 20 kept): it is saved for what users open and do, so background refreshes wait."
    )


def test_background_reads_on_worker_threads_are_held_to_the_reserve_too(client, upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=5))
    client.list_conversations()

    with budget.background(), ContextPool(max_workers=4) as pool:
        outcomes = [f.exception() for f in [pool.submit(client.list_conversations) for _ in range(4)]]

    assert all(isinstance(outcome, errors.BudgetReserved) for outcome in outcomes)
    assert sent(upstream) == 1


def test_background_reads_go_on_above_the_reserve(client, upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=50))
    client.list_conversations()

    with budget.background():
        client.list_conversations()

    assert sent(upstream) == 2


def test_what_a_user_asks_for_goes_on_below_the_reserve(client, upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=3))
    client.list_conversations()

    client.list_conversations()

    assert sent(upstream) == 2


def test_each_request_let_through_takes_one_before_the_next_answer_corrects_the_count(client, upstream):
    # Requests in flight at once must not all pass at the same remaining: two remain, so only
    # two more go, though no answer after the first states a budget.
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=2))
    client.list_conversations()
    upstream.replace(responses.GET, CONVERSATIONS_URL, json=LISTED)

    client.list_conversations()
    client.list_conversations()
    with pytest.raises(errors.BudgetExhausted):
        client.list_conversations()

    assert sent(upstream) == 3


def test_a_request_that_never_reached_wapikit_gives_its_share_back(client, upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=1))
    client.list_conversations()
    upstream.replace(responses.GET, CONVERSATIONS_URL, body=requests.ConnectionError("refused"))

    with pytest.raises(errors.Unreachable):
        client.list_conversations()

    assert budget.available(client, "/conversations") == 1


# Used up


def test_at_zero_nothing_is_sent_until_the_reset(client, upstream, clock):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=0))
    client.list_conversations()

    clock.now = RESET - 1
    with pytest.raises(errors.BudgetExhausted) as caught:
        client.list_conversations()
    assert sent(upstream) == 1
    assert caught.value.user_message == "WapiKit's request budget for listing conversations is used up until 14:05."
    assert budget.available(client, "/conversations") == 0

    clock.now = RESET + budget.RESET_SLACK_SECONDS
    client.list_conversations()
    assert sent(upstream) == 2


@pytest.mark.parametrize("remaining", [0, 10])
def test_nothing_is_sent_in_the_second_after_the_stated_reset(client, upstream, clock, remaining):
    """Found by `make bench-day`: WapiKit's server states its reset in whole seconds, cut down,
    and a request still inside its window prolongs it a whole window. A background read sent at
    the stated second found the route below the reserve again, an hour more each time."""
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=remaining))
    client.list_conversations()

    clock.now = RESET + 1
    with budget.background(), pytest.raises(errors.BudgetExhausted):
        client.list_conversations()
    assert sent(upstream) == 1

    clock.now = RESET + budget.RESET_SLACK_SECONDS
    with budget.background():
        client.list_conversations()
    assert sent(upstream) == 2


def test_the_reset_is_said_in_the_dashboards_time_zone(client, upstream, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=0))
    client.list_conversations()

    with pytest.raises(errors.BudgetExhausted) as caught:
        client.list_conversations()

    assert "used up until 15:05." in caught.value.user_message


def test_a_429_holds_the_route_off_until_its_reset(client, upstream, clock):
    upstream.get(CONVERSATIONS_URL, status=429, json={"error": "Rate limit exceeded", "remaining": 0, "reset": int(RESET)})

    with pytest.raises(errors.RateLimited):
        client.list_conversations()
    for minute in range(1, 24):
        clock.now = NOW + minute * 60
        with pytest.raises(errors.BudgetExhausted):
            client.list_conversations()
    assert sent(upstream) == 1
    assert budget.state(client, "/conversations").held_off_until == RESET

    clock.now = RESET + 1
    upstream.replace(responses.GET, CONVERSATIONS_URL, json=LISTED)
    client.list_conversations()
    assert sent(upstream) == 2


def test_a_429_without_a_reset_in_its_body_holds_off_until_the_header_says(client, upstream, clock):
    upstream.get(CONVERSATIONS_URL, status=429, body="", headers=limits(limit=100, remaining=0))

    with pytest.raises(errors.RateLimited):
        client.list_conversations()
    clock.now = RESET - 1
    with pytest.raises(errors.BudgetExhausted) as caught:
        client.list_conversations()

    assert sent(upstream) == 1
    assert caught.value.until == "14:05"


def test_a_held_off_route_does_not_hold_off_the_others(client, upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=0))
    upstream.get(f"{BASE}/organization/members", json={"members": []}, headers=limits(limit=60, remaining=59))
    client.list_conversations()

    client.list_members()

    assert sent(upstream) == 2


# Shared


def test_every_client_of_the_same_wapikit_spends_from_one_budget(upstream):
    upstream.get(CONVERSATIONS_URL, json=LISTED, headers=limits(limit=100, remaining=0))
    first, second = make_client(), make_client()
    other_wapikit = make_client("http://other.test/api")
    upstream.get("http://other.test/api/conversations", json=LISTED)
    first.list_conversations()

    with pytest.raises(errors.BudgetExhausted):
        second.list_conversations()
    other_wapikit.list_conversations()

    assert [call.request.url.split("?")[0] for call in upstream.calls] == [
        CONVERSATIONS_URL,
        "http://other.test/api/conversations",
    ]
    assert budget.available(second, "/conversations") == 0


def test_the_background_share_returns_once_the_reads_that_spent_it_have_left_the_window(client, clock):
    """Found by `make bench-day` (then 1 read a window): a run planned at the reset met the last
    window's count still in the cache and carried it on for good."""
    bucket = "/conversation/:id/messages"
    budget.record(client, bucket, limit=8, remaining=8, reset=int(NOW + 60))
    taken = [share.take(client, bucket, share=0.25) for _ in range(3)]
    assert taken[:2] == [None, None]  # 2 of 8
    assert NOW + 60 <= taken[2] <= NOW + 61  # when those two have left the window (a 1 s slot)

    clock.now = taken[2]
    budget.record(client, bucket, limit=8, remaining=7, reset=int(clock.now + 60))

    assert [share.take(client, bucket, share=0.25) for _ in range(3)][:2] == [None, None]


def test_no_span_of_a_window_holds_more_than_the_share(client, clock):
    """Found by `make bench-day`: 191 background reads within one hour against a share of 150,
    because the count started afresh at each reset WapiKit stated while its window slides."""
    bucket = "/conversation/:id/messages"
    budget.record(client, bucket, limit=40, remaining=40, reset=int(NOW + 60))
    made = []
    for second in range(600):
        clock.now = NOW + second
        # Reads while the share lets them, each answer moving WapiKit's reset a window on.
        while len(made) < 1000 and share.take(client, bucket, share=0.25) is None:
            made.append(clock.now)
            budget.record(client, bucket, limit=40, remaining=30, reset=int(clock.now + 60))

    busiest = max(sum(start <= at < start + 60 for at in made) for start in made)
    assert busiest == 10  # a quarter of 40, in any 60 s
    assert len(made) >= 90  # and the share is spent again as soon as it returns (10 a 61 s)




def test_a_read_before_the_budget_is_known_is_counted_even_when_another_process_just_took_the_count(
    client, monkeypatch
):
    """Found by `make bench-day`: between this process adding the count of reads made before
    WapiKit stated a budget and adding one to it, another took it (and deleted it); the read run
    failed with "Key ... not found" instead of reading."""
    bucket = "/conversation/:id/messages"
    real_add, calls = share.cache.add, []

    def added_then_taken(*args, **kwargs):
        calls.append(args)
        return True if len(calls) == 1 else real_add(*args, **kwargs)

    monkeypatch.setattr(share.cache, "add", added_then_taken)

    assert share.take(client, bucket, share=0.25) is None
    assert share.cache.get(f"{budget.keys_of(client, bucket).share}:unstated") == 1
