"""The report's figures for a small fixed history (tests/reporting_history.py), each computed
by hand: a reopened conversation, an answer after business hours, a day not observed. The same
module runs again on PostgreSQL (scripts/test-on-postgres)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.conversations import targets
from dashboard.reporting import figures
from dashboard.reporting.periods import DAY, WEEK, Span
from tests import reporting_history as history

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    history.seed(agent="m-agent", manager="m-manager")
    span = Span(first=history.MONDAY, last=history.MONDAY + timedelta(days=2), by=DAY, zone=history.BERLIN)
    return figures.build(span, targets.current(), now=history.NOW)


def test_each_day_s_figures_are_the_hand_computed_ones_and_the_unobserved_day_is_a_gap(report):
    monday, tuesday, wednesday = report.buckets
    assert [b.seen for b in report.buckets] == [True, False, True]
    for figure, (mon, tue, wed) in history.BY_DAY.items():
        assert report.bucket(monday.key).value(figure) == mon, figure
        assert tuesday.key not in report.by_bucket, "a day not observed counts nothing"
        assert report.bucket(wednesday.key).value(figure) == wed, figure


def test_the_totals_are_the_observed_days(report):
    assert {figure: report.total.value(figure) for figure in figures.FIGURES} == history.TOTAL


def test_each_total_keeps_exactly_the_conversations_it_counts(report):
    ids = {v: k for k, v in history.IDS.items()}
    for figure, names in history.BEHIND.items():
        assert {ids[i.conversation_id] for i in report.total.items(figure)} == names, figure


def test_each_member_is_credited_with_what_happened_while_they_held_the_conversation(report):
    agent = {figure: report.by_member["m-agent"].value(figure) for figure in figures.MEMBER_FIGURES}
    manager = {figure: report.by_member["m-manager"].value(figure) for figure in figures.MEMBER_FIGURES}
    assert agent == history.AGENT
    assert manager == history.MANAGER


def test_a_week_holds_the_same_as_its_observed_days(report):
    span = Span(first=history.MONDAY, last=history.MONDAY + timedelta(days=6), by=WEEK, zone=history.BERLIN)
    week = figures.build(span, targets.current(), now=history.NOW)
    (only,) = week.buckets
    assert 0 < only.observed < 1
    assert {figure: week.bucket(only.key).value(figure) for figure in figures.FIGURES} == history.TOTAL
