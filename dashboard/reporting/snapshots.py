"""The backlog's history: every REPORT_SNAPSHOT_SECONDS a task (Django's Tasks framework, run by
`manage.py db_worker`) counts the active, unassigned, waiting and overdue conversations from the
timeline's facts and keeps the counts (each day's last snapshot keeps which conversations they
were too). A snapshot is taken only while WapiKit's events stream is
connected (what the timeline knows is current then), and each one extends the period the
dashboard observed; a stopped dashboard or a disconnected stream leaves a gap.

One chain of snapshots runs per deployment: a cache key says one is planned, and every fact the
domain learns (and every report page) plans one again when the key has expired."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.tasks import task
from django.utils import timezone

from dashboard.conversations import clocks, live_state, targets
from dashboard.conversations.models import ConversationLife

from . import rollup
from .models import BacklogSnapshot, ObservedPeriod

logger = logging.getLogger("dashboard.reporting")

_PLANNED = "reporting:snapshot-planned:v1"
_RAN = "reporting:snapshot-ran:v1"


def every() -> timedelta:
    return timedelta(seconds=settings.REPORT_SNAPSHOT_SECONDS)


def on_fact(conversation, why: str) -> None:
    ensure()


def ensure() -> None:
    """A snapshot is planned (a lost chain is planned again once its key expires)."""
    interval = every()
    if cache.add(_PLANNED, 1, timeout=int(interval.total_seconds() * 2) + 1):
        snapshot_task.using(run_after=timezone.now() + interval).enqueue()


@task
def snapshot_task() -> dict[str, int]:
    """A snapshot, then the days over that are due rolled up (rollup.py). A second chain (two
    processes planned one while the cache's key had expired) ends at its first run."""
    interval = every()
    if not cache.add(_RAN, 1, timeout=max(1, int(interval.total_seconds() / 2))):
        return {}
    try:
        done = take(now=timezone.now())
        done["rolled_days"] = rollup.roll_due(rollup.team_zone(), targets.current(), now=timezone.now())
        return done
    finally:
        cache.set(_PLANNED, 1, timeout=int(interval.total_seconds() * 2) + 1)
        snapshot_task.using(run_after=timezone.now() + interval).enqueue()


SERIES = ("active", "unassigned", "waiting", "overdue")


def backlog(*, now: datetime) -> dict[str, list[str]]:
    """The backlog as the timeline knows it at `now`, each series' conversations: Active ones;
    those assigned to nobody; those whose customer waits for an answer; and those of them past
    their target."""
    team = targets.current()
    found: dict[str, list[str]] = {name: [] for name in SERIES}
    lives = ConversationLife.objects.filter(status="Active").order_by("conversation_id").only(
        "conversation_id", "assignee_known", "assignee_id", "first_inbound_at", "last_inbound_at", "last_outbound_at"
    )
    for life in lives:
        cid = life.conversation_id
        found["active"].append(cid)
        if life.assignee_known and not life.assignee_id:
            found["unassigned"].append(cid)
        if life.first_inbound_at is not None:
            found["waiting"].append(cid)
            if clocks.clock_for(life, team, now).state is clocks.State.OVERDUE:
                found["overdue"].append(cid)
    return found


def take(*, now: datetime) -> dict[str, int]:
    """One snapshot, if the events stream is connected; else nothing (the time stays a gap).
    It keeps its conversations, and the day's earlier snapshots let theirs go: a report's
    table shows each day's last snapshot, and links its numbers to those."""
    if not live_state.current().live:
        logger.info("no backlog snapshot: the events stream is not connected")
        return {}
    ids = backlog(now=now)
    counts = {name: len(found) for name, found in ids.items()}
    zone = rollup.team_zone()
    midnight = datetime.combine(now.astimezone(zone).date(), time.min, zone)
    try:
        with transaction.atomic():
            BacklogSnapshot.objects.update_or_create(at=now, defaults={**counts, "conversations": ids})
            BacklogSnapshot.objects.filter(at__gte=midnight, at__lt=now, conversations__isnull=False).update(
                conversations=None
            )
            observed(now=now)
    except DatabaseError as exc:
        logger.warning("the backlog snapshot could not be kept: %s", type(exc).__name__)
        return {}
    return counts


def counted(snapshot_id: int, series: str) -> tuple[datetime, int, dict[str, list[str]] | None] | None:
    """A snapshot's moment, its count of `series`, and the conversations it kept (None: not
    kept, an earlier snapshot of its day); None when there is no such snapshot."""
    return BacklogSnapshot.objects.filter(pk=snapshot_id).values_list("at", series, "conversations").first()


def observed(*, now: datetime) -> ObservedPeriod:
    """`now` observed: the last period reaches it when it ended within two intervals, else a
    new period starts at `now`."""
    last = ObservedPeriod.objects.select_for_update().order_by("-ended_at").first()
    if last is not None and last.ended_at <= now <= last.ended_at + 2 * every():
        ObservedPeriod.objects.filter(pk=last.pk).update(ended_at=now)
        last.ended_at = now
        return last
    if last is not None and last.started_at <= now <= last.ended_at:
        return last
    return ObservedPeriod.objects.create(started_at=now, ended_at=now)
