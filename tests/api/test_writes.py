"""Writes through the API: the web's service does them, audited via "API" with the token's
name; a stale `seen`/`If-Match` answers 409 and sends nothing; bulk answers the web's report."""

from __future__ import annotations

import pytest

from dashboard.conversations.models import AuditEntry
from tests.api.conftest import problem_of
from tests.integration.conftest import first_conversation, member_ids, never_assigned_to, true_state

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_closing_is_done_by_the_service_and_audited_as_api_with_the_token_s_name(
    caller, fresh_wapikit, warm, upstream_calls
):
    who = caller("manager", scopes=["read", "close"], name="stale closer")
    conversation = first_conversation(fresh_wapikit, "Active")
    cid = conversation["uniqueId"]
    warm(upstream_calls)

    answer = who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed"})

    assert answer.status_code == 200, answer.content
    body = answer.json()
    entry = AuditEntry.objects.get()
    assert (entry.via, entry.token_name, entry.user_email, entry.action) == (
        "api", "stale closer", "manager@example.com", "close"
    )
    if fresh_wapikit.profile == "server":
        assert body["outcome"] == entry.outcome == "ignored"
        assert "did not change the status" in body["message"]
    else:
        assert body["outcome"] == entry.outcome == "succeeded"
        assert body["conversation"]["status"] == "Closed" == true_state(fresh_wapikit, cid)["status"]
        assert answer["ETag"] == f'"{body["conversation"]["version"]}"'
    # The role, read fresh for a write; then the conflict check's read and the write.
    assert [(c.method, c.route) for c in upstream_calls][:3] == [
        ("GET", "/organization/members"), ("GET", "/conversation/:id"), ("POST", "/conversation/:id")
    ]


def test_assign_and_unassign(caller, fresh_wapikit, warm, upstream_calls):
    who = caller("manager", scopes=["read", "assign", "unassign"], name="router bot")
    agent = member_ids(fresh_wapikit)["agent@example.com"]
    cid = never_assigned_to(fresh_wapikit, agent)["uniqueId"]
    warm(upstream_calls)

    assigned = who.post(f"/api/v1/conversations/{cid}/assign", {"member_id": agent})
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["conversation"]["assigned_to"]["id"] == agent
    assert true_state(fresh_wapikit, cid)["assignee"] == agent

    unassigned = who.post(f"/api/v1/conversations/{cid}/unassign", {})
    assert unassigned.status_code == 200
    assert unassigned.json()["outcome"] == "succeeded"
    assert true_state(fresh_wapikit, cid)["assignee"] == ""
    assert list(AuditEntry.objects.values_list("action", "via", "token_name", "outcome").order_by("id")) == [
        ("assign", "api", "router bot", "succeeded"), ("unassign", "api", "router bot", "succeeded"),
    ]


def test_assigning_to_someone_outside_the_organisation_is_refused_before_wapikit(caller, wapikit, warm, upstream_calls):
    who = caller("owner")
    cid = first_conversation(wapikit)["uniqueId"]
    warm(upstream_calls)
    answer = who.post(f"/api/v1/conversations/{cid}/assign", {"member_id": "00000000-0000-4000-8000-000000000000"})
    assert answer.status_code == 404  # as WapiKit answers an unknown member
    assert problem_of(answer)["detail"] == "That member is not in this WapiKit organisation."
    assert [c.route for c in upstream_calls] == ["/organization/members"]  # the role, read fresh for a write


def test_an_empty_if_match_is_refused_and_sends_nothing(caller, fresh_wapikit, warm, upstream_calls):
    """Found by the schema's negative chains: an empty If-Match was taken for none, and the write
    went through unchecked."""
    who = caller("owner", name="closer bot")
    cid = first_conversation(fresh_wapikit, "Active", assigned=False)["uniqueId"]
    warm(upstream_calls)

    answer = who.post(f"/api/v1/conversations/{cid}/unassign", {}, HTTP_IF_MATCH="")

    assert answer.status_code == 400, answer.content
    assert "If-Match" in answer.content.decode()
    assert [c.route for c in upstream_calls if c.route.startswith("/conversation/")] == []
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("how", ["if-match", "seen"])
def test_a_stale_version_answers_409_with_what_changed_and_sends_nothing(how, caller, fresh_wapikit, warm, upstream_calls):
    who = caller("owner", name="closer bot")
    conversation = first_conversation(fresh_wapikit, "Active", assigned=True)
    cid = conversation["uniqueId"]
    stale = f"Active:{member_ids(fresh_wapikit)['norole@example.com']}"  # as if someone reassigned it since
    if conversation["assignedTo"]["uniqueId"] == stale.split(":")[1]:
        stale = "Active:"
    warm(upstream_calls)

    if how == "if-match":
        answer = who.post(f"/api/v1/conversations/{cid}/unassign", {}, HTTP_IF_MATCH=f'"{stale}"')
    else:
        answer = who.post(f"/api/v1/conversations/{cid}/unassign", {"seen": stale})

    if fresh_wapikit.profile == "server":
        # The server's single answer never says who is assigned: the check compares the status only.
        assert answer.status_code == 200
        return
    assert answer.status_code == 409, answer.content
    body = problem_of(answer)
    assert body["kind"] == "conflict"
    assert any("reassigned" in change for change in body["changes"])
    assert body["conversation"]["id"] == cid
    assert [c.route for c in upstream_calls] == ["/organization/members", "/conversation/:id"]
    assert AuditEntry.objects.get().outcome == "skipped"
    assert true_state(fresh_wapikit, cid)["assignee"] == conversation["assignedTo"]["uniqueId"]


def test_a_status_conflict_is_a_409_on_both_profiles(caller, wapikit, warm, upstream_calls):
    who = caller("owner")
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    warm(upstream_calls)
    answer = who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed", "seen": "Closed:?"})
    assert answer.status_code == 409
    assert "its status changed from Closed to Active" in problem_of(answer)["detail"]
    assert [c.route for c in upstream_calls] == ["/organization/members", "/conversation/:id"]


def test_a_denied_write_is_audited_and_nothing_is_sent(caller, wapikit, warm, upstream_calls):
    who = caller("agent", name="agent bot")
    cid = first_conversation(wapikit)["uniqueId"]
    warm(upstream_calls)
    answer = who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed"})
    assert answer.status_code == 403
    assert problem_of(answer)["detail"] == "Your WapiKit role does not allow you to close conversations."
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.via, entry.token_name) == ("denied", "api", "agent bot")
    assert upstream_calls == []


def test_bulk_answers_the_web_s_per_item_report_audited_as_api(caller, fresh_wapikit, warm, upstream_calls):
    who = caller("owner", scopes=["unassign"], name="nightly")
    assigned = [c["uniqueId"] for c in fresh_wapikit.get("/conversations", page=1, per_page=50, status="Active")["conversations"]
                if c.get("assignedTo")][:3]
    missing = "00000000-0000-4000-8000-000000000000"
    warm(upstream_calls)

    answer = who.post("/api/v1/conversations/bulk", {"action": "unassign", "ids": [*assigned, missing]})

    assert answer.status_code == 200, answer.content
    report = answer.json()
    groups = {item["conversation_id"]: item["group"] for item in report["items"]}
    assert groups[missing] == "failed"
    assert all(groups[cid] == "succeeded" for cid in assigned)
    assert report["counts"] == {"succeeded": 3, "skipped": 0, "ignored": 0, "failed": 1}
    assert set(AuditEntry.objects.values_list("via", "token_name")) == {("api", "nightly")}
    assert AuditEntry.objects.count() == 4


def test_bulk_needs_the_action_s_scope(caller, wapikit, warm, upstream_calls):
    who = caller("owner", scopes=["read", "close"])
    warm(upstream_calls)
    answer = who.post("/api/v1/conversations/bulk", {"action": "assign", "ids": [first_conversation(wapikit)["uniqueId"]],
                                                     "member_id": member_ids(wapikit)["agent@example.com"]})
    assert answer.status_code == 403
    assert problem_of(answer)["kind"] == "missing_scope"
    assert upstream_calls == [] and not AuditEntry.objects.exists()
