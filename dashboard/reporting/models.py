"""The backlog's history, and when the dashboard was watching: a report shows a time nobody
observed as a gap, never as zeros."""

from __future__ import annotations

from django.db import models


class BacklogSnapshot(models.Model):
    """The team's backlog at one moment, counted from the timeline's facts by `snapshots.take`.
    The conversations counted are kept (`conversations`: series → ids) with each day's last
    snapshot only, the one a report's table shows: one list a day over the retention."""

    at = models.DateTimeField(unique=True)
    active = models.PositiveIntegerField()
    unassigned = models.PositiveIntegerField()
    waiting = models.PositiveIntegerField()
    overdue = models.PositiveIntegerField()
    conversations = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["at"]


class ObservedPeriod(models.Model):
    """A stretch of time during which the dashboard ran with WapiKit's events stream connected:
    each snapshot taken while connected extends the last period or, after a gap, starts one."""

    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["started_at"]


class RolledDay(models.Model):
    """A day (in the team's time zone) whose counted facts are kept in `CountedFact`, computed at
    `computed_at` with the targets and zone `fingerprint` names: a change of either, or a fact
    learned later about that day, has it rolled up again (rollup.py)."""

    day = models.DateField(unique=True)
    fingerprint = models.CharField(max_length=200)
    computed_at = models.DateTimeField()


class CountedFact(models.Model):
    """One item a figure counted on a rolled-up day: what `figures.build` counts, kept so that
    a report over months sums rows in SQL instead of reading the log again."""

    day = models.DateField()
    figure = models.CharField(max_length=24)  # a list of figures.Tally: new, first_responses, …
    conversation_id = models.CharField(max_length=64)
    at = models.DateTimeField()
    what = models.CharField(max_length=40)
    minutes = models.IntegerField(null=True)
    met = models.BooleanField(null=True)
    member_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["day", "figure"]),
            models.Index(fields=["member_id", "day", "figure"]),
        ]


class DaySum(models.Model):
    """A rolled-up day's counted items summed: for the team (`member_id` "") and for each member
    credited, per figure, and for the times the medians need, per whole minute. A report over
    months reads these few rows; `CountedFact` keeps the items its numbers link to."""

    day = models.DateField()
    figure = models.CharField(max_length=24)
    member_id = models.CharField(max_length=64, blank=True)
    minutes = models.IntegerField(null=True)  # for first responses and first assignments
    n = models.PositiveIntegerField()
    met = models.PositiveIntegerField()  # of them, those that met their target

    class Meta:
        indexes = [models.Index(fields=["member_id", "day"])]


class LogCursor(models.Model):
    """How far the timeline's log has been looked through for facts learned after the day they
    belong to was rolled up (late.mark_stale): the highest `LifeEvent` id looked at. One row."""

    checked_through = models.BigIntegerField(default=0)
