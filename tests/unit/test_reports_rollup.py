"""Daily rollups give the figures the timeline's log gives: for the fixed history, every
figure of every day, week, member and the totals, and the items behind each number, whether
all, some or none of its days are rolled up. A changed target or a fact learned later about a
rolled day has it rolled up again. Runs again on PostgreSQL (scripts/test-on-postgres)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.conversations import targets
from dashboard.conversations.models import LifeEvent, ResponseTargets
from dashboard.reporting import figures, rollup
from dashboard.reporting.periods import DAY, WEEK, Span
from tests import reporting_history as history

pytestmark = pytest.mark.django_db


def figures_of(report: figures.Report) -> dict:
    found = {("total", f): report.total.value(f) for f in figures.FIGURES}
    for key, tally in report.by_bucket.items():
        found.update({(key, f): tally.value(f) for f in figures.FIGURES})
    for member, tally in report.by_member.items():
        found.update({(member, f): tally.value(f) for f in figures.MEMBER_FIGURES})
    return found


@pytest.fixture
def seeded():
    history.seed(agent="m-agent", manager="m-manager")


@pytest.mark.parametrize("by", [DAY, WEEK])
@pytest.mark.parametrize("rolled", [0, 1, 3])
def test_rolled_up_days_give_the_figures_and_items_of_the_log(by, rolled, seeded):
    team = targets.current()
    for n in range(rolled):
        rollup.roll(history.MONDAY + timedelta(days=n), history.BERLIN, team, now=history.NOW)
    span = Span(first=history.MONDAY, last=history.MONDAY + timedelta(days=2), by=by, zone=history.BERLIN)
    live = figures.build(span, team, now=history.NOW)
    mixed = rollup.build(span, team, now=history.NOW)
    assert figures_of(mixed) == figures_of(live)
    assert mixed.total.value("closed") == history.TOTAL["closed"]
    for figure in figures.FIGURES:
        assert rollup.items_behind(span, team, figure, now=history.NOW) == live.total.items(figure), figure
        assert rollup.items_behind(span, team, figure, now=history.NOW, members=["m-agent"]) == (
            live.by_member["m-agent"].items(figure)
        ), figure


def test_the_days_over_are_rolled_up_once_and_again_when_something_changes(seeded):
    team, zone = targets.current(), history.BERLIN
    rolled = rollup.roll_due(zone, team, now=history.NOW)
    assert rolled == 10  # Monday 23 to Wednesday 2 December: the days over, NOW being Thursday noon
    assert rollup.due(zone, team, now=history.NOW) == []
    # Messages learned later (read after the stream missed them): one of Tuesday 1 December, one of
    # Wednesday 25 November, eight days before.
    for key, day in (("late", 8), ("older", 2)):
        late_fact(key, "C", "outbound", history.at(day, "10:00"), learned_at=history.NOW + timedelta(seconds=30))
    later = history.NOW + timedelta(minutes=1)
    assert rollup.due(zone, team, now=later) == [history.MONDAY + timedelta(days=8), history.MONDAY + timedelta(days=2)]
    ResponseTargets.objects.filter(pk=ResponseTargets.TEAM).update(first_response_minutes=30)
    changed = targets.current()
    assert len(rollup.due(zone, changed, now=later)) == 10, "new targets: every day again"


def late_fact(key: str, name: str, kind: str, at, *, learned_at) -> None:
    LifeEvent.objects.create(key=key, conversation_id=history.IDS[name], kind=kind, at=at, source="read",
                             learned_at=learned_at)


def test_a_fact_learned_months_later_changes_the_rolled_up_days_it_touches(seeded):
    # Three months on, every day rolled up; then reads find two messages the stream missed:
    # C answered on Wednesday 25 (a first response that day), E answered late on Tuesday 24,
    # within the window its customer opened at 11:00, which therefore did not close unanswered
    # on Wednesday. Tuesday is not observed: only Wednesday's figures change.
    team, zone = targets.current(), history.BERLIN
    months = history.NOW + timedelta(days=90)
    rollup.roll_due(zone, team, now=months, limit=1000)
    wednesday = Span(first=history.MONDAY + timedelta(days=2), last=history.MONDAY + timedelta(days=2), by=DAY,
                     zone=zone)
    before = rollup.build(wednesday, team, now=months).total
    assert (before.value("first_responses"), before.value("windows_lost")) == (2, 1)

    learned = months + timedelta(minutes=1)
    late_fact("c-answered", "C", "outbound", history.at(2, "10:00"), learned_at=learned)
    late_fact("e-answered", "E", "outbound", history.at(1, "23:00"), learned_at=learned)
    later = months + timedelta(minutes=5)
    assert rollup.roll_due(zone, team, now=later) == 2  # Tuesday and Wednesday, and no other day

    after = rollup.build(wednesday, team, now=later).total
    assert (after.value("first_responses"), after.value("windows_lost")) == (3, 0)
    behind = rollup.items_behind(wednesday, team, "first_responses", now=later)
    assert sorted(item.conversation_id for item in behind) == sorted(history.IDS[n] for n in "CDF")
    assert after.value("first_responses") == figures.build(wednesday, team, now=later).total.value("first_responses")
    assert rollup.due(zone, team, now=later) == []
