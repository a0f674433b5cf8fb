"""The second probe's API findings: no write answer carries what the caller may not read, and
what a token may spend (calls, bulk actions, tokens, WapiKit's budget) is counted per person."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import CommandError, call_command

from dashboard.api.models import ApiToken
from dashboard.conversations import bulk, members
from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import budget, get_client
from tests.api.conftest import problem_of
from tests.conftest import MEMBER_EMAILS, PASSWORD
from tests.integration.conftest import conversations_with, first_conversation
from tests.sandbox_roles import member_permissions  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def contents_of(conversation: dict) -> list[str]:
    """What a conversation holds that a reader sees: its contact's name and phone, its tags."""
    contact = conversation["contact"]
    return [contact["name"], contact["phone"], *(t.get("label") or t.get("name") for t in conversation.get("tags") or [])]


def assert_nothing_of(conversations: list[dict], answer) -> None:
    text = answer.content.decode()
    for conversation in conversations:
        for value in contents_of(conversation):
            assert value not in text, f"{value!r} reached a caller who may not read it"
    assert '"contact"' not in text and '"assigned_to"' not in text


# --- Conflict and bulk answers carry nothing the caller may not read (findings 1 and 2) ---


@pytest.fixture
def updater(caller, member_permissions):
    """A member whose role may close and reopen but not see conversations, with a full token."""
    member_permissions("norole", ["Update:Conversation"])
    return caller("norole")


def test_a_member_who_may_not_read_gets_a_409_without_the_conversation(updater, wapikit):
    conversation = first_conversation(wapikit, "Active")
    cid = conversation["uniqueId"]
    assert updater.get(f"/api/v1/conversations/{cid}").status_code == 403

    answer = updater.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed", "seen": "Closed:"})

    assert answer.status_code == 409
    body = problem_of(answer)
    assert body["detail"] == "Not applied: it changed since you saw it."
    assert "conversation" not in body and "changes" not in body and "ETag" not in answer
    assert_nothing_of([conversation], answer)


def test_a_member_who_may_not_read_gets_a_bulk_report_of_ids_and_outcomes_only(updater, wapikit):
    active = conversations_with(wapikit, "Active")[:20]
    ids = [c["uniqueId"] for c in active]

    answer = updater.post("/api/v1/conversations/bulk", {"action": "reopen", "ids": ids})

    assert answer.status_code == 200, answer.content
    report = answer.json()
    assert [item["conversation_id"] for item in report["items"]] == ids
    assert report["counts"] == {"succeeded": 0, "skipped": 20, "ignored": 0, "failed": 0}
    assert {item["message"] for item in report["items"]} == {"Nothing to do: it was already so."}
    assert all(item["conversation"] is None for item in report["items"])
    assert_nothing_of(active, answer)


def test_a_member_who_may_not_read_is_told_a_skipped_write_without_the_conversation(updater, wapikit):
    conversation = first_conversation(wapikit, "Closed")
    answer = updater.post(f"/api/v1/conversations/{conversation['uniqueId']}/status", {"status": "Closed"})
    assert answer.status_code == 200
    assert answer.json() == {"outcome": "skipped", "message": "Nothing to do: it was already so.", "conversation": None}
    assert "ETag" not in answer


@pytest.mark.parametrize("scopes", [["close"], ["close", "delete", "assign", "unassign"]])
def test_a_token_without_the_read_scope_reads_nothing_through_409s_and_bulk_reports(scopes, caller, wapikit):
    who = caller("owner", scopes=scopes)
    active = conversations_with(wapikit, "Active")[:20]
    cid = active[0]["uniqueId"]

    conflict = who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed", "seen": "Closed:"})
    assert conflict.status_code == 409
    assert problem_of(conflict)["detail"] == "Not applied: it changed since you saw it."
    assert_nothing_of(active[:1], conflict)

    bulk = who.post("/api/v1/conversations/bulk", {"action": "reopen", "ids": [c["uniqueId"] for c in active]})
    assert bulk.status_code == 200
    assert all(item["conversation"] is None for item in bulk.json()["items"])
    assert_nothing_of(active, bulk)


def test_who_may_read_still_gets_the_conversation_with_a_409_and_in_a_bulk_report(caller, wapikit):
    who = caller("owner", scopes=["read", "close"])
    active = conversations_with(wapikit, "Active")[:3]
    cid = active[0]["uniqueId"]

    conflict = problem_of(who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed", "seen": "Closed:"}))
    assert conflict["conversation"]["contact"]["name"] == active[0]["contact"]["name"]
    assert conflict["changes"] == ["its status changed from Closed to Active"]

    bulk = who.post("/api/v1/conversations/bulk", {"action": "reopen", "ids": [c["uniqueId"] for c in active]}).json()
    assert [item["conversation"]["contact"]["name"] for item in bulk["items"]] == [c["contact"]["name"] for c in active]
    assert bulk["items"][0]["message"] == "It is already active."


# --- A write checks the member's role as WapiKit says it now (finding 3) ---


def test_a_role_taken_away_stops_the_token_s_writes_at_once(caller, wapikit, member_permissions, upstream_calls):
    who = caller("manager", scopes=["close"])
    members.members_list()  # the dashboard's cached list still says the manager may close
    member_permissions("manager", ["Get:Conversation"])
    cid = first_conversation(wapikit, "Closed")["uniqueId"]
    upstream_calls.clear()

    single = who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed"})
    many = who.post("/api/v1/conversations/bulk", {"action": "close", "ids": [cid]})

    assert single.status_code == many.status_code == 403
    assert problem_of(single)["kind"] == problem_of(many)["kind"] == "not_permitted"
    # One member list read; nothing else reached WapiKit.
    assert [c.route for c in upstream_calls] == ["/organization/members"]


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_a_permitted_write_costs_one_member_list_read(cache, caller, wapikit, upstream_calls):
    who = caller("manager", scopes=["close"])
    if cache == "warm":
        members.members_list()
    cid = first_conversation(wapikit, "Closed")["uniqueId"]
    upstream_calls.clear()
    answer = who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed"})
    assert answer.status_code == 200 and answer.json()["outcome"] == "skipped"
    assert [c.route for c in upstream_calls] == ["/organization/members", "/conversation/:id"]


def test_the_member_list_read_is_counted_against_the_api_s_share_of_the_budget(caller, wapikit, upstream_calls):
    """60 a minute on members; 40% (24) are kept for the web dashboard."""
    who = caller("manager", scopes=["close"])
    members.members_list()
    cid = first_conversation(wapikit, "Closed")["uniqueId"]
    budget.record(get_client(), "/organization/members", limit=60, remaining=24, reset=int(time.time()) + 60)
    upstream_calls.clear()

    answer = who.post(f"/api/v1/conversations/{cid}/status", {"status": "Closed"})

    assert answer.status_code == 429
    assert "reading members" in problem_of(answer)["detail"]
    assert upstream_calls == []


# --- What a person may spend: bulk actions, calls, tokens (finding 4) ---


@pytest.fixture
def one_clock_minute(monkeypatch):
    """The bulk rate counts per clock minute: the test stays inside one, whatever the clock says."""
    fixed = (time.time() // 60) * 60 + 1
    monkeypatch.setattr(bulk, "time", SimpleNamespace(time=lambda: fixed))


def test_one_bulk_rate_per_person_across_the_web_and_the_api(login_as, caller, wapikit, settings, one_clock_minute):
    settings.BULK_REQUESTS_PER_MINUTE = 3
    browser = login_as("manager")
    script = caller("manager", scopes=["close"])
    closed = {"action": "close", "ids": [first_conversation(wapikit, "Closed")["uniqueId"]]}  # nothing to do

    assert browser.post("/bulk/", {"action": "close"}, HTTP_HX_REQUEST="true").status_code == 400  # counted
    assert [script.post("/api/v1/conversations/bulk", closed).status_code for _ in range(2)] == [200, 200]

    refused = script.post("/api/v1/conversations/bulk", closed)
    assert refused.status_code == 429
    body = problem_of(refused)
    assert body["kind"] == "throttled" and "web and API together" in body["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert browser.post("/bulk/", {"action": "close"}, HTTP_HX_REQUEST="true").status_code == 429
    assert AuditEntry.objects.count() == 2


def test_a_person_s_tokens_share_one_call_rate(caller, wapikit, settings):
    settings.API_TOKEN_RATE = "3/min"
    settings.API_USER_RATE = "4/min"
    first, second = caller("owner", name="first"), caller("owner", name="second")
    assert [first.get("/api/v1/members").status_code for _ in range(3)] == [200, 200, 200]
    assert second.get("/api/v1/members").status_code == 200
    refused = second.get("/api/v1/members")
    assert refused.status_code == 429 and problem_of(refused)["kind"] == "throttled"
    assert caller("manager").get("/api/v1/members").status_code == 200, "another person is not held back"


def test_a_person_holds_at_most_api_tokens_per_user_live_tokens(login_as, wapikit, settings):
    settings.API_TOKENS_PER_USER = 2
    browser = login_as("agent")
    new = {"scopes": ["read"], "expires": "7d"}
    assert [browser.post("/tokens/new/", {**new, "name": name}).status_code for name in ("a", "b")] == [201, 201]

    refused = browser.post("/tokens/new/", {**new, "name": "c"})

    assert refused.status_code == 400
    assert "You already have 2 live tokens, the most one person may hold" in refused.content.decode()
    assert "You may hold up to 2 live tokens" in refused.content.decode()
    with pytest.raises(CommandError, match="You already have 2 live tokens"):
        call_command("create_token", "agent@example.com", "--name", "c", "--scopes", "read")
    ApiToken.objects.filter(name="a").get().revoke()
    assert browser.post("/tokens/new/", {**new, "name": "c"}).status_code == 201
    assert ApiToken.objects.usable().count() == 2


# --- The budget check counts what a call will spend (finding 5) ---


def test_a_list_call_that_scans_is_weighed_by_the_pages_it_reads(caller, wapikit, upstream_calls, settings):
    """A reserve of 20 of 50: a scan of up to 10 pages does not fit in 25."""
    settings.WAPIKIT_SCAN_PAGES = 10
    who = caller("agent")
    members.members_list()
    client = get_client()
    reset = int(time.time()) + 600
    budget.record(client, "/conversations", limit=50, remaining=25, reset=reset)
    upstream_calls.clear()

    refused = who.get("/api/v1/conversations", {"view": "unassigned"})

    assert refused.status_code == 429
    assert "this call needs up to 10" in problem_of(refused)["detail"]
    assert upstream_calls == []

    budget.record(client, "/conversations", limit=50, remaining=50, reset=reset)
    assert who.get("/api/v1/conversations", {"view": "unassigned"}).status_code == 200
    assert budget.available(client, "/conversations") >= 20, "the scan dug into the web's share"

    # The scan is now in the cache: the same view costs nothing, and is answered even at the reserve.
    budget.record(client, "/conversations", limit=50, remaining=20, reset=reset)
    upstream_calls.clear()
    assert who.get("/api/v1/conversations", {"view": "unassigned"}).status_code == 200
    assert [c for c in upstream_calls if c.route == "/conversations"] == []


# --- The member list as the web shows it (finding 6) ---


@pytest.mark.parametrize("kind", ["norole", "agent"])
def test_who_may_not_assign_sees_only_their_own_member(kind, caller, wapikit):
    """The web's member picker and workload are for Assign:Conversation; the no-role member and
    an agent see neither."""
    body = caller(kind).get("/api/v1/members").json()
    assert [m["email"] for m in body] == [MEMBER_EMAILS[kind]]


def test_who_may_assign_sees_every_member(caller, wapikit):
    body = caller("manager").get("/api/v1/members").json()
    assert {m["email"] for m in body} == {m.email for m in members.members_list()}


# --- A changed password ends the tokens, as it ends the sessions (finding 7) ---


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """A hasher the tests may prefer over MD5 without waiting for a million iterations."""

    iterations = 1


def test_changing_the_password_revokes_the_user_s_tokens(caller, wapikit):
    mine, other = caller("owner", name="mine"), caller("manager", name="other")
    assert mine.get("/api/v1/members").status_code == 200

    mine.user.set_password("a-new-passphrase-42")
    mine.user.save()

    refused = mine.get("/api/v1/members")
    assert refused.status_code == 401 and "was revoked on" in problem_of(refused)["detail"]
    assert other.get("/api/v1/members").status_code == 200, "another user's tokens live on"


def test_signing_in_and_upgrading_the_password_s_hash_revokes_nothing(caller, wapikit, settings, client):
    who = caller("owner")
    settings.PASSWORD_HASHERS = [
        "tests.api.test_probe_findings.QuickPBKDF2PasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert client.login(email="owner@example.com", password=PASSWORD)
    who.user.refresh_from_db()
    assert who.user.password.startswith("pbkdf2_sha256$1$"), "the hash was upgraded on sign-in"
    assert who.get("/api/v1/members").status_code == 200


def test_the_tokens_page_says_a_password_change_revokes_them(login_as, wapikit):
    page = login_as("agent").get("/tokens/").content.decode()
    assert "Changing your password revokes all your tokens" in page
