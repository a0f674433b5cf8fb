"""A report's span: from one day to another (both included) in the team's time zone, cut into
days or weeks (Monday to Sunday), each with its instants in UTC and how much of it the
dashboard observed."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from .models import ObservedPeriod

DAY, WEEK = "day", "week"
LONGEST = timedelta(days=400)  # the timeline keeps its log 400 days by default
FINAL_AFTER = timedelta(minutes=15)  # a day is rolled up once it has been over this long


@dataclass(frozen=True, slots=True)
class Bucket:
    key: date  # its first day
    label: str
    start: datetime  # UTC
    end: datetime  # UTC, excluded
    observed: float = 1.0  # the share of it the dashboard observed, 0 to 1

    @property
    def seen(self) -> bool:
        return self.observed > 0


@dataclass(frozen=True, slots=True)
class Span:
    first: date
    last: date
    by: str
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return _midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return _midnight(self.last + timedelta(days=1), self.zone)

    def key_of(self, moment: datetime) -> date:
        return self.key_of_day(moment.astimezone(self.zone).date())

    def key_of_day(self, day: date) -> date:
        return day - timedelta(days=day.weekday()) if self.by == WEEK else day

    def buckets(self) -> list[Bucket]:
        """Its days or weeks (a week cut by the span's ends keeps only its days inside), each
        with the share the observed periods cover."""
        found = []
        day = self.first
        while day <= self.last:
            key = self.key_of(_midnight(day, self.zone))
            following = key + timedelta(days=7 if self.by == WEEK else 1)
            last = min(following - timedelta(days=1), self.last)
            start, end = _midnight(day, self.zone), _midnight(last + timedelta(days=1), self.zone)
            label = f"{day:%a %d %b}" if self.by == DAY else f"Week of {key:%d %b}"
            found.append(Bucket(key=key, label=label, start=start, end=end))
            day = last + timedelta(days=1)
        return _with_observed(found)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def observed_periods(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The observed periods that meet [start, end), in order."""
    return list(
        ObservedPeriod.objects.filter(Q(started_at__lt=end) & Q(ended_at__gte=start))
        .order_by("started_at")
        .values_list("started_at", "ended_at")
    )


def observed_at(moment: datetime, periods: list[tuple[datetime, datetime]]) -> bool:
    """Whether the dashboard was observing at `moment` (a period holds its start, not its end)."""
    index = bisect.bisect_right(periods, (moment, datetime.max.replace(tzinfo=UTC))) - 1
    return index >= 0 and periods[index][0] <= moment < periods[index][1]


def _with_observed(buckets: list[Bucket]) -> list[Bucket]:
    if not buckets:
        return buckets
    periods = observed_periods(buckets[0].start, buckets[-1].end)
    found = []
    for bucket in buckets:
        covered = timedelta()
        for started, ended in periods:
            covered += max(min(ended, bucket.end) - max(started, bucket.start), timedelta())
        share = covered / (bucket.end - bucket.start)
        # A period that touches the bucket for an instant (a first snapshot) still counts.
        touched = any(
            started < bucket.end and (ended > bucket.start or started == ended >= bucket.start)
            for started, ended in periods
        )
        found.append(Bucket(**{**_fields(bucket), "observed": min(max(share, 0.001), 1.0) if touched else 0.0}))
    return found


def _fields(bucket: Bucket) -> dict:
    return {"key": bucket.key, "label": bucket.label, "start": bucket.start, "end": bucket.end}
