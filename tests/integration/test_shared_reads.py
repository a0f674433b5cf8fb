"""Shared reads over real HTTP to the sandbox: any number of users asking for the same thing
within its lifetime cost WapiKit one call (one at a time, however many ask at once); the
dashboard's own writes show at once in every cached view; WapiKit's events reach the cached
inbox and are pushed to open streams; a spent budget shows the last copy with its age."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

import msgspec
import pytest
from django.test import Client
from django.utils import timezone

from dashboard.conversations import live_state as state
from dashboard.conversations import reads
from dashboard.live import delivery
from dashboard.wapikit import budget, get_client
from dashboard.wapikit.decode import NewConversation, NewMessage
from dashboard.wapikit.types import Conversation, Message
from tests.integration.conftest import body_of, card_ids, first_conversation, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sharing(settings):
    """Shared reads on, as in production (the suite turns them off for tests that change
    WapiKit behind the dashboard's back)."""
    settings.WAPIKIT_LIST_CACHE_SECONDS = 15
    settings.WAPIKIT_CONVERSATION_CACHE_SECONDS = 15
    return settings


def list_calls(calls) -> list:
    return [c for c in calls if c.method == "GET" and c.path == "/conversations"]


# One upstream call for everyone


def test_many_identical_reads_at_once_cost_one_upstream_call(wapikit, sharing, upstream_calls):
    # Slow enough that every reader arrives while the first one's call is under way.
    wapikit.control(latency_ms=300)
    readers = 12
    start = threading.Barrier(readers)
    pages = []

    def read() -> None:
        start.wait()
        pages.append(reads.conversation_page(page=1, per_page=25, status="Active")[0])

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(pages) == readers
    assert len(list_calls(upstream_calls)) == 1
    assert {tuple(c.unique_id for c in page.conversations) for page in pages} == {
        tuple(c.unique_id for c in pages[0].conversations)
    }, "every reader got the one answer"


def test_two_users_on_the_same_inbox_within_the_lifetime_cost_one_list_call(
    login_as, wapikit, sharing, upstream_calls, make_user
):
    manager = login_as("manager")
    owner = Client()
    owner.force_login(make_user("owner"))

    first = manager.get("/")
    first_cost = len(list_calls(upstream_calls))
    second = owner.get("/")

    assert first.status_code == second.status_code == 200
    assert card_ids(body_of(first)) == card_ids(body_of(second))
    assert len(list_calls(upstream_calls)) == first_cost, "the second user's inbox costs no list read"
    if wapikit.profile != "server":
        assert first_cost == 1  # the server's unordered lists are read through the scan: its pages


def test_live_refresh_polls_from_any_number_of_tabs_cost_one_list_call(
    login_as, wapikit, sharing, upstream_calls
):
    client = login_as("manager")
    client.get("/")
    upstream_calls.clear()

    for _ in range(20):
        assert client.get("/inbox/changes/?status=active&v=&busy=", **HTMX).status_code in (200, 204)

    assert list_calls(upstream_calls) == [], "the inbox's own read still serves every poll"


# The dashboard's own writes


def test_a_conversation_assigned_from_active_unassigned_leaves_that_view_at_once(
    login_as, fresh_wapikit, sharing, upstream_calls
):
    client = login_as("manager")
    before = client.get("/?view=unassigned")
    shown = card_ids(body_of(before))
    assert shown
    taken = shown[0]
    agent = member_ids(fresh_wapikit)["agent@example.com"]
    upstream_calls.clear()

    assigned = client.post(
        f"/conversations/{taken}/assign/", {"next": "/?view=unassigned", "member_id": agent, "seen": "Active:"}, **HTMX
    )
    after = client.get("/?view=unassigned")

    assert assigned.status_code == 200
    assert taken not in card_ids(body_of(after))
    assert set(shown[1:]) <= set(card_ids(body_of(after))), "the others stay"
    assert list_calls(upstream_calls) == [], "the cached scan was updated, not read again"


def test_a_closed_conversation_shows_closed_in_the_cached_all_view(login_as, fresh_wapikit, sharing):
    if fresh_wapikit.profile == "server":
        pytest.skip("WapiKit's server accepts a status change and applies nothing (REAL-SERVER.md)")
    client = login_as("manager")
    first = body_of(client.get("/?status=all"))
    closing = re.findall(r'<article class="card status-active[^"]*"\s+id="c-([0-9a-f-]{36})"', first)[0]

    client.post(f"/conversations/{closing}/close/", {"next": "/?status=all"}, **HTMX)
    after = body_of(client.get("/?status=all"))

    assert re.findall(rf'<article class="card status-(\w+)[^"]*"\s+id="c-{closing}"', after) == ["closed"]


# WapiKit's events


def inbound_text(text: str, *, conversation_id: str) -> Message:
    return msgspec.convert(
        {
            "uniqueId": "5f0c0d7e-0000-4000-8000-000000000001",
            "conversationId": conversation_id,
            "direction": "InBound",
            "messageType": "Text",
            "messageData": {"text": text},
            "status": "Delivered",
            "createdAt": timezone.now().isoformat(),
        },
        Message,
    )


def test_a_new_message_event_reaches_the_cached_inbox_without_an_upstream_call(
    login_as, wapikit, sharing, upstream_calls
):
    client = login_as("manager")
    page = client.get("/")
    target = card_ids(body_of(page))[3]
    listed = next(c for c in reads.conversation_page(page=1, per_page=25, status="Active")[0].conversations
                  if c.unique_id == target)
    upstream_calls.clear()
    # As the server's webhook sends it: the conversation without its counts.
    event = NewMessage(
        conversation=msgspec.structs.replace(listed, number_of_unread_messages=0, message_list=None),
        message=inbound_text("Is my order on its way?", conversation_id=target),
    )

    delivery.apply(event)
    after = body_of(client.get("/"))

    assert list_calls(upstream_calls) == []
    card = after[after.index(f'id="c-{target}"'):][:3000]
    assert "Is my order on its way?" in card
    assert f"{listed.number_of_unread_messages + 1} unread" in card


def test_a_new_conversation_event_adds_it_to_the_views_it_matches(login_as, wapikit, sharing, upstream_calls):
    client = login_as("manager")
    client.get("/?view=unassigned")
    existing = first_conversation(wapikit, "Active", assigned=False)
    fresh = msgspec.convert(
        {**existing, "uniqueId": "0b8e5a52-7a2b-4c44-9a55-7a1d2f3c4b5e", "assignedTo": None,
         "contact": {**existing["contact"], "name": "Nadia New-Customer"}},
        Conversation,
    )
    upstream_calls.clear()

    delivery.apply(NewConversation(conversation=fresh))
    after = body_of(client.get("/?view=unassigned"))

    assert "Nadia New-Customer" in after
    assert list_calls(upstream_calls) == []


def test_the_inbox_says_live_updates_are_paused_when_no_listener_reports(login_as, wapikit):
    client = login_as("manager")

    page = body_of(client.get("/"))

    note = page[page.index('id="live-note"') - 40 :][:400]
    assert "hidden" not in note.split(">")[0]
    assert "Live updates are paused" in note


def handed_state(reported: str = state.CONNECTED) -> delivery._Handed:
    now = time.time()
    return delivery._Handed(
        "state", body=msgspec.Raw(msgspec.json.encode(state.StreamState(state=reported, since=now, reported_at=now)))
    )


def test_the_listener_s_hand_over_needs_the_signature(client, wapikit):
    body = delivery._sealed(handed_state())

    forged = client.post("/live/ingest/", body, content_type="application/json", HTTP_X_LIVE_SIGNATURE="0" * 64)
    assert forged.status_code == 403
    assert state.current().state == state.NOT_RUNNING

    signed = client.post(
        "/live/ingest/", body, content_type="application/json", HTTP_X_LIVE_SIGNATURE=delivery._signature(body)
    )
    assert signed.status_code == 204
    assert state.current().state == state.CONNECTED


def ingest(client, body: bytes):
    return client.post(
        "/live/ingest/", body, content_type="application/json", HTTP_X_LIVE_SIGNATURE=delivery._signature(body)
    )


def test_a_signed_hand_over_is_taken_once(client, wapikit):
    """Regression (issue 17): a signed body could be posted again at will."""
    body = delivery._sealed(handed_state())
    assert ingest(client, body).status_code == 204
    state.store(state.StreamState(state=state.CONNECTING, since=time.time(), reported_at=time.time()))

    replayed = ingest(client, body)

    assert replayed.status_code == 403
    assert state.current().state == state.CONNECTING


@pytest.mark.parametrize(
    "stamp", [{"sent_at": -31}, {"sent_at": +31}, {}], ids=["31 s old", "31 s ahead", "unstamped, as before"]
)
def test_a_signed_hand_over_that_is_not_fresh_is_refused(stamp, client, wapikit):
    handed = handed_state()
    if stamp:
        handed = msgspec.structs.replace(handed, sent_at=time.time() + stamp["sent_at"], nonce="ab" * 16)
    body = msgspec.json.encode(handed)

    assert ingest(client, body).status_code == 403
    assert state.current().state == state.NOT_RUNNING


# A spent budget


def test_with_the_budget_used_up_the_inbox_shows_its_last_copy_and_since_when(
    login_as, server_wapikit, settings, upstream_calls
):
    settings.WAPIKIT_LIST_CACHE_SECONDS = 1
    settings.WAPIKIT_SCAN_CACHE_SECONDS = 1  # the server's unordered lists are read through the scan
    client = login_as("owner")
    first = client.get("/")
    shown = card_ids(body_of(first))
    assert shown
    read_at = timezone.localtime(datetime.now(tz=UTC)).strftime("%H:%M")
    server_wapikit.control(rate_limits={"conversations": 1})
    time.sleep(1.2)  # the fresh copy's lifetime (1 s) is over; its last copy remains
    try:
        for _ in range(3):
            client.get("/")
            if budget.available(get_client(), "/conversations") == 0:
                break
        time.sleep(1.2)
        upstream_calls.clear()

        answer = client.get("/")
    finally:
        server_wapikit.control(reset=True)

    body = body_of(answer)
    assert answer.status_code == 200
    assert card_ids(body) == shown
    assert "request budget for listing conversations is used up until" in body
    assert "Showing what was read at" in body
    assert list_calls(upstream_calls) == []
    assert read_at[:2] in body


def test_pages_served_by_wsgi_still_open_the_live_stream_the_proxy_routes_to_asgi(login_as, wapikit, settings):
    client = login_as("manager")

    streaming = body_of(client.get("/"))
    settings.LIVE_STREAMS = False
    polling = body_of(client.get("/"))

    assert 'sse-connect="/live/stream/"' in streaming
    assert "sse-connect" not in polling
