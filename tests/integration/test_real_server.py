"""The dashboard against a sandbox that answers as WapiKit's server code does (REAL-SERVER.md),
over real HTTP: what broke a new user's first visit, and what the dashboard now says when the
server accepts a change and does nothing."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import requests

from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import capabilities, get_client
from tests.integration.conftest import body_of, card_ids, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
UNREADABLE = "WapiKit answered with something the dashboard could not read"


def listed(sandbox, status: str = "Active", *, assigned: bool | None = None) -> list[dict]:
    """Conversations as the server's list gives them (it says no total: read until a short page)."""
    found, page = [], 1
    while True:
        batch = sandbox.get("/conversations", page=page, per_page=50, status=status)["conversations"] or []
        found.extend(c for c in batch if assigned is None or bool(c.get("assignedTo")) == assigned)
        if len(batch) < 50:
            return found
        page += 1


def new_conversation(sandbox, *, assigned_to: str | None = None) -> str:
    """A conversation no member was ever assigned to (the seed's history has ended assignments,
    and the server refuses to assign anyone twice), created as WapiKit's webhook would."""
    response = requests.post(
        f"{sandbox.root_url}/_sandbox/events",
        json={"type": "NewConversation", "text": "Hello, is anyone there?", "name": "Fresh Contact"},
        headers={"x-access-token": sandbox.api_key},
        timeout=5,
    )
    response.raise_for_status()
    cid = response.json()["conversation_id"]
    if assigned_to is not None:
        assert sandbox.post(f"/conversation/{cid}/assign", {"organizationMemberId": assigned_to}).ok
    return cid


def members_by_email(sandbox) -> dict[str, dict]:
    members = sandbox.get("/organization/members", page=1, per_page=500)["members"] or []
    return {m["email"]: m for m in members}


# What broke the first visit


def test_the_first_page_loads_although_members_without_roles_come_as_null(login_as, server_wapikit):
    assert any(m["roles"] is None for m in members_by_email(server_wapikit).values())
    client = login_as("owner")

    response = client.get("/")

    assert response.status_code == 200
    body = body_of(response)
    assert UNREADABLE not in body
    assert len(card_ids(body)) == 25


def test_a_card_never_says_no_messages_beside_a_message_count(login_as, server_wapikit):
    client = login_as("owner")

    body = body_of(client.get("/"))

    cards = re.findall(r'<article class="card.*?</article>', body, flags=re.S)
    assert len(cards) == 25
    for card in cards:
        counted = re.search(r"· (\d+|\?) messages?", card).group(1)
        if counted != "0":
            assert "No messages yet" not in card
            assert "Last message not known yet" in card or 'class="dir"' in card


def test_assignees_on_cards_carry_their_roles_from_the_member_list(login_as, server_wapikit):
    assigned = listed(server_wapikit, assigned=True)
    assert assigned and all(c["assignedTo"]["roles"] == [] for c in assigned), "the server's list sends no roles"
    by_id = {m["uniqueId"]: m for m in members_by_email(server_wapikit).values()}
    with_roles = next(c for c in assigned if by_id[c["assignedTo"]["uniqueId"]]["roles"])
    role = by_id[with_roles["assignedTo"]["uniqueId"]]["roles"][0]

    body = body_of(login_as("owner").get("/?status=active&per_page=50&view=all&sort=unread"))

    card = re.search(rf'id="c-{with_roles["uniqueId"]}".*?</article>', body, re.S)
    assert card, "the assigned conversation is on the page"
    assert f"<summary><bdi>{role['name']}</bdi></summary>" in card[0]


def test_the_unordered_list_is_paged_through_the_scan_in_one_order(login_as, server_wapikit):
    """The server states no total and lists in no order: the default view ("Most recent
    activity") is drawn from the scan, ordered by what the timeline knows, from the very first
    page, so that page 2 never repeats page 1."""
    assert server_wapikit.get("/conversations", page=1, per_page=25, status="Active")["paginationMeta"]["total"] == 0
    active = listed(server_wapikit)
    client = login_as("manager")

    first = body_of(client.get("/"))
    second = body_of(client.get("/?page=2"))

    assert len(card_ids(first)) == 25
    assert len(card_ids(second)) == min(25, len(active) - 25)
    assert not set(card_ids(second)) & set(card_ids(first))
    assert f"searched all {len(active)} active conversations" in first


def test_a_scan_never_claims_to_have_searched_all_zero(login_as, server_wapikit):
    active = listed(server_wapikit)
    client = login_as("manager")

    body = body_of(client.get("/?view=unassigned"))

    assert "searched all 0" not in body
    assert f"searched all {len(active)} active conversations" in body
    unassigned = [c["uniqueId"] for c in active if not c.get("assignedTo")]
    assert set(card_ids(body)) <= set(unassigned)
    assert len(card_ids(body)) == min(25, len(unassigned))


# Status changes the server accepts and ignores


def test_closing_says_that_wapikit_accepted_it_but_changed_nothing(login_as, server_wapikit, upstream_calls):
    conversation = listed(server_wapikit)[0]
    cid = conversation["uniqueId"]
    client = login_as("manager")
    client.get("/")
    upstream_calls.clear()

    response = client.post(f"/conversations/{cid}/close/", {"seen": f"Active:{(conversation.get('assignedTo') or {}).get('uniqueId', '')}"}, **HTMX)

    assert response.status_code == 200
    body = body_of(response)
    assert (
        "WapiKit accepted the request but did not change the status: the conversation is still Active." in body
    )
    assert '<span class="badge badge-active">Active</span>' in body
    assert "Closed the conversation" not in body
    path = f"/conversation/{cid}"
    assert [(c.method, c.path) for c in upstream_calls] == [("GET", path), ("POST", path), ("GET", path)]
    entry = AuditEntry.objects.get(conversation_id=cid)
    assert entry.outcome == AuditEntry.Outcome.IGNORED
    assert (entry.before_status, entry.after_status) == ("Active", "Active")


def test_once_status_changes_are_known_to_be_ignored_the_inbox_says_so(login_as, server_wapikit):
    cid = listed(server_wapikit)[0]["uniqueId"]
    owner = login_as("owner")
    assert "has not been applying status changes" not in body_of(owner.get("/"))

    owner.post(f"/conversations/{cid}/close/", {"seen": "Active:?"}, **HTMX)
    body = body_of(owner.get("/"))

    assert "WapiKit has not been applying status changes." in body
    assert "only logs status updates" in body, "Owners are told why"
    assert 'aria-describedby="status-note"' in body


def test_the_note_goes_as_soon_as_a_status_change_works(login_as, server_wapikit):
    client = get_client()
    client.capabilities.learn(capabilities.STATUS_UPDATES_APPLY, False)
    owner = login_as("owner")
    assert "has not been applying status changes" in body_of(owner.get("/"))

    client.capabilities.learn(capabilities.STATUS_UPDATES_APPLY, True)

    assert "has not been applying status changes" not in body_of(owner.get("/"))


def test_a_bulk_close_on_a_server_that_ignores_it_sends_one_and_skips_the_rest(
    login_as, server_wapikit, upstream_calls
):
    get_client().capabilities.learn(capabilities.STATUS_UPDATES_APPLY, False)
    ids = [c["uniqueId"] for c in listed(server_wapikit)[:4]]
    client = login_as("manager")

    response = client.post("/bulk/", {"action": "close", "ids": ids}, **HTMX)

    body = body_of(response)
    assert "1 accepted but not applied by WapiKit" in body
    assert body.count("Not sent: WapiKit accepted the first status change of this batch without applying it") == 3
    assert sum(1 for c in upstream_calls if c.method == "POST") == 1
    outcomes = sorted(AuditEntry.objects.filter(conversation_id__in=ids).values_list("outcome", flat=True))
    assert outcomes == ["ignored", "skipped", "skipped", "skipped"]


def test_a_resolved_conversation_is_shown_by_its_status_with_the_actions_that_make_sense(login_as, server_wapikit):
    resolved = listed(server_wapikit, "Resolved")
    assert resolved, "the server profile seeds Resolved conversations"
    client = login_as("manager")

    body = body_of(client.get("/?status=all&per_page=50&sort=waiting"))

    card = re.search(rf'id="c-{resolved[0]["uniqueId"]}".*?</article>', body, re.S)
    assert card, "All shows every status, Resolved included"
    assert '<span class="badge badge-resolved">Resolved</span>' in card[0]
    assert ">Close</button>" in card[0] and ">Reopen</button>" in card[0]


# Assignment without an assignee in the single answer


def test_reassigning_an_assigned_conversation_is_not_a_false_conflict(login_as, server_wapikit, upstream_calls):
    members = members_by_email(server_wapikit)
    manager, agent = members["manager@example.com"], members["agent@example.com"]
    cid = new_conversation(server_wapikit, assigned_to=manager["uniqueId"])
    assert "assignedTo" not in server_wapikit.get(f"/conversation/{cid}")["conversation"]
    client = login_as("manager")
    upstream_calls.clear()

    response = client.post(
        f"/conversations/{cid}/assign/", {"seen": f"Active:{manager['uniqueId']}", "member_id": agent["uniqueId"]}, **HTMX
    )

    assert response.status_code == 200, body_of(response)
    body = body_of(response)
    assert "Not applied" not in body
    assert f"to <bdi>{agent['name']}</bdi>." in body
    assert f"Assigned to <strong><bdi>{agent['name']}</bdi></strong>" in body
    assert [c.method for c in upstream_calls if c.path.startswith("/conversation/")] == ["GET", "POST"]


def test_unassigning_an_assigned_conversation_draws_it_unassigned(login_as, server_wapikit):
    manager = members_by_email(server_wapikit)["manager@example.com"]
    cid = new_conversation(server_wapikit, assigned_to=manager["uniqueId"])
    client = login_as("manager")

    response = client.post(f"/conversations/{cid}/unassign/", {"seen": f"Active:{manager['uniqueId']}"}, **HTMX)

    assert response.status_code == 200, body_of(response)
    body = body_of(response)
    assert "Unassigned the conversation" in body
    assert '<span class="unassigned">Unassigned</span>' in body
    entry = AuditEntry.objects.get(conversation_id=cid)
    assert (entry.outcome, entry.before_assignee_id, entry.after_assignee_id) == ("succeeded", manager["uniqueId"], "")


def test_the_dashboard_learns_once_that_single_answers_carry_no_assignee(login_as, server_wapikit, upstream_calls):
    get_client().capabilities.forget()
    members = members_by_email(server_wapikit)
    manager, agent = members["manager@example.com"], members["agent@example.com"]
    cid = new_conversation(server_wapikit, assigned_to=manager["uniqueId"])
    client = login_as("manager")

    first = client.post(
        f"/conversations/{cid}/assign/", {"seen": f"Active:{manager['uniqueId']}", "member_id": agent["uniqueId"]}, **HTMX
    )
    learned = len(upstream_calls)
    again = client.post(f"/conversations/{cid}/close/", {"seen": f"Active:{agent['uniqueId']}"}, **HTMX)

    assert first.status_code == 200 and "Not applied" not in body_of(first)
    assert get_client().capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE) is False
    assert "Not applied" not in body_of(again)
    # The probe (a list page and one assigned conversation read alone) ran once, not again.
    assert sum(1 for c in upstream_calls[learned:] if c.path == "/conversations") == 0


def test_reassigning_to_a_member_who_had_it_before_reports_wapikit_s_500(login_as, server_wapikit):
    members = members_by_email(server_wapikit)
    manager, agent = members["manager@example.com"], members["agent@example.com"]
    cid = new_conversation(server_wapikit, assigned_to=manager["uniqueId"])
    client = login_as("owner")
    assert client.post(
        f"/conversations/{cid}/assign/", {"seen": f"Active:{manager['uniqueId']}", "member_id": agent["uniqueId"]}, **HTMX
    ).status_code == 200

    back = client.post(
        f"/conversations/{cid}/assign/", {"seen": f"Active:{agent['uniqueId']}", "member_id": manager["uniqueId"]}, **HTMX
    )

    body = body_of(back)
    assert back.status_code == 502
    assert "WapiKit failed to reassign the conversation with its own internal error (500)." in body
    assert "duplicate key value" in body, "WapiKit's own words are quoted"
    assert "assigned to this member before" in body


def test_a_bulk_reassignment_to_a_former_assignee_never_opens_the_circuit(login_as, server_wapikit, settings):
    """Regression (issue 17): each of WapiKit's 500s to such an assignment counted as WapiKit
    being down, so one bulk action by a member with Assign made every inbox say "WapiKit is
    unreachable"."""
    members = members_by_email(server_wapikit)
    manager, agent = members["manager@example.com"]["uniqueId"], members["agent@example.com"]["uniqueId"]
    ids = [new_conversation(server_wapikit, assigned_to=manager) for _ in range(settings.WAPIKIT_BREAKER_THRESHOLD + 1)]
    for cid in ids:  # the agent's now, with the manager in each one's history
        assert server_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": agent}).ok
    client = login_as("owner")

    response = client.post("/bulk/", {"action": "assign", "ids": ids, "member_id": manager, "next": "/"})

    assert response.status_code == 200
    assert body_of(response).count("assigned to this member before") == len(ids)
    assert not get_client().breaker.is_open
    inbox = client.get("/")
    assert inbox.status_code == 200
    assert "unreachable" not in body_of(inbox)
    assert card_ids(body_of(inbox))


# The conversation page


def test_the_conversation_page_counts_messages_wapikit_could_not_describe(login_as, server_wapikit):
    cid = next(
        c["uniqueId"]
        for c in listed(server_wapikit)
        if any(m is None for m in server_wapikit.get(f"/conversation/{c['uniqueId']}/messages", page=1, per_page=50)["messages"] or [])
    )
    client = login_as("manager")

    response = client.get(f"/conversations/{cid}/")

    assert response.status_code == 200
    body = body_of(response)
    assert re.search(r"\d+ messages? on this page could not be shown", body)
    assert "Assignee not known" in body or "Assigned to" in body or "Unassigned" in body


# Keys


def test_a_key_that_is_not_an_owner_s_says_what_the_administrator_must_do(login_as, server_wapikit, settings):
    settings.WAPIKIT_API_KEY = server_wapikit.api_key + "-member"
    get_client.cache_clear()
    client = login_as("owner")

    response = client.get("/")

    body = body_of(response)
    assert response.status_code == 502
    assert "only lets an Owner&#x27;s key use the conversation and member routes" in body
    assert "WAPIKIT_API_KEY" in body


def test_a_rejected_key_gets_the_other_message(login_as, server_wapikit, settings):
    settings.WAPIKIT_API_KEY = "not-a-key"
    get_client.cache_clear()
    client = login_as("owner")

    body = body_of(client.get("/"))

    assert "WapiKit refused the dashboard&#x27;s API key" in body


# The older server


def test_against_the_older_server_assign_is_sent_again_as_get_and_works(login_as, legacy_wapikit, upstream_calls):
    cid = new_conversation(legacy_wapikit)
    agent = member_ids(legacy_wapikit)["agent@example.com"]
    client = login_as("manager")

    first = client.post(f"/conversations/{cid}/assign/", {"seen": "Active:", "member_id": agent}, **HTMX)
    second = client.post(f"/conversations/{new_conversation(legacy_wapikit)}/assign/", {"seen": "Active:", "member_id": agent}, **HTMX)

    assert first.status_code == 200, body_of(first)
    assert "Assigned the conversation" in body_of(first) and "Assigned the conversation" in body_of(second)
    assign = [(c.method, c.status) for c in upstream_calls if c.path.endswith("/assign")]
    assert assign == [("POST", 405), ("GET", 200), ("GET", 200)], "the 405 is met once, then remembered"
    assert agent in {c["assignedTo"]["uniqueId"] for c in listed(legacy_wapikit, assigned=True) if c["uniqueId"] == cid}


def waiting_since_in(sandbox, cid: str) -> datetime | None:
    """When the contact started waiting, from the conversation's messages as the server has them."""
    messages = [m for m in sandbox.get(f"/conversation/{cid}/messages", page=1, per_page=50)["messages"] or [] if m]
    since = None
    for message in sorted(messages, key=lambda m: m["createdAt"], reverse=True):
        if message["direction"] != "InBound":
            break
        since = datetime.fromisoformat(message["createdAt"])
    return since


def test_oldest_waiting_first_orders_what_the_timeline_knows_and_says_how_much(login_as, server_wapikit):
    """The server's lists carry no messages: what the timeline learned (here, from opening six
    conversations) orders the view, and the page says how much of it is known."""
    active = listed(server_wapikit)
    client = login_as("manager")
    opened = [c["uniqueId"] for c in active[:6]]
    for cid in opened:
        assert client.get(f"/conversations/{cid}/").status_code == 200
    waits = {cid: since for cid in opened if (since := waiting_since_in(server_wapikit, cid)) is not None}

    body = body_of(client.get("/?sort=waiting"))

    assert waits, "the sandbox's first conversations have someone waiting"
    assert card_ids(body)[: len(waits)] == sorted(waits, key=waits.get)
    assert f"sorted by what is known of {len(opened)} of {len(active)} conversations" in body
    assert "cannot order them" not in body


def test_a_contact_with_null_attributes_makes_the_server_fail_and_the_page_says_so(login_as, server_wapikit):
    server_wapikit.control(null_attributes=True)  # the server's list then panics: 500 {"message"}
    client = login_as("manager")

    response = client.get("/")

    body = body_of(response)
    assert response.status_code == 502
    assert "Conversations could not be loaded." in body
    assert "WapiKit had an internal error (500)." in body
    assert "Traceback" not in body
