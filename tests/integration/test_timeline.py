"""The timeline learns from the dashboard's own actions and from WapiKit's events, over real
HTTP to the sandbox, and keeps it in the database."""

from __future__ import annotations

import msgspec
import pytest
from django.db import DatabaseError
from django.utils import timezone

from dashboard.conversations import now, timeline
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
