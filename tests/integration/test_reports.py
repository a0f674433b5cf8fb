"""/reports/ over real HTTP to the sandbox (its members and roles), on the fixed history of
tests/reporting_history.py: the page shows the hand-computed figures, a day not observed as a
gap, every number leads to exactly the conversations it counts, each CSV says what the page
says, and each user sees what the rule allows."""

from __future__ import annotations

import csv
import io
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest

from dashboard.conversations import live_state
from dashboard.conversations.models import ConversationLife
from dashboard.reporting import figures, snapshots
from dashboard.reporting.models import BacklogSnapshot
from tests import reporting_history as history
from tests.integration.conftest import member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SPAN = {"since": "2026-11-23", "until": "2026-11-25", "by": "day"}
NAMES = {cid: name for name, cid in history.IDS.items()}


class Tables(HTMLParser):
    """Every table of a page: its rows, each cell's text and link, by the region's label."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self._label = ""
        self._cell: list | None = None
        self._rows: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("role") == "region":
            self._label = attrs.get("aria-label", "")
            self._rows = self.tables.setdefault(self._label, [])
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = ["", ""]
        elif tag == "a" and self._cell is not None:
            self._cell[1] = attrs.get("href", "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append((" ".join(self._cell[0].split()), self._cell[1]))
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data


def tables_of(response) -> dict:
    parser = Tables()
    parser.feed(response.content.decode())
    return parser.tables


def number(text: str) -> int | None:
    return None if text in ("not observed", "none") else int(text.removesuffix(" %"))


@pytest.fixture
def seeded(wapikit):
    ids = member_ids(wapikit)
    history.seed(agent=ids["agent@example.com"], manager=ids["manager@example.com"])
    return ids


def test_the_page_shows_the_hand_computed_figures_and_the_unobserved_day_as_a_gap(seeded, login_as):
    response = login_as("owner").get("/reports/", SPAN)
    assert response.status_code == 200
    found = tables_of(response)
    for key, (heading, _) in figures.FIGURES.items():
        rows = found[f"{heading}, table"][1:]
        assert [label for (label, _), _ in rows] == ["Mon 23 Nov", "Tue 24 Nov", "Wed 25 Nov", "Total"]
        assert [number(text) for _, (text, _) in rows[:3]] == list(history.BY_DAY[key]), key
        assert number(rows[3][1][0]) == history.TOTAL[key], key
        assert rows[1][1][0] == "not observed" and rows[1][1][1] == "", "a gap never links nor reads 0"


def test_every_total_leads_to_exactly_the_conversations_it_counts(seeded, login_as):
    client = login_as("owner")
    found = tables_of(client.get("/reports/", SPAN))
    for key, names in history.BEHIND.items():
        heading = figures.FIGURES[key][0]
        (text, href) = found[f"{heading}, table"][-1][1]
        listed = client.get(href)
        assert listed.status_code == 200
        rows = tables_of(listed)["The conversations counted"][1:]
        assert len(rows) == number(text), key
        assert {NAMES[row[0][0]] for row in rows} == names, key


def test_a_member_s_number_leads_to_their_conversations(seeded, login_as):
    client = login_as("owner")
    members = tables_of(client.get("/reports/", SPAN))["Per member"]
    headings = [text for text, _ in members[0]]
    agent = next(
        row for row in members[1:]
        if any(parse_qs(urlparse(href).query).get("member") == [seeded["agent@example.com"]] for _, href in row)
    )
    closed = agent[headings.index("Closed")]
    assert number(closed[0]) == history.AGENT["closed"]
    rows = tables_of(client.get(closed[1]))["The conversations counted"][1:]
    assert [(NAMES[row[0][0]], row[1][0]) for row in rows] == [
        ("A", "Mon 23 Nov 13:00"), ("A", "Mon 23 Nov 16:00"), ("F", "Wed 25 Nov 10:00"),
    ], "in the team's time zone"


def test_each_csv_says_what_the_page_says(seeded, login_as):
    client = login_as("owner")
    page = tables_of(client.get("/reports/", SPAN))
    answer = client.get("/reports/", {**SPAN, "format": "csv", "table": "figures"})
    assert answer["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    for key, (heading, _) in figures.FIGURES.items():
        shown = [text for _, (text, _) in page[f"{heading}, table"][1:]]
        exported = [row[key] for row in rows]
        assert [str(number(t)) if number(t) is not None else t for t in shown] == exported, key
    members = list(csv.reader(io.StringIO(client.get("/reports/", {**SPAN, "format": "csv", "table": "members"})
                                          .content.decode())))
    assert [row[2:] for row in members[1:]] == [
        [str(number(t)) if number(t) is not None else t for t, _ in row[1:]] for row in page["Per member"][1:]
    ]


def test_the_conversation_csv_has_a_row_per_conversation_with_its_clocks(seeded, login_as):
    answer = login_as("owner").get("/reports/", {**SPAN, "format": "csv", "table": "conversations"})
    rows = {NAMES[row["conversation_id"]]: row for row in csv.DictReader(io.StringIO(answer.content.decode()))}
    assert sorted(rows) == ["A", "B", "C", "D", "E", "F"]
    assert rows["B"]["first_response_at"] == "2026-11-23T18:00+01:00"
    assert rows["B"]["first_response_minutes"] == "10" and rows["B"]["first_response_met"] == "yes"
    assert rows["A"]["next_responses"] == "2" and rows["A"]["next_responses_met"] == "1"
    assert rows["A"]["closes"] == "2" and rows["D"]["first_response_minutes"] == "420"
    assert rows["E"]["windows_lost"] == "1" and rows["E"]["began_at"] == ""  # began in the gap


@pytest.mark.parametrize("kind", ["owner", "manager"])
def test_owners_and_those_who_assign_see_the_team(kind, seeded, login_as):
    response = login_as(kind).get("/reports/", SPAN)
    found = tables_of(response)
    assert "New conversations, table" in found and "Per role" in found
    assert len(found["Per member"]) > 3


def test_anyone_else_sees_only_their_own_row(seeded, login_as):
    client = login_as("agent")
    response = client.get("/reports/", SPAN)
    assert response.status_code == 200
    found = tables_of(response)
    assert set(found) == {"Per member"}
    (header, row) = found["Per member"]
    assert [number(text) for text, _ in row[1:]] == [history.AGENT[key] for key in figures.MEMBER_FIGURES]
    for figure in ("figures", "roles", "backlog", "new"):
        assert client.get("/reports/", {**SPAN, "format": "csv", "table": figure}).status_code == 400
    own = client.get("/reports/", {**SPAN, "format": "csv", "table": "conversations"}).content.decode()
    assert {NAMES[r["conversation_id"]] for r in csv.DictReader(io.StringIO(own))} == {"A", "F"}
    theirs = {**SPAN, "figure": "closed", "member": seeded["manager@example.com"]}
    assert client.get("/reports/conversations/", theirs).status_code == 403
    assert client.get("/reports/conversations/", {**SPAN, "figure": "closed"}).status_code == 403
    mine = client.get("/reports/conversations/", {**theirs, "member": seeded["agent@example.com"]})
    assert mine.status_code == 200


def test_a_span_that_cannot_be_drawn_says_why(seeded, login_as):
    response = login_as("owner").get("/reports/", {"since": "2026-11-25", "until": "2026-11-23", "by": "day"})
    assert response.status_code == 400
    assert "The last day comes before the first" in response.content.decode()


def test_the_backlog_shows_each_day_s_last_snapshot_and_breaks_its_lines_where_nobody_observed(seeded, login_as):
    for day, clock, active in ((0, "10:00", 5), (0, "18:00", 7), (2, "12:00", 4)):
        BacklogSnapshot.objects.create(at=history.at(day, clock), active=active, unassigned=1, waiting=2, overdue=0)
    response = login_as("owner").get("/reports/", SPAN)
    rows = tables_of(response)["Backlog, table"][1:]
    assert [[text for text, _ in row] for row in rows] == [
        ["Mon 23 Nov at 18:00", "7", "1", "2", "0"], ["Tue 24 Nov", "not observed"], ["Wed 25 Nov at 12:00", "4", "1", "2", "0"],
    ]
    body = response.content.decode()
    assert body.count('class="series series-active"') == 2, "one line a period observed, none across the gap"


def test_each_backlog_number_leads_to_exactly_the_conversations_its_snapshot_counted(seeded, login_as):
    # Monday 10:00 and 18:00, Wednesday 12:00, each with the conversations the timeline knew then.
    moment = time.time()
    live_state.store(live_state.StreamState(state=live_state.CONNECTED, since=moment, reported_at=moment))
    lives = {
        "b1": dict(assignee_known=True, assignee_id=""),  # unassigned, nobody waiting
        "b2": dict(assignee_known=True, assignee_id="m1", first_inbound_at=history.at(0, "16:30")),  # waiting
        "b3": dict(assignee_known=True, assignee_id="", first_inbound_at=history.at(0, "09:05")),  # overdue
    }
    for cid, facts in lives.items():
        ConversationLife.objects.create(conversation_id=cid, status="Active", **facts)
    ConversationLife.objects.create(conversation_id="b4", status="Closed", first_inbound_at=history.at(0, "09:00"))
    snapshots.take(now=history.at(0, "10:00"))
    ConversationLife.objects.filter(conversation_id="b1").update(status="Closed")
    snapshots.take(now=history.at(0, "18:00"))
    ConversationLife.objects.filter(conversation_id="b2").update(assignee_id="")
    snapshots.take(now=history.at(2, "12:00"))

    client = login_as("owner")
    rows = tables_of(client.get("/reports/", SPAN))["Backlog, table"][1:]
    monday, wednesday = rows[0], rows[2]
    assert [text for text, _ in monday] == ["Mon 23 Nov at 18:00", "2", "1", "2", "1"]
    expected = {"Active": {"b2", "b3"}, "Unassigned": {"b3"}, "Waiting": {"b2", "b3"}, "Overdue": {"b3"}}
    for (label, ids), (text, href) in zip(expected.items(), monday[1:], strict=True):
        listed = client.get(href)
        assert listed.status_code == 200, label
        found = tables_of(listed)["The conversations counted"][1:]
        assert {row[0][0] for row in found} == ids and len(found) == int(text), label
    assert wednesday[2][0] == "2", "b2 unassigned since Monday"
    unassigned = tables_of(client.get(wednesday[2][1]))["The conversations counted"][1:]
    assert {(row[0][0], row[2][0]) for row in unassigned} == {
        ("b2", "active, unassigned, waiting, overdue"), ("b3", "active, unassigned, waiting, overdue"),
    }, "what each was at that snapshot: b2 unassigned since Monday and waiting since Monday 16:30"
    # Monday's 10:00 snapshot, not the day's last, let its conversations go: one list a day.
    earlier = BacklogSnapshot.objects.get(at=history.at(0, "10:00"))
    assert earlier.conversations is None and earlier.active == 3
    assert client.get("/reports/backlog/", {**SPAN, "snapshot": earlier.pk, "series": "active"}).status_code == 404
    assert login_as("agent").get(monday[1][1]).status_code == 403, "the backlog is the team's"
