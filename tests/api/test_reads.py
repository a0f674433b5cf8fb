"""Reads through the API answer what the inbox, conversation page, member list and audit page
show, from the same selectors."""

from __future__ import annotations

import pytest

from dashboard.conversations import members
from dashboard.conversations.models import AuditEntry
from tests.api.conftest import problem_of
from tests.integration.conftest import card_ids, first_conversation, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.mark.parametrize(
    "query",
    ["", "status=all&per_page=50", "status=Closed", "view=unassigned", "view=mine", "q=a&sort=unread", "page=2"],
)
def test_the_conversation_list_is_the_inbox_s(query, caller, login_as, wapikit):
    web = login_as("manager").get(f"/?{query}")
    api = caller("manager").get(f"/api/v1/conversations?{query}")
    assert api.status_code == 200, api.content
    body = api.json()
    assert [c["id"] for c in body["conversations"]] == card_ids(web.content.decode())
    scanning = any(part.startswith(("view=", "q=", "sort=")) for part in query.split("&"))
    assert (body["scanned"] is not None) == scanning
    if scanning:
        assert "looked" in body["scanned"] or "conversations" in body["scanned"]
    first = body["conversations"][0] if body["conversations"] else None
    if first:
        assert set(first) >= {"id", "status", "contact", "assigned_to", "version", "unread", "last_activity"}


def test_view_member_lists_that_member_s_conversations(caller, wapikit):
    agent = member_ids(wapikit)["agent@example.com"]
    body = caller("owner").get("/api/v1/conversations", {"member": agent}).json()
    assert body["conversations"], "the seed assigns conversations to the agent"
    assert {c["assigned_to"]["id"] for c in body["conversations"]} == {agent}


@pytest.mark.parametrize(
    "query, field", [("status=open", "status"), ("per_page=500", "per_page"), ("member=nope", "member"),
                     ("view=", "view"), ("sort=random", "sort")],
)
def test_unknown_filters_are_refused_with_what_is_wrong(query, field, caller, wapikit, upstream_calls):
    who = caller("owner")
    upstream_calls.clear()
    answer = who.get(f"/api/v1/conversations?{query}")
    assert answer.status_code == 400
    assert field in problem_of(answer)["errors"]
    assert upstream_calls == []


def test_one_conversation_with_a_page_of_messages_and_its_version_as_etag(caller, wapikit):
    conversation = first_conversation(wapikit, assigned=True)
    answer = caller("agent").get(f"/api/v1/conversations/{conversation['uniqueId']}", {"per_page": 5})
    assert answer.status_code == 200
    body = answer.json()
    assert body["conversation"]["id"] == conversation["uniqueId"]
    assert answer["ETag"] == f'"{body["conversation"]["version"]}"'
    assert len(body["messages"]) <= 5
    times = [m["created_at"] for m in body["messages"]]
    assert times == sorted(times)
    assert {"page", "pages", "more", "total", "undescribed"} <= set(body)


def test_a_conversation_wapikit_does_not_have_is_a_404_with_its_message(caller, wapikit):
    answer = caller("owner").get("/api/v1/conversations/00000000-0000-4000-8000-000000000000")
    assert answer.status_code == 404
    body = problem_of(answer)
    assert body["detail"] == "WapiKit has no such conversation: it may have been removed."
    assert body["kind"] == "not_found"


def test_an_id_that_is_not_a_uuid_never_reaches_wapikit(caller, wapikit, upstream_calls):
    who = caller("owner")
    upstream_calls.clear()
    answer = who.get("/api/v1/conversations/..%2forganization")
    assert answer.status_code in (400, 404)
    problem_of(answer)
    assert upstream_calls == []


def test_members_carry_roles_and_permissions(caller, wapikit):
    body = caller("manager").get("/api/v1/members").json()  # who may assign sees the team
    listed = {m.unique_id: m for m in members.members_list()}
    assert {m["id"] for m in body} == set(listed)
    manager = next(m for m in body if m["email"] == "manager@example.com")
    assert manager["roles"] and "Update:Conversation" in manager["permissions"]
    assert manager["permissions"] == sorted(listed[manager["id"]].permissions)


def test_the_audit_log_is_for_owners_and_staff_with_the_page_s_filters(caller, make_user, wapikit):
    AuditEntry(user_email="a@example.com", conversation_id="c1", action="close", via="api", token_name="bot").save()
    AuditEntry(user_email="b@example.com", conversation_id="c2", action="assign", via="card").save()
    owner = caller("owner")
    body = owner.get("/api/v1/audit", {"action": "close"}).json()
    assert [(e["conversation_id"], e["token_name"]) for e in body["entries"]] == [("c1", "bot")]
    assert body["total"] == 1
    assert caller("manager").get("/api/v1/audit").status_code == 403
    staff = make_user("staff@example.com")
    staff.is_staff = True
    staff.save()
    assert caller("staff@example.com").get("/api/v1/audit").json()["total"] == 2
    bad = owner.get("/api/v1/audit", {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in problem_of(bad)["errors"]
