"""The timeline learns from the dashboard's own actions and from WapiKit's events, over real
HTTP to the sandbox, and keeps it in the database."""

from __future__ import annotations

import re
from datetime import timedelta

import msgspec
import pytest
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.conversations import backfill, now, timeline
from dashboard.conversations.models import AuditEntry, LifeEvent
from dashboard.wapikit import get_client
from dashboard.wapikit.types import Message
from tests.integration.conftest import first_conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_closing_a_conversation_is_remembered_as_the_dashboard_s_own_action(login_as, fresh_wapikit):
    if fresh_wapikit.profile == "server":
        pytest.skip("the server accepts status changes and applies none")
    client = login_as("manager")
    cid = first_conversation(fresh_wapikit, "Active")["uniqueId"]

    response = client.post(f"/conversations/{cid}/close/", {"next": "/"}, **HTMX)

    assert response.status_code == 200
    life = timeline.life_of(cid)
    assert (life.status, life.status_source) == ("Closed", "action")
    assert [(e.kind, e.source) for e in LifeEvent.objects.filter(conversation_id=cid, kind="closed")] == [
        ("closed", "action")
    ]


def test_a_new_message_from_the_customer_makes_them_waiting_since_it_was_written(wapikit):
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    conversation = get_client().get_conversation(cid)
    written = timezone.now().replace(microsecond=0)
    inbound = Message(
        unique_id="7d0c1e2a-0000-4000-8000-000000000001", conversation_id=cid, direction="InBound",
        created_at=written, type_camel="Text",
    )

    now.message_arrived(msgspec.structs.replace(conversation, message_list=[]), inbound)

    life = timeline.life_of(cid)
    assert life.waiting and life.first_inbound_at == written
    assert (life.last_message_inbound, life.messages_source) == (True, "event")


def test_an_action_wapikit_applied_stands_when_the_timeline_cannot_take_it(login_as, fresh_wapikit, monkeypatch):
    if fresh_wapikit.profile == "server":
        pytest.skip("the server accepts status changes and applies none")
    client = login_as("manager")
    cid = first_conversation(fresh_wapikit, "Active")["uniqueId"]

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(timeline, "learn_state", broken)
    response = client.post(f"/conversations/{cid}/close/", {"next": "/"}, **HTMX)

    assert response.status_code == 200
    assert "Closed the conversation" in response.content.decode()
    assert AuditEntry.objects.get(conversation_id=cid).outcome == "succeeded"


def test_after_a_restart_cards_show_who_waits_at_once_and_nothing_known_is_read_again(
    login_as, server_wapikit, upstream_calls
):
    """The dashboard's memory is its database: a restart (every cache gone, a new client) keeps
    what the timeline learned, so the cards say who waits without a read, and the background
    reads spend nothing on it."""
    active = [c["uniqueId"] for c in server_wapikit.get("/conversations", page=1, per_page=3, status="Active")[
        "conversations"]]
    waiting, read = active[0], active[1]
    conversation = get_client().get_conversation(waiting)
    now.message_arrived(msgspec.structs.replace(conversation, message_list=[]), Message(
        unique_id="7d0c1e2a-0000-4000-8000-0000000000aa", conversation_id=waiting, direction="InBound",
        created_at=timezone.now() - timedelta(minutes=7), type_camel="Text",
    ))
    backfill.wanted([read])
    backfill.read_due.call()

    cache.clear()  # the restart: no process keeps anything but the database
    get_client.cache_clear()
    upstream_calls.clear()
    body = login_as("manager").get("/").content.decode()

    assert re.search(rf'id="c-{waiting}".*?waiting 7 min', body, re.S)
    assert [c for c in upstream_calls if c.route == "/conversation/:id/messages"] == []
    upstream_calls.clear()
    backfill.read_due.call()
    read_again = {c.path.split("/")[2] for c in upstream_calls if c.route == "/conversation/:id/messages"}
    assert waiting not in read_again and read not in read_again


@pytest.mark.django_db(transaction=True)
def test_an_inbox_page_shown_again_takes_no_write_lock(login_as, wapikit):
    """On SQLite every transaction takes the write lock when it begins, and a page waiting for it
    waits in the driver's backoff (tens of ms a try): a page whose conversations the timeline
    knows already, shown again and again by a team, must not open one."""
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite's transactions take the write lock as they begin")
    client = login_as("owner")
    for _ in range(2):  # the first teaches the timeline what the list carried
        assert client.get("/").status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get("/").status_code == 200
    transactions = [q["sql"] for q in again.captured_queries if q["sql"].startswith(("BEGIN", "SAVEPOINT"))]
    assert transactions == []
    assert any("conversations_lifeevent" in q["sql"] for q in again.captured_queries), "the page still checks"


def test_a_kept_list_answer_is_taken_into_the_timeline_once(login_as, wapikit, settings):
    """A list answer WapiKit gave is learned by the request that read it; the views of the kept
    copy (every user's, for the cache's lifetime) ask the log nothing again."""
    settings.WAPIKIT_LIST_CACHE_SECONDS = 60
    client = login_as("owner")
    with CaptureQueriesContext(connection) as first:
        assert client.get("/").status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get("/").status_code == 200
    assert any("conversations_lifeevent" in q["sql"] for q in first.captured_queries)
    assert not any("conversations_lifeevent" in q["sql"] for q in again.captured_queries)
