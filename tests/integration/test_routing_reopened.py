"""Reopened conversations going back to an offline assignee (Chatwoot #9587, #4158), on both
sandbox profiles: reopened while its assignee has been offline past the grace period, a
conversation routing assigned is reassigned by its rule (when the rule routes only to members
online); one a person assigned by hand only under a rule that takes hand-assigned work back."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dashboard.conversations import now
from dashboard.conversations.models import AuditEntry
from dashboard.routing import presence, reopened, running
from dashboard.routing.models import Presence, Rule, TakeBack
from dashboard.wapikit import get_client
from tests.integration.conftest import member_ids, true_state
from tests.integration.test_routing import (  # noqa: F401 - the fixture
    customer_writes,
    manager_assigns,
    never_had,
    rule,
    upstream,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def closed_then_reopened_by_the_customer(cid: str) -> str:
    """The dashboard learned the conversation Closed (a read that says nothing of its assignee);
    then its customer writes and WapiKit reopens it (its NewMessage event carries it Active), as
    the listener hands it to the domain. When it was reopened, as the task enqueued for it has it."""
    closed = msgspec.structs.replace(
        get_client().get_conversation(cid), status="Closed", assigned_to=None, assignee_known=False
    )
    now.is_now(closed, why="read")
    customer_writes(cid)
    planned = DBTaskResult.objects.filter(task_path__endswith="reopened.reopened_task", args_kwargs__args__0=cid)
    assert planned.count() == 1, "one decision per reopen"
    return planned.get().args_kwargs["args"][1]


def offline(member_id: str, *, minutes: float) -> None:
    """The member closed the dashboard `minutes` ago (their stream was open until then)."""
    presence.seen(member_id, at=timezone.now() - timedelta(minutes=minutes, seconds=1))
    presence.left(member_id, at=timezone.now() - timedelta(minutes=minutes))


def test_a_reopened_conversation_whose_assignee_is_offline_goes_to_someone_online(upstream):  # noqa: F811
    ids = member_ids(upstream)
    mei, fatima = ids["mei.chen@example.com"], ids["fatima.elamrani@example.com"]
    rule(member_ids=[mei, fatima], presence=Presence.ONLINE, online_minutes=30, grace_minutes=2)
    cid = next(c for c in never_had(upstream, mei, count=12) if fatima not in true_state(upstream, c)["ever_assigned"])
    presence.seen(mei)
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    assert true_state(upstream, cid)["assignee"] == mei
    presence.seen(fatima)

    # Mei closed the dashboard a minute ago: within the grace period, a flicker moves nothing.
    offline(mei, minutes=1)
    at = closed_then_reopened_by_the_customer(cid)
    assert reopened.reopened_task.call(cid, at) == "assignee online"
    assert true_state(upstream, cid)["assignee"] == mei

    # Past the grace period: the reopened conversation goes to Fatima, who is online.
    offline(mei, minutes=5)
    assert reopened.reopened_task.call(cid, at) == "reassigned"
    assert true_state(upstream, cid)["assignee"] == fatima
    assert reopened.reopened_task.call(cid, at) == "assignee online", "Fatima's now, and she is online"
    record = TakeBack.objects.get(conversation_id=cid)
    assert record.reason == "reopened while offline: closed the dashboard 5 min ago"
    assert (record.from_member_name, record.to_member_name) == ("Mei Chen", facts_name(fatima))
    audited = list(AuditEntry.objects.filter(conversation_id=cid, via=AuditEntry.Via.ROUTING).order_by("id"))
    assert [(e.action, e.outcome) for e in audited] == [
        ("assign", "succeeded"), ("unassign", "succeeded"), ("assign", "succeeded")
    ]
    assert 'Routing rule "Support" took it back from Mei Chen: reopened while offline' in audited[1].detail


def facts_name(member_id: str) -> str:
    return next(m.name for m in get_client().list_members() if m.unique_id == member_id)


def test_a_rule_that_gives_to_anyone_leaves_a_reopened_conversation_with_its_assignee(upstream):  # noqa: F811
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei], presence=Presence.ANYONE)
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    offline(mei, minutes=60)
    at = closed_then_reopened_by_the_customer(cid)
    assert reopened.reopened_task.call(cid, at) == "presence off"
    assert true_state(upstream, cid)["assignee"] == mei


def test_a_conversation_assigned_by_hand_is_moved_on_reopen_only_under_a_rule_that_takes_hand_assigned_work(
    upstream, make_user  # noqa: F811
):
    ids = member_ids(upstream)
    manager, mei = ids["manager@example.com"], ids["mei.chen@example.com"]
    rule(member_ids=[mei], presence=Presence.ONLINE, online_minutes=30, grace_minutes=2)
    cid = next(c for c in never_had(upstream, manager, count=12) if mei not in true_state(upstream, c)["ever_assigned"])
    assert manager_assigns(make_user, cid, "manager@example.com").ok
    presence.seen(mei)
    offline(manager, minutes=10)
    at = closed_then_reopened_by_the_customer(cid)

    assert reopened.reopened_task.call(cid, at) == "not routing's"
    assert true_state(upstream, cid)["assignee"] == manager

    Rule.objects.update(takes_manual=True)
    assert reopened.reopened_task.call(cid, at) == "reassigned"
    assert true_state(upstream, cid)["assignee"] == mei
