"""Bulk actions, end to end against the sandbox over HTTP: each conversation checked, audited and
reported on its own (succeeded, skipped, failed with the reason), the failed ones retried with one
form, nothing dropped; refusals before anything is sent; conflicts; "select all matching"; htmx
redraws; and 200 conversations closed at 100 ms of upstream latency with one read per page and
concurrent POSTs (how long that takes is measured by `make bench`)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import datetime
from html import unescape

import pytest
from django.test import Client

from dashboard.conversations import selectors
from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import transport
from tests.integration.conftest import (
    as_answered,
    body_of,
    card_ids,
    conversations_with,
    html,
    ignored_notice,
    member_ids,
    never_assigned_to,
    status_after,
    true_state,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
HEADING_RE = re.compile(
    r"<h2>\s*(?P<action>\w+): (?P<succeeded>\d+) succeeded,\s+(?P<skipped>\d+) skipped,\s+(?P<failed>\d+) failed"
    r"(?:,\s+(?P<ignored>\d+) accepted but not applied by WapiKit)?\s+"
    r'<span class="muted">of (?P<total>\d+)</span>\s*</h2>'
)
OOB_RE = re.compile(r'<article class="card status-(?P<status>\w+)[^"]*"\s+id="c-(?P<id>[0-9a-f-]{36})"[^>]*hx-swap-oob="true"')


# --- Helpers ----------------------------------------------------------------------------------


def assignee(c: dict) -> str:
    return (c.get("assignedTo") or {}).get("uniqueId", "")


CARD_BLOCK_RE = re.compile(r'<article class="card[^"]*"\s+id="c-(?P<id>[0-9a-f-]{36})".*?</article>', re.S)
ATTR_RE = re.compile(r'([\w-]+)="([^"]*)"')


def bulk_inputs(body: str) -> dict[str, list[tuple[str, str]]]:
    """What each card on a page adds to the bulk form when ticked: its inputs with form="bulk"
    (the id, and the state the user saw)."""
    found = {}
    for card in CARD_BLOCK_RE.finditer(body):
        pairs = []
        for tag in re.findall(r"<input\b[^>]*>", card[0]):
            attrs = dict(ATTR_RE.findall(tag))
            if attrs.get("form") == "bulk":
                pairs.append((attrs["name"], unescape(attrs["value"])))
        found[card["id"]] = pairs
    return found


def ticked(client, conversations: list[dict]) -> dict[str, list[str]]:
    """The bulk form's fields for these conversations as their cards draw them: found on the
    inbox pages of their status (50 a page), as a browser would post them when ticked."""
    wanted = {c["uniqueId"]: c["status"].lower() for c in conversations}
    inputs: dict[str, list[tuple[str, str]]] = {}
    for status in sorted(set(wanted.values())):
        page = 1
        while not all(cid in inputs for cid, s in wanted.items() if s == status):
            body = body_of(client.get("/", {"status": status, "per_page": 50, "page": page}))
            drawn = bulk_inputs(body)
            assert drawn, f"no more cards on page {page} of {status}"
            inputs.update(drawn)
            page += 1
    fields: dict[str, list[str]] = {}
    for cid in wanted:
        assert inputs[cid], "a manager's cards can be ticked"
        for name, value in inputs[cid]:
            fields.setdefault(name, []).append(value)
    return fields


def current(sandbox, cid: str) -> dict:
    """The conversation as the sandbox's database holds it (the server's answers cannot say
    who is assigned)."""
    return as_answered(true_state(sandbox, cid))


def server(sandbox) -> bool:
    return sandbox.profile == "server"


def unique_names(conversations: list[dict], n: int, *, taken: set[str] = frozenset()) -> list[dict]:
    """n conversations whose contacts' names differ, so the report's lines can be told apart."""
    picked, names = [], set(taken)
    for c in conversations:
        if c["contact"]["name"] not in names:
            picked.append(c)
            names.add(c["contact"]["name"])
        if len(picked) == n:
            return picked
    pytest.fail(f"fewer than {n} conversations with distinct contact names")


def report_of(body: str) -> dict:
    section = re.search(r'<section class="report".*?</section>', body, re.S)
    assert section, "the answer holds the bulk report"
    section = section[0]
    heading = HEADING_RE.search(section)
    assert heading, section[:300]

    def lines(pattern: str) -> list[str]:
        found = re.search(pattern, section, re.S)
        return re.findall(r"<li>(.*?)</li>", found[1], re.S) if found else []

    return {
        "html": section,
        # "ignored" only when the heading has that part: accepted by WapiKit but not applied.
        "heading": {k: (v if k == "action" else int(v)) for k, v in heading.groupdict().items() if v is not None},
        "failed": lines(r'<ul class="failures">(.*?)</ul>'),
        "ignored": lines(r'<ul class="failures ignored">(.*?)</ul>'),
        "skipped": lines(r"<summary>\d+ skipped</summary>\s*<ul>(.*?)</ul>"),
        "succeeded": lines(r"<summary>\d+ succeeded</summary>\s*<ul>(.*?)</ul>"),
    }


def retry_form(body: str) -> tuple[str, dict[str, list[str]]]:
    form = re.search(r'<form method="post" action="(/bulk/)"[^>]*>(.*?)</form>', report_of(body)["html"], re.S)
    assert form, "a report with failures offers to retry them"
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form[2]):
        fields.setdefault(name, []).append(unescape(value))
    button = re.search(r"<button[^>]*>([^<]*)</button>", form[2])[1]
    return button, fields


def form_fields(page: str) -> dict[str, list[str]]:
    """The hidden fields of the inbox's bulk form: the view it acts on."""
    bulk_form = re.search(r'<form id="bulk".*?</form>', page, re.S)[0]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', bulk_form):
        fields.setdefault(name, []).append(unescape(value))
    return fields


def named(line: str, conversation: dict) -> bool:
    return f"<bdi>{html(conversation['contact']['name'])}</bdi>" in line


# --- A mix of outcomes, and the retry ---------------------------------------------------------


def test_bulk_close_reports_successes_skips_and_upstream_failures_then_retries_exactly_the_failed(
    login_as, fresh_wapikit, warm_members, upstream_calls
):
    client = login_as("manager")
    active = unique_names(conversations_with(fresh_wapikit, "Active"), 6)
    closed = unique_names(conversations_with(fresh_wapikit, "Closed"), 1, taken={c["contact"]["name"] for c in active})[0]
    requested = [*active, closed]
    ids = [c["uniqueId"] for c in requested]
    selection = ticked(client, requested)
    # The first one twice, as a double-ticked checkbox might send it.
    selection = {name: [*values, values[0]] for name, values in selection.items()}
    upstream_calls.clear()

    fresh_wapikit.control(fault="status_500", fault_methods=["POST"], fault_times=2)
    try:
        response = client.post("/bulk/", {**selection, "action": "close", "next": "/?view=all"})
    finally:
        fresh_wapikit.control(reset=True)

    assert response.status_code == 200
    body = body_of(response)
    report = report_of(body)
    if server(fresh_wapikit):
        # The server accepts the four that did not fail and changes nothing: each is read back and reported so.
        assert report["heading"] == {"action": "Close", "succeeded": 0, "skipped": 1, "failed": 2, "ignored": 4, "total": 7}
        assert len(report["ignored"]) == 4 and all(ignored_notice("Active") in line for line in report["ignored"])
    else:
        assert report["heading"] == {"action": "Close", "succeeded": 4, "skipped": 1, "failed": 2, "total": 7}
    # Every requested conversation is in the report exactly once, the repeated one included.
    groups = ("succeeded", "skipped", "failed", "ignored")
    for conversation in requested:
        lines = [line for group in groups for line in report[group] if named(line, conversation)]
        assert len(lines) == 1, conversation["contact"]["name"]
    assert sum(len(report[group]) for group in groups) == 7
    # The skipped one says why; each failure says why.
    assert len(report["skipped"]) == 1 and named(report["skipped"][0], closed)
    assert "It is already closed." in report["skipped"][0]
    assert len(report["failed"]) == 2
    for line in report["failed"]:
        assert "WapiKit had an internal error (500)" in line

    # The retry form carries exactly the failed ids, and says how many.
    button, fields = retry_form(body)
    assert button == "Retry the 2 failed"
    # Each carries the state last read, so the retry is conflict-checked like the first try.
    failed_ids = [token.partition(":")[0] for token in fields["ids"]]
    for token in fields["ids"]:
        conversation = next(c for c in active if c["uniqueId"] == token.partition(":")[0])
        assignee = (conversation.get("assignedTo") or {}).get("uniqueId", "")
        assert token == f"{conversation['uniqueId']}:Active:{assignee}"
    assert len(failed_ids) == 2 == len(set(failed_ids))
    assert set(failed_ids) <= {c["uniqueId"] for c in active}
    for cid in failed_ids:
        conversation = next(c for c in active if c["uniqueId"] == cid)
        assert any(named(line, conversation) for line in report["failed"])
    assert fields["action"] == ["close"]
    assert fields["next"] == ["/?view=all"]

    # WapiKit agrees: four closed (on the server: accepted, still active), the two failed still
    # active, the skipped one untouched.
    for conversation in active:
        expected = "Active" if conversation["uniqueId"] in failed_ids else status_after(fresh_wapikit, "Closed", "Active")
        assert current(fresh_wapikit, conversation["uniqueId"])["status"] == expected
    assert current(fresh_wapikit, closed["uniqueId"])["status"] == "Closed"
    posts = [c for c in upstream_calls if c.method == "POST"]
    assert sorted(c.status for c in posts) == [200, 200, 200, 200, 500, 500]
    assert closed["uniqueId"] not in {c.path.rsplit("/", 1)[1] for c in posts}, "nothing sent for the skipped one"

    # One audit row per conversation, all through "bulk", with each outcome.
    rows = list(AuditEntry.objects.filter(action="close"))
    assert Counter(r.conversation_id for r in rows) == Counter(ids)
    assert {r.via for r in rows} == {"bulk"}
    outcomes = {r.conversation_id: r.outcome for r in rows}
    # On the server the four accepted are audited as what they were: ignored, not done.
    took = "ignored" if server(fresh_wapikit) else "succeeded"
    assert Counter(outcomes.values()) == {took: 4, "skipped": 1, "failed": 2}
    assert {cid for cid, o in outcomes.items() if o == "failed"} == set(failed_ids)
    assert outcomes[closed["uniqueId"]] == "skipped"
    assert all(r.user_email == "manager@example.com" and r.member_name == "Lucas Moreau" for r in rows)

    # Posting the retry form, once WapiKit is well again, closes exactly those two.
    upstream_calls.clear()
    retried = client.post("/bulk/", fields)

    assert retried.status_code == 200
    again = report_of(body_of(retried))
    assert "Retry the" not in again["html"]
    for cid in failed_ids:
        assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, "Closed", "Active")
    posted = [c.path for c in upstream_calls if c.method == "POST"]
    retry_rows = AuditEntry.objects.filter(action="close").exclude(pk__in=[r.pk for r in rows])
    assert sorted(r.conversation_id for r in retry_rows) == sorted(failed_ids)
    if server(fresh_wapikit):
        # The dashboard now knows this WapiKit ignores status changes: it sends the first only,
        # and says why the other was not sent.
        assert again["heading"] == {"action": "Close", "succeeded": 0, "skipped": 1, "failed": 0, "ignored": 1, "total": 2}
        first, other = (next(c for c in active if c["uniqueId"] == cid) for cid in failed_ids)
        assert len(again["ignored"]) == 1 and named(again["ignored"][0], first)
        assert ignored_notice("Active") in again["ignored"][0]
        assert len(again["skipped"]) == 1 and named(again["skipped"][0], other)
        assert "Not sent: WapiKit accepted the first status change of this batch without applying it" in again["skipped"][0]
        assert posted == [f"/conversation/{first['uniqueId']}"]
        retried_outcomes = {r.conversation_id: (r.via, r.outcome) for r in retry_rows}
        assert retried_outcomes == {first["uniqueId"]: ("bulk", "ignored"), other["uniqueId"]: ("bulk", "skipped")}
    else:
        assert again["heading"] == {"action": "Close", "succeeded": 2, "skipped": 0, "failed": 0, "total": 2}
        assert sorted(posted) == sorted(f"/conversation/{i}" for i in failed_ids)
        assert {(r.via, r.outcome) for r in retry_rows} == {("bulk", "succeeded")}


def test_an_agent_is_refused_a_bulk_close_with_403_nothing_sent_and_nothing_changed(
    login_as, wapikit, warm_members, upstream_calls
):
    client = login_as("agent")
    active = conversations_with(wapikit, "Active")[:3]
    ids = [c["uniqueId"] for c in active]
    warm_members()
    upstream_calls.clear()

    response = client.post("/bulk/", {"action": "close", "ids": ids, "next": "/"})

    assert response.status_code == 403
    assert "Your WapiKit role does not allow you to close conversations." in body_of(response)
    assert upstream_calls == []
    assert [current(wapikit, cid)["status"] for cid in ids] == ["Active"] * 3
    assert not AuditEntry.objects.filter(outcome="succeeded").exists()

    # The same with htmx, and with "select all matching".
    upstream_calls.clear()
    response = client.post("/bulk/", {"action": "close", "all": "yes", "view": "unassigned", "next": "/"}, **HTMX)
    assert response.status_code == 403
    assert upstream_calls == []
    assert len(conversations_with(wapikit, "Active")) >= len(active)
    assert not AuditEntry.objects.filter(outcome="succeeded").exists()


# --- Conflicts --------------------------------------------------------------------------------


def test_a_conversation_changed_since_it_was_seen_is_skipped_and_the_report_names_the_change(
    login_as, fresh_wapikit, warm_members
):
    client = login_as("manager")
    mei = member_ids(fresh_wapikit)["mei.chen@example.com"]
    active = conversations_with(fresh_wapikit, "Active")
    if server(fresh_wapikit):
        # The server's list still names an ended assignment, so an unassignment cannot be seen
        # there; a new assignment can. And its API closes nothing, so the one "closed elsewhere"
        # is already Closed, posted as the Active card the user saw.
        reassigned = never_assigned_to(fresh_wapikit, mei)
        untouched = unique_names([c for c in active if c["uniqueId"] != reassigned["uniqueId"]], 1,
                                 taken={reassigned["contact"]["name"]})[0]
        closed_elsewhere = unique_names(conversations_with(fresh_wapikit, "Closed"), 1,
                                        taken={reassigned["contact"]["name"], untouched["contact"]["name"]})[0]
        reassignment = "it was reassigned from nobody to Mei Chen"
    else:
        reassigned = next(c for c in active if assignee(c) == mei)
        closed_elsewhere, untouched = unique_names(
            [c for c in active if c["uniqueId"] != reassigned["uniqueId"]], 2, taken={reassigned["contact"]["name"]}
        )
        reassignment = "it was reassigned from Mei Chen to nobody"
    # The user ticks three cards...
    selection = ticked(client, [reassigned, closed_elsewhere, untouched])
    # ...meanwhile, elsewhere, one is unassigned (on the server: assigned) and another closed.
    if server(fresh_wapikit):
        assigned = fresh_wapikit.post(f"/conversation/{reassigned['uniqueId']}/assign", {"organizationMemberId": mei})
        assert assigned.status_code == 200
        closed_id = closed_elsewhere["uniqueId"]
        selection["ids"] = [
            token.replace(f"{closed_id}:Closed:", f"{closed_id}:Active:") for token in selection["ids"]
        ]
        assert any(token.startswith(f"{closed_id}:Active:") for token in selection["ids"])
    else:
        assert fresh_wapikit.post(f"/conversation/{reassigned['uniqueId']}/unassign", {"userId": mei}).status_code == 200
        assert fresh_wapikit.post(f"/conversation/{closed_elsewhere['uniqueId']}", {"status": "Closed"}).status_code == 200

    response = client.post("/bulk/", {**selection, "action": "close", "next": "/"})

    report = report_of(body_of(response))
    if server(fresh_wapikit):
        # The server accepts the untouched one's close and changes nothing.
        assert report["heading"] == {"action": "Close", "succeeded": 0, "skipped": 2, "failed": 0, "ignored": 1, "total": 3}
        assert len(report["ignored"]) == 1 and named(report["ignored"][0], untouched)
        assert ignored_notice("Active") in report["ignored"][0]
    else:
        assert report["heading"] == {"action": "Close", "succeeded": 1, "skipped": 2, "failed": 0, "total": 3}
        assert any(named(line, untouched) for line in report["succeeded"])
    line = next(line for line in report["skipped"] if named(line, reassigned))
    assert reassignment in line
    line = next(line for line in report["skipped"] if named(line, closed_elsewhere))
    assert "its status changed from Active to Closed" in line
    # The reassigned one was not closed: the user never saw its current state.
    assert current(fresh_wapikit, reassigned["uniqueId"])["status"] == "Active"
    assert current(fresh_wapikit, untouched["uniqueId"])["status"] == status_after(fresh_wapikit, "Closed", "Active")
    row = AuditEntry.objects.get(conversation_id=reassigned["uniqueId"])
    assert (row.via, row.outcome) == ("bulk", "skipped")
    assert reassignment.removeprefix("it was ") in row.detail


# --- Select all matching ----------------------------------------------------------------------


def test_select_all_unassigned_closes_exactly_the_unassigned_active_ones_within_the_scan(
    login_as, fresh_wapikit, settings, warm_members
):
    settings.WAPIKIT_SCAN_PAGES = 2
    client = login_as("manager")
    active = conversations_with(fresh_wapikit, "Active")
    assert len(active) == 144
    within = [c["uniqueId"] for c in active[:100] if not assignee(c)]
    beyond = [c["uniqueId"] for c in active[100:] if not assignee(c)]
    assert within and beyond

    page = body_of(client.get("/", {"view": "unassigned"}))
    assert f"Select all {len(within)} matching" in page
    if server(fresh_wapikit):
        # The server's list states no total, and the page says so.
        assert "searched the 100 most recent active conversations; WapiKit did not say how many there are" in page
    else:
        assert "searched the 100 most recent active conversations (of 144)" in page
    fields = form_fields(page)
    assert fields["view"] == ["unassigned"]

    response = client.post("/bulk/", {**fields, "all": "yes", "action": "close"})

    assert response.status_code == 200
    report = report_of(body_of(response))
    n = len(within)
    if server(fresh_wapikit):
        # The server accepts a close and applies nothing: the first is sent alone, read back and
        # reported not applied; the rest are not sent at all.
        assert report["heading"] == {"action": "Close", "succeeded": 0, "skipped": n - 1, "failed": 0, "ignored": 1, "total": n}
    else:
        assert report["heading"] == {"action": "Close", "succeeded": n, "skipped": 0, "failed": 0, "total": n}
    now = {c["uniqueId"]: c for s in ("Active", "Closed") for c in conversations_with(fresh_wapikit, s)}
    closed = status_after(fresh_wapikit, "Closed", "Active")
    assert all(now[cid]["status"] == closed for cid in within)
    assert all(now[cid]["status"] == "Active" for cid in beyond), "beyond the scan: not selected, not closed"
    assert sum(1 for c in now.values() if c["status"] == "Active") == 144 - (0 if server(fresh_wapikit) else n)
    rows = AuditEntry.objects.filter(via="bulk")
    assert sorted(rows.values_list("conversation_id", flat=True)) == sorted(within)
    assert set(rows.values_list("outcome", flat=True)) == ({"ignored", "skipped"} if server(fresh_wapikit) else {"succeeded"})


def test_the_htmx_answer_redraws_only_the_cards_posted_as_on_screen_ids(login_as, fresh_wapikit, warm_members):
    client = login_as("manager")
    owner = member_ids(fresh_wapikit)["owner@example.com"]
    theirs = [c for c in conversations_with(fresh_wapikit, "Active") if assignee(c) == owner]
    if server(fresh_wapikit):
        # The server's list has no order and no messages: the dashboard sorts by last activity,
        # which is then when the conversation was created.
        theirs.sort(key=lambda c: datetime.fromisoformat(c["createdAt"]), reverse=True)
    assert len(theirs) > 3
    page = body_of(client.get("/", {"view": "member", "member": owner}))
    assert card_ids(page) == [c["uniqueId"] for c in theirs]
    on_screen = [c["uniqueId"] for c in theirs[:2]]
    fields = form_fields(page)
    for cid in on_screen:
        for name, value in bulk_inputs(page)[cid]:
            fields.setdefault(name, []).append(value)

    response = client.post("/bulk/", {**fields, "all": "yes", "action": "close"}, **HTMX)

    assert response.status_code == 200
    body = body_of(response)
    assert "<html" not in body
    report = report_of(body)
    # On the server every close is accepted and not applied: reported so, and the cards stay active.
    heading = report["heading"]
    if server(fresh_wapikit):
        # The first close is sent alone and not applied; the others are not sent.
        assert (heading["ignored"], heading["skipped"], heading["total"]) == (1, len(theirs) - 1, len(theirs))
    else:
        assert heading["succeeded"] == heading["total"] == len(theirs)
    closed = status_after(fresh_wapikit, "Closed", "Active")
    redrawn = [(m["id"], m["status"]) for m in OOB_RE.finditer(body)]
    assert redrawn == [(cid, closed.lower()) for cid in on_screen]
    assert card_ids(body) == on_screen, "no other card is drawn"
    assert body.count("hx-swap-oob") == 2
    # Without htmx the same report, without cards.
    assert all(current(fresh_wapikit, c["uniqueId"])["status"] == closed for c in theirs)


# --- Bulk assign ------------------------------------------------------------------------------


def test_bulk_assign_assigns_to_the_chosen_member_and_skips_those_already_theirs(
    login_as, fresh_wapikit, warm_members, upstream_calls
):
    client = login_as("manager")
    mei = member_ids(fresh_wapikit)["mei.chen@example.com"]
    active = conversations_with(fresh_wapikit, "Active")
    # The server's list also names an ended assignment, and it refuses to assign a member a
    # conversation had before: pick by what the sandbox really holds.
    already = next(c for c in active if assignee(c) == mei and true_state(fresh_wapikit, c["uniqueId"])["assignee"] == mei)
    unassigned = unique_names(
        [c for c in active if not assignee(c) and mei not in true_state(fresh_wapikit, c["uniqueId"])["ever_assigned"]],
        3, taken={already["contact"]["name"]},
    )
    requested = [*unassigned, already]
    warm_members()

    refused = client.post("/bulk/", {"action": "assign", "ids": [c["uniqueId"] for c in requested], "next": "/"})
    assert refused.status_code == 400
    assert "Choose the member" in body_of(refused)

    selection = ticked(client, requested)
    upstream_calls.clear()
    response = client.post("/bulk/", {**selection, "action": "assign", "member_id": mei, "next": "/"})

    assert response.status_code == 200
    report = report_of(body_of(response))
    assert report["heading"] == {"action": "Assign", "succeeded": 3, "skipped": 1, "failed": 0, "total": 4}
    assert named(report["skipped"][0], already) and "It is already assigned to Mei Chen." in report["skipped"][0]
    for conversation in requested:
        assert assignee(current(fresh_wapikit, conversation["uniqueId"])) == mei
    assert sorted(c.path for c in upstream_calls if c.method == "POST") == sorted(
        f"/conversation/{c['uniqueId']}/assign" for c in unassigned
    )
    rows = AuditEntry.objects.filter(action="assign")
    assert sorted(r.conversation_id for r in rows) == sorted(c["uniqueId"] for c in requested)
    assert {(r.via, r.after_assignee_name) for r in rows} == {("bulk", "Mei Chen")}
    assert sorted(r.outcome for r in rows) == ["skipped", "succeeded", "succeeded", "succeeded"]


# --- 200 conversations at 100 ms --------------------------------------------------------------


def scan_pages(sandbox, status: str | None, scan_pages: int, batch: int) -> int:
    """How many list reads the dashboard's scan of one status makes: one per page of 50 that
    the sandbox's total implies, at most `scan_pages`, and always the first."""
    total = sandbox.get("/conversations", page=1, per_page=1, status=status)["paginationMeta"]["total"]
    if sandbox.profile != "server":
        return max(1, min(scan_pages, -(-total // 50)))
    # The server states no total: after the first page, batches of `batch` pages are read until
    # one holds a short page (the first page that is not full), at most `scan_pages` in all.
    short = len(conversations_with(sandbox, status, pages=scan_pages)) // 50 + 1
    reads = 1
    while reads < min(short, scan_pages):
        reads += min(batch, scan_pages - reads)
    return reads


def test_closing_200_conversations_at_100_ms_latency_reads_each_page_once_and_posts_concurrently(
    login_as, fresh_wapikit, warm_members, upstream_calls, settings
):
    """What keeps 200 closes at 100 ms of latency within a few seconds: the states come from one
    read per page of each status's scan (no GET per conversation) and the 200 POSTs run on
    several threads at once. The time itself is a `make bench` figure, not a test."""
    client = login_as("manager")
    active = conversations_with(fresh_wapikit, "Active")
    # The server applies no status change, so it cannot reopen any: there, every active one.
    n = len(active) if server(fresh_wapikit) else 200
    for conversation in conversations_with(fresh_wapikit, "Closed")[: n - len(active)]:
        reopened = fresh_wapikit.post(f"/conversation/{conversation['uniqueId']}", {"status": "Active"})
        assert reopened.status_code == 200
    active = conversations_with(fresh_wapikit, "Active")
    assert len(active) == n >= 144
    selection = ticked(client, active)
    assert len(selection["ids"]) == n
    # The scans the bulk reads: every status, the open ones in the list without a status.
    list_reads = sum(
        scan_pages(fresh_wapikit, s, settings.WAPIKIT_SCAN_PAGES, settings.WAPIKIT_SCAN_BATCH)
        for s in selectors.STATUS_FILTERS["all"]
    )
    warm_members()
    upstream_calls.clear()
    posting_threads: set[int] = set()

    def record_thread(call: transport.UpstreamCall) -> None:
        if call.method == "POST":
            posting_threads.add(threading.get_ident())

    transport.request_listeners.append(record_thread)
    fresh_wapikit.control(latency_ms=100)
    try:
        response = client.post("/bulk/", {**selection, "action": "close", "next": "/"})
    finally:
        fresh_wapikit.control(latency_ms=0)
        transport.request_listeners.remove(record_thread)

    assert response.status_code == 200
    report = report_of(body_of(response))
    reads = [c.path for c in upstream_calls if c.method == "GET"]
    posts = sorted(c.path for c in upstream_calls if c.method == "POST")
    one_each = sorted(f"/conversation/{c['uniqueId']}" for c in active)
    assert all(c.status == 200 for c in upstream_calls)
    assert [p for p in reads if p == "/conversations"] == ["/conversations"] * list_reads, "one read per page of each scan"
    if server(fresh_wapikit):
        # The server answers a close with an empty body and applies nothing: the first is sent
        # alone and read back, and the other n - 1 are not spent on the shared budget at all.
        assert report["heading"] == {"action": "Close", "succeeded": 0, "skipped": n - 1, "failed": 0, "ignored": 1, "total": n}
        assert len(conversations_with(fresh_wapikit, "Active")) == n
        assert len(posts) == 1 and posts[0] in one_each
        assert [p for p in reads if p != "/conversations"] == posts, "the one POST read back"
        assert len(upstream_calls) == list_reads + 2
        assert AuditEntry.objects.filter(via="bulk", outcome="ignored").count() == 1
        assert AuditEntry.objects.filter(via="bulk", outcome="skipped").count() == n - 1
        return
    assert report["heading"] == {"action": "Close", "succeeded": 200, "skipped": 0, "failed": 0, "total": 200}
    assert conversations_with(fresh_wapikit, "Active") == []
    assert reads == ["/conversations"] * list_reads, "one read per page of each scan, no GET per conversation"
    assert len(upstream_calls) == list_reads + 200
    assert posts == one_each, "one POST each, none repeated"
    # The first is sent alone (this WapiKit has not yet shown that it applies status changes),
    # then the rest on at most WAPIKIT_CONCURRENCY threads.
    assert 2 < len(posting_threads) <= settings.WAPIKIT_CONCURRENCY + 1, "the POSTs ran concurrently"
    assert AuditEntry.objects.filter(via="bulk", outcome="succeeded").count() == n


# --- Bounds (issue 10, finding 5) -------------------------------------------------------------


def test_a_bulk_request_with_more_ids_than_the_cap_is_refused_before_anything_is_sent(
    login_as, wapikit, upstream_calls, settings
):
    """Regression: 300 random ids caused 300 upstream GETs and 300 audit rows."""
    import uuid

    client = login_as("manager")
    ids = [str(uuid.uuid4()) for _ in range(settings.BULK_MAX_IDS + 100)]
    upstream_calls.clear()

    response = client.post("/bulk/", {"action": "close", "ids": ids}, **HTMX)

    assert response.status_code == 400
    assert f"at most {settings.BULK_MAX_IDS} ticked conversations" in body_of(response)
    assert upstream_calls == []
    assert AuditEntry.objects.count() == 0


def test_bulk_requests_are_limited_per_user(login_as, make_user, wapikit, upstream_calls, settings):
    settings.BULK_REQUESTS_PER_MINUTE = 2
    client = login_as("manager")
    empty = {"action": "close"}  # refused as "select at least one" after the limit check
    assert [client.post("/bulk/", empty, **HTMX).status_code for _ in range(2)] == [400, 400]
    upstream_calls.clear()

    limited = client.post("/bulk/", empty, **HTMX)

    assert limited.status_code == 429
    assert "Too many bulk actions in a row" in body_of(limited)
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert upstream_calls == []
    other = Client()
    other.force_login(make_user("owner"))
    assert other.post("/bulk/", empty, **HTMX).status_code == 400, "another user is not held back"
