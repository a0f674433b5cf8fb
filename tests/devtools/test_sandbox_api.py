"""The embedded sandbox answers as WapiKit does: the key check, paging rules, filters,
ordering, status updates, assignment, errors as `{"message"}`, and its latency knob."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.integration.conftest import conversations_with, first_conversation, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def call(sandbox, method: str, path: str, *, key: str | None = "default", **kwargs) -> requests.Response:
    headers = {} if key is None else {"x-access-token": sandbox.api_key if key == "default" else key}
    return requests.request(method, f"{sandbox.base_url}{path}", headers=headers, timeout=5, **kwargs)


def list_page(sandbox, *, key: str | None = "default", **params) -> requests.Response:
    return call(sandbox, "GET", "/conversations", key=key, params={"page": 1, "per_page": 50, **params})


def last_activity(conversation: dict) -> str:
    times = [m["createdAt"] for m in conversation["messages"]] or [conversation["createdAt"]]
    return max(times)


# Authentication


@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["no key", "wrong key"])
def test_a_request_without_the_right_key_is_refused_with_401_and_a_message(sandbox, key):
    response = list_page(sandbox, key=key)

    assert response.status_code == 401
    assert isinstance(response.json()["message"], str) and response.json()["message"]
    assert "conversations" not in response.json()


# Paging rules


def test_page_numbers_start_at_one_and_page_zero_is_rejected(sandbox):
    assert list_page(sandbox, page=1).status_code == 200

    response = list_page(sandbox, page=0)

    assert response.status_code == 400
    assert response.json()["message"]


def test_a_page_past_the_end_however_far_is_empty_and_one_past_int64_is_rejected(sandbox):
    """WapiKit reads pages as int64 (the spec's format): the sandbox answered a page past what
    SQLite can bind with an unhandled 500."""
    far = list_page(sandbox, page=10**15)
    past_int64 = list_page(sandbox, page=99999999999999999999999)

    assert far.status_code == 200
    assert not far.json()["conversations"]
    assert past_int64.status_code == 400


def test_more_than_fifty_per_page_is_rejected_with_a_message(sandbox):
    assert list_page(sandbox, per_page=50).status_code == 200

    response = list_page(sandbox, per_page=51)

    assert response.status_code == 400
    assert "50" in response.json()["message"]


# Filters and order


def test_the_default_list_contains_only_active_conversations(sandbox):
    default = list_page(sandbox).json()
    active = list_page(sandbox, status="Active").json()

    assert default["conversations"], "the seeded sandbox has active conversations"
    assert {c["status"] for c in default["conversations"]} == {"Active"}
    assert default["paginationMeta"]["total"] == active["paginationMeta"]["total"]
    closed_total = list_page(sandbox, status="Closed").json()["paginationMeta"]["total"]
    assert closed_total > 0, "closed conversations exist but are left out of the default list"


@pytest.mark.parametrize("status", ["Closed", "Deleted", "Active"])
def test_the_status_filter_returns_only_conversations_of_that_status(sandbox, status):
    answer = list_page(sandbox, status=status).json()

    assert answer["conversations"]
    assert {c["status"] for c in answer["conversations"]} == {status}
    assert answer["paginationMeta"] == {"page": 1, "per_page": 50, "total": answer["paginationMeta"]["total"]}


def test_an_unknown_status_filter_is_rejected(sandbox):
    response = list_page(sandbox, status="Archived")

    assert response.status_code == 400
    assert response.json()["message"]


def test_order_asc_lists_oldest_activity_first_and_desc_newest_first(sandbox):
    ascending = list_page(sandbox, order="asc").json()["conversations"]
    descending = list_page(sandbox, order="desc").json()["conversations"]
    default = list_page(sandbox).json()["conversations"]

    asc_times = [last_activity(c) for c in ascending]
    desc_times = [last_activity(c) for c in descending]
    assert asc_times == sorted(asc_times)
    assert desc_times == sorted(desc_times, reverse=True)
    assert asc_times[0] < desc_times[0]
    assert [c["uniqueId"] for c in default] == [c["uniqueId"] for c in descending], "desc is the default"


def test_the_campaign_filter_returns_only_that_campaigns_conversations(sandbox):
    everything = conversations_with(sandbox, "Active")
    campaign_id = next(c["campaignId"] for c in everything if c.get("campaignId"))
    expected = {c["uniqueId"] for c in everything if c.get("campaignId") == campaign_id}

    answer = list_page(sandbox, status="Active", campaign_id=campaign_id).json()

    assert {c["uniqueId"] for c in answer["conversations"]} == expected
    assert answer["paginationMeta"]["total"] == len(expected)
    assert len(expected) < len(everything)


def test_the_contact_filter_returns_only_that_contacts_conversations(sandbox):
    conversation = first_conversation(sandbox, "Closed")

    answer = list_page(sandbox, status="Closed", contact_id=conversation["contactId"]).json()

    assert [c["uniqueId"] for c in answer["conversations"]] == [conversation["uniqueId"]]
    assert all(c["contact"]["uniqueId"] == conversation["contactId"] for c in answer["conversations"])


def test_a_malformed_campaign_id_is_rejected(sandbox):
    response = list_page(sandbox, campaign_id="not-a-uuid")

    assert response.status_code == 400
    assert response.json()["message"]


# One conversation


def test_a_conversation_is_read_by_its_id(sandbox):
    conversation = first_conversation(sandbox, "Active")

    response = call(sandbox, "GET", f"/conversation/{conversation['uniqueId']}")

    assert response.status_code == 200
    answer = response.json()["conversation"]
    assert answer["uniqueId"] == conversation["uniqueId"]
    assert answer["contact"]["name"] == conversation["contact"]["name"]


def test_an_unknown_conversation_id_answers_404_with_a_message(sandbox):
    response = call(sandbox, "GET", f"/conversation/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json()["message"]


def test_closing_a_conversation_answers_the_whole_conversation_with_status_closed(fresh_wapikit):
    sandbox = fresh_wapikit
    conversation = first_conversation(sandbox, "Active")

    response = call(sandbox, "POST", f"/conversation/{conversation['uniqueId']}", json={"status": "Closed"})

    assert response.status_code == 200
    answer = response.json()["conversation"]
    assert answer["uniqueId"] == conversation["uniqueId"]
    assert answer["status"] == "Closed"
    assert answer["contact"] == conversation["contact"]
    assert answer["tags"] == conversation["tags"]
    assert {"messages", "createdAt", "numberOfUnreadMessages", "initiatedBy", "organizationId"} <= answer.keys()
    assert sandbox.get(f"/conversation/{conversation['uniqueId']}")["conversation"]["status"] == "Closed"


@pytest.mark.parametrize("body", [{"status": "Archived"}, {"status": "closed"}, {}], ids=["unknown", "lowercase", "missing"])
def test_an_invalid_status_update_is_rejected_and_changes_nothing(sandbox, body):
    conversation = first_conversation(sandbox, "Active")

    response = call(sandbox, "POST", f"/conversation/{conversation['uniqueId']}", json=body)

    assert response.status_code == 400
    assert response.json()["message"]
    assert sandbox.get(f"/conversation/{conversation['uniqueId']}")["conversation"]["status"] == "Active"


# Assignment


def test_assigning_answers_data_true_and_the_conversation_then_shows_the_assignee(fresh_wapikit):
    sandbox = fresh_wapikit
    conversation = first_conversation(sandbox, "Active", assigned=False)
    agent_id = member_ids(sandbox)["agent@example.com"]

    response = call(
        sandbox, "POST", f"/conversation/{conversation['uniqueId']}/assign", json={"organizationMemberId": agent_id}
    )

    assert response.status_code == 200
    assert response.json() == {"data": True}
    assigned = sandbox.get(f"/conversation/{conversation['uniqueId']}")["conversation"]["assignedTo"]
    assert assigned["uniqueId"] == agent_id
    assert assigned["email"] == "agent@example.com"
    assert [role["name"] for role in assigned["roles"]] == ["Support agent"]


def test_assigning_to_an_unknown_member_is_rejected(sandbox):
    conversation = first_conversation(sandbox, "Active")

    response = call(
        sandbox,
        "POST",
        f"/conversation/{conversation['uniqueId']}/assign",
        json={"organizationMemberId": str(uuid.uuid4())},
    )

    assert response.status_code == 400
    assert response.json()["message"]


def test_unassigning_needs_the_current_assignees_id(fresh_wapikit):
    sandbox = fresh_wapikit
    conversation = first_conversation(sandbox, "Active", assigned=True)
    assignee = conversation["assignedTo"]["uniqueId"]
    someone_else = next(i for i in member_ids(sandbox).values() if i != assignee)
    path = f"/conversation/{conversation['uniqueId']}/unassign"

    wrong = call(sandbox, "POST", path, json={"userId": someone_else})

    assert wrong.status_code == 400
    assert wrong.json()["message"]
    assert sandbox.get(f"/conversation/{conversation['uniqueId']}")["conversation"]["assignedTo"]["uniqueId"] == assignee

    right = call(sandbox, "POST", path, json={"userId": assignee})

    assert right.status_code == 200
    assert right.json() == {"data": True}
    assert "assignedTo" not in sandbox.get(f"/conversation/{conversation['uniqueId']}")["conversation"]


# Messages and members


def test_messages_page_oldest_first_without_overlap(sandbox):
    conversation = next(
        c for c in conversations_with(sandbox, "Active") if (c.get("totalMessages") or 0) >= 5
    )
    path = f"/conversation/{conversation['uniqueId']}/messages"
    total = conversation["totalMessages"]

    first = sandbox.get(path, page=1, per_page=2, order="asc")
    second = sandbox.get(path, page=2, per_page=2, order="asc")
    everything = sandbox.get(path, page=1, per_page=50, order="asc")

    assert first["paginationMeta"] == {"page": 1, "per_page": 2, "total": total}
    assert second["paginationMeta"] == {"page": 2, "per_page": 2, "total": total}
    assert len(everything["messages"]) == total
    ids = [m["uniqueId"] for m in everything["messages"]]
    assert [m["uniqueId"] for m in first["messages"]] == ids[:2]
    assert [m["uniqueId"] for m in second["messages"]] == ids[2:4]
    times = [m["createdAt"] for m in everything["messages"]]
    assert times == sorted(times)
    assert all(m["conversationId"] == conversation["uniqueId"] for m in everything["messages"])


def test_messages_of_an_unknown_conversation_answer_404(sandbox):
    response = call(sandbox, "GET", f"/conversation/{uuid.uuid4()}/messages", params={"page": 1, "per_page": 10})

    assert response.status_code == 404
    assert response.json()["message"]


def test_members_are_listed_across_all_pages(sandbox):
    first = sandbox.get("/organization/members", page=1, per_page=3)
    total = first["paginationMeta"]["total"]
    members = list(first["members"])
    page = 1
    while len(members) < total:
        page += 1
        answer = sandbox.get("/organization/members", page=page, per_page=3)
        assert answer["members"], f"page {page} is empty before {total} members were listed"
        members.extend(answer["members"])

    assert page == -(-total // 3)
    emails = [m["email"] for m in members]
    assert len(set(emails)) == total == len(emails)
    assert {"owner@example.com", "manager@example.com", "agent@example.com", "norole@example.com"} <= set(emails)
    owner = next(m for m in members if m["email"] == "owner@example.com")
    assert owner["accessLevel"] == "Owner"


# Latency


def test_the_latency_setting_slows_every_call_down(sandbox):
    try:
        assert sandbox.control(latency_ms=150)["latency_ms"] == 150
        started = time.perf_counter()
        response = list_page(sandbox, per_page=1)
        elapsed = time.perf_counter() - started
    finally:
        reset = sandbox.control(latency_ms=0)

    assert response.status_code == 200
    # A lower bound only (the sandbox sleeps 150 ms first): a slower machine can only add to it.
    # How fast a call is without latency is a `make bench` figure.
    assert elapsed >= 0.15
    assert reset["latency_ms"] == 0
    assert sandbox.control()["latency_ms"] == 0, "the setting stays off until changed"
    assert list_page(sandbox, per_page=1).status_code == 200
