"""Undo from a card's confirmation: the reverse of the user's own action, through the same
service, permission and conflict check as any action, audited as an undo, for its author only,
once, and only for a moment. Runs against both sandbox profiles (scripts/test-server-profile)."""

from __future__ import annotations

import re

import pytest

from dashboard.conversations.models import AuditEntry
from tests.integration.conftest import body_of, conversation_calls, member_ids, never_assigned_to, true_state

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
NEXT = "/?view=unassigned"


def assign(client, sandbox, email: str = "mei.chen@example.com") -> tuple[str, AuditEntry, str]:
    """The manager assigns an unassigned conversation; its id, the audit entry and the card."""
    member = member_ids(sandbox)[email]
    cid = never_assigned_to(sandbox, member)["uniqueId"]
    response = client.post(
        f"/conversations/{cid}/assign/", {"seen": "Active:", "member_id": member, "next": NEXT}, **HTMX
    )
    assert response.status_code == 200
    return cid, AuditEntry.objects.filter(conversation_id=cid).latest("id"), body_of(response)


def undo(client, cid: str, entry: AuditEntry, **extra):
    return client.post(f"/conversations/{cid}/undo/", {"entry": entry.pk, "next": NEXT, **extra}, **HTMX)


def test_an_assign_offers_undo_which_unassigns_it_again_audited_as_its_undo(login_as, fresh_wapikit):
    client = login_as("manager")
    cid, entry, card = assign(client, fresh_wapikit)
    assert re.search(rf'<form class="undo" method="post" action="/conversations/{cid}/undo/"', card)
    assert f'name="entry" value="{entry.pk}"' in card

    response = undo(client, cid, entry)

    assert response.status_code == 200
    answer = body_of(response)
    assert "Undone. Unassigned the conversation with" in answer
    assert 'class="undo"' not in answer, "an undo is not undone in turn"
    assert true_state(fresh_wapikit, cid)["assignee"] == ""
    reverse = AuditEntry.objects.get(undoes=entry)
    assert (reverse.action, reverse.outcome, reverse.user_id) == ("unassign", "succeeded", entry.user_id)


def test_only_the_user_who_acted_may_undo_and_nothing_is_sent_for_anyone_else(login_as, fresh_wapikit, upstream_calls):
    manager = login_as("manager")
    cid, entry, _ = assign(manager, fresh_wapikit)
    owner = login_as("owner")  # the same test client, now signed in as the owner
    upstream_calls.clear()

    response = undo(owner, cid, entry)

    assert response.status_code == 409
    assert "nothing of yours to undo" in body_of(response)
    assert conversation_calls(upstream_calls) == []
    assert not AuditEntry.objects.filter(undoes=entry).exists()
    assert true_state(fresh_wapikit, cid)["assignee"] == member_ids(fresh_wapikit)["mei.chen@example.com"]


def test_an_undo_runs_once_only_and_not_after_its_moment(login_as, fresh_wapikit, upstream_calls, settings):
    client = login_as("manager")
    cid, entry, _ = assign(client, fresh_wapikit)
    assert undo(client, cid, entry).status_code == 200
    upstream_calls.clear()

    again = undo(client, cid, entry)

    assert again.status_code == 409
    assert "undone already" in body_of(again)
    assert conversation_calls(upstream_calls) == []

    settings.ACTION_UNDO_SECONDS = 0
    other, late_entry, card = assign(client, fresh_wapikit, "agent@example.com")
    assert 'class="undo"' not in card, "no Undo is offered once its moment has passed"
    late = undo(client, other, late_entry)
    assert late.status_code == 409
    assert "Too late to undo" in body_of(late)


def test_an_undo_after_a_change_elsewhere_is_a_conflict_whose_apply_anyway_is_still_the_undo(
    login_as, fresh_wapikit
):
    if fresh_wapikit.profile == "server":
        pytest.skip("the server's answer for one conversation never names its assignee: no reassignment to see")
    client = login_as("manager")
    cid, entry, _ = assign(client, fresh_wapikit)
    priya = member_ids(fresh_wapikit)["agent@example.com"]
    assert fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": priya}).ok

    response = undo(client, cid, entry)

    assert response.status_code == 409
    answer = body_of(response)
    assert "Not applied: since you loaded this card" in answer
    assert f'action="/conversations/{cid}/undo/"' in answer
    assert f'name="entry" value="{entry.pk}"' in answer
    assert true_state(fresh_wapikit, cid)["assignee"] == priya
    conflict = AuditEntry.objects.get(undoes=entry)
    assert conflict.outcome == "skipped"
