"""The backlog's history: a snapshot counts the timeline's facts while WapiKit's events stream
is connected, and each one extends the observed period; a stream down or a dashboard stopped
leaves a gap, which a report shows as a gap."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django_tasks_db.models import DBTaskResult

from dashboard.conversations import live_state
from dashboard.conversations.models import ConversationLife
from dashboard.reporting import snapshots
from dashboard.reporting.models import BacklogSnapshot, ObservedPeriod
from dashboard.reporting.periods import DAY, Span

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def stream(state: str) -> None:
    moment = time.time()
    live_state.store(live_state.StreamState(state=state, since=moment, reported_at=moment))


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


def life(n: int, **facts) -> None:
    ConversationLife.objects.create(conversation_id=f"c{n}", status="Active", **facts)


def test_a_snapshot_counts_active_unassigned_waiting_and_overdue(settings):
    settings.FIRST_RESPONSE_TARGET_MINUTES = 60
    stream(live_state.CONNECTED)
    life(1, assignee_known=True, assignee_id="")  # unassigned, nobody waiting
    life(2, assignee_known=True, assignee_id="m1", first_inbound_at=NOW - timedelta(minutes=30))  # waiting
    life(3, assignee_known=True, assignee_id="", first_inbound_at=NOW - timedelta(minutes=61))  # overdue
    ConversationLife.objects.create(conversation_id="c4", status="Closed", first_inbound_at=NOW - timedelta(days=2))
    assert snapshots.take(now=NOW) == {"active": 3, "unassigned": 2, "waiting": 2, "overdue": 1}
    assert BacklogSnapshot.objects.get().at == NOW


def test_snapshots_extend_the_observed_period_and_a_stream_down_leaves_a_gap():
    every = snapshots.every()
    stream(live_state.CONNECTED)
    snapshots.take(now=NOW)
    snapshots.take(now=NOW + every)
    stream(live_state.CONNECTING)
    assert snapshots.take(now=NOW + 2 * every) == {}
    stream(live_state.CONNECTED)
    snapshots.take(now=NOW + 5 * every)
    assert list(ObservedPeriod.objects.values_list("started_at", "ended_at")) == [
        (NOW, NOW + every), (NOW + 5 * every, NOW + 5 * every),
    ]
    assert BacklogSnapshot.objects.count() == 3


def test_a_day_with_no_observation_is_a_gap_and_one_with_some_is_observed_in_part():
    ObservedPeriod.objects.create(started_at=NOW, ended_at=NOW + timedelta(hours=6))
    span = Span(first=NOW.date() - timedelta(days=1), last=NOW.date(), by=DAY, zone=UTC)
    before, day = span.buckets()
    assert not before.seen and before.observed == 0
    assert day.observed == 0.25


def test_one_chain_of_snapshots_is_planned_however_often_it_is_asked_for():
    snapshots.ensure()
    snapshots.ensure()
    planned = DBTaskResult.objects.filter(task_path__endswith="snapshot_task")
    assert planned.count() == 1
    assert planned.get().run_after > datetime.now(UTC)


def test_a_second_chain_of_snapshots_ends_at_its_first_run():
    stream(live_state.CONNECTED)
    assert snapshots.snapshot_task.call() != {}
    assert snapshots.snapshot_task.call() == {}, "a run just now: this chain ends, planning nothing"
    assert DBTaskResult.objects.filter(task_path__endswith="snapshot_task").count() == 1
