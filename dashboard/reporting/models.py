"""The backlog's history, and when the dashboard was watching: a report shows a time nobody
observed as a gap, never as zeros."""

from __future__ import annotations

from django.db import models


class BacklogSnapshot(models.Model):
    """The team's backlog at one moment, counted from the timeline's facts by `snapshots.take`."""

    at = models.DateTimeField(unique=True)
    active = models.PositiveIntegerField()
    unassigned = models.PositiveIntegerField()
    waiting = models.PositiveIntegerField()
    overdue = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]


class ObservedPeriod(models.Model):
    """A stretch of time during which the dashboard ran with WapiKit's events stream connected:
    each snapshot taken while connected extends the last period or, after a gap, starts one."""

    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["started_at"]
