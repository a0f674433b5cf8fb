"""Daily rollups: the items `figures.build` counts on each day that is over (in the team's time
zone) are kept in `CountedFact`, so that a report over months sums them in SQL (counts, targets
met) and reads only the minutes its medians need, instead of reading the timeline's log again.
The days not rolled up yet (today, a day whose facts changed) are computed from the log, the
same way; both give the same figures (tests/unit/test_reports_rollup.py).

A day is rolled up once it has been over for FINAL_AFTER, by the snapshot task (`roll_due`),
and again when the team's targets or time zone change (its fingerprint) or when the timeline
learns, later, a fact that changes it (a message read after the event stream missed it, on any
day of the retention: late.py)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Min, Sum

from dashboard.conversations import targets as targets_module
from dashboard.conversations.clocks import Targets
from dashboard.conversations.models import LifeEvent

from . import figures, late
from .models import CountedFact, DaySum, RolledDay
from .periods import DAY, FINAL_AFTER, Span

BATCH_DAYS = 31
_ROLLED = ("new", "first_responses", "next_responses", "assignments", "closed", "assigned_by_hand",
           "assigned_by_routing", "windows_lost")
_TIMED = ("first_responses", "assignments")


def fingerprint(span_zone, targets: Targets) -> str:
    return hashlib.sha256(f"{span_zone.key}|{targets!r}".encode()).hexdigest()


def roll(day: date, zone, targets: Targets, *, now: datetime) -> int:
    """One day's items, kept (replacing what was kept of it). How many."""
    report = figures.build(Span(first=day, last=day, by=DAY, zone=zone), targets, now=now)
    rows = [
        CountedFact(day=day, figure=name, conversation_id=i.conversation_id, at=i.at, what=i.what,
                    minutes=i.minutes, met=i.met, member_id=i.member)
        for name in _ROLLED
        for i in report.total.lists.get(name, ())
    ]
    sums: dict[tuple, list[int]] = {}
    for row in rows:
        keys = [("", row.minutes if row.figure in _TIMED else None)]
        if row.member_id:
            keys.append((row.member_id, row.minutes if row.figure == "first_responses" else None))
        for member, minutes in keys:
            found = sums.setdefault((row.figure, member, minutes), [0, 0])
            found[0] += 1
            found[1] += bool(row.met)
    with transaction.atomic():
        CountedFact.objects.filter(day=day).delete()
        DaySum.objects.filter(day=day).delete()
        CountedFact.objects.bulk_create(rows, batch_size=2000)
        DaySum.objects.bulk_create(
            [DaySum(day=day, figure=figure, member_id=member, minutes=minutes, n=n, met=met)
             for (figure, member, minutes), (n, met) in sums.items()],
            batch_size=2000,
        )
        RolledDay.objects.update_or_create(day=day, defaults={"fingerprint": fingerprint(zone, targets),
                                                              "computed_at": now})
    return len(rows)


def due(zone, targets: Targets, *, now: datetime) -> list[date]:
    """The days over (newest first) not rolled up with these targets, or changed since by a
    fact learned late (marked stale here: late.mark_stale)."""
    last = (now - FINAL_AFTER).astimezone(zone).date() - timedelta(days=1)
    first_at = LifeEvent.objects.aggregate(first=Min("at"))["first"]
    if first_at is None:
        return []
    first = max(first_at.astimezone(zone).date(), last - timedelta(days=400))
    late.mark_stale(zone)
    current = fingerprint(zone, targets)
    rolled = set(RolledDay.objects.filter(day__gte=first, fingerprint=current).values_list("day", flat=True))
    return [day for day in reversed(_days(first, last)) if day not in rolled]


def roll_due(zone, targets: Targets, *, now: datetime, limit: int = BATCH_DAYS) -> int:
    """Up to `limit` due days rolled up; how many."""
    days = due(zone, targets, now=now)[:limit]
    for day in days:
        roll(day, zone, targets, now=now)
    return len(days)


def _rolled(span: Span, targets: Targets, days: Iterable[date]) -> set[date]:
    days = list(days)
    return set(RolledDay.objects.filter(day__in=days, fingerprint=fingerprint(span.zone, targets))
               .values_list("day", flat=True))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _runs(days: list[date], rolled: set[date]) -> list[tuple[date, date]]:
    """The stretches of consecutive days not rolled up."""
    found: list[tuple[date, date]] = []
    for day in days:
        if day in rolled:
            continue
        if found and found[-1][1] == day - timedelta(days=1):
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def build(span: Span, targets: Targets, *, now: datetime) -> figures.Report:
    """`figures.build`'s report, from the rollups where they are and the log elsewhere."""
    days = _days(span.first, span.last)
    rolled = _rolled(span, targets, days)
    report = figures.Report(span=span, buckets=span.buckets())
    for first, last in _runs(days, rolled):
        part = figures.build(Span(first=first, last=last, by=span.by, zone=span.zone), targets, now=now)
        for key, tally in part.by_bucket.items():
            report.bucket(key).merge(tally)
        report.total.merge(part.total)
        for member, tally in part.by_member.items():
            report.by_member.setdefault(member, figures.Tally()).merge(tally)
    if rolled:
        _add_rolled(report, span, sorted(rolled))
    return report


def _add(tally: figures.Tally, figure: str, n: int, met: int) -> None:
    names = (figure, "responses") if figure in ("first_responses", "next_responses") else (figure,)
    for name in names:
        tally.counts[name] = tally.counts.get(name, 0) + n
        tally.mets[name] = tally.mets.get(name, 0) + met


def _add_rolled(report: figures.Report, span: Span, days: list[date]) -> None:
    """The rolled-up days' sums: the team's rows as kept (a count per day and figure, and for
    the times the medians need, how many items took each minute), each member's summed over the
    span in SQL; two queries, each row read once."""
    rows = DaySum.objects.filter(day__in=days)
    team = rows.filter(member_id="").values_list("day", "figure", "minutes", "n", "met")
    members = (rows.exclude(member_id="").values_list("member_id", "figure", "minutes")
               .annotate(n_sum=Sum("n"), met_sum=Sum("met")).order_by())
    _sum_into(team, lambda day: (report.bucket(span.key_of_day(day)), report.total))
    _sum_into(members, lambda member: (report.by_member.setdefault(member, figures.Tally()),))


def _sum_into(rows: Iterable[tuple], tallies_of: Callable[[object], tuple[figures.Tally, ...]]) -> None:
    """Rows of (whose, figure, minutes, n, met) added to the tallies of `whose`: the counts of a
    figure summed first, each minute counted in place (tens of thousands of rows over months)."""
    sums: dict[tuple, list] = {}
    for whose, figure, minutes, n, met in rows:
        if (found := sums.get((whose, figure))) is None:
            found = sums[whose, figure] = [0, 0, tallies_of(whose), None]
        found[0] += n
        found[1] += met
        if minutes is not None:
            if found[3] is None:
                found[3] = [_counter(tally, figure) for tally in found[2]]
            for counter in found[3]:
                counter[minutes] += n
    for (_, figure), (n, met, tallies, _) in sums.items():
        for tally in tallies:
            _add(tally, figure, n, met)


def _counter(tally: figures.Tally, figure: str) -> Counter:
    if (found := tally.minutes.get(figure)) is None:
        found = tally.minutes[figure] = Counter()
    return found


def items_behind(span: Span, targets: Targets, figure: str, *, now: datetime, bucket: date | None = None,
                 members: list[str] | None = None) -> list[figures.Item]:
    """Exactly the items a number counts: the span's (or one day or week's), the team's (or
    these members')."""
    days = [d for d in _days(span.first, span.last) if bucket is None or span.key_of_day(d) == bucket]
    if not days:
        return []
    rolled = _rolled(span, targets, days)
    name = figures.ITEMS_OF.get(figure, figure)
    names = ("first_responses", "next_responses") if name == "responses" else (name,)
    found: list[figures.Item] = []
    for first, last in _runs(days, rolled):
        part = figures.build(Span(first=first, last=last, by=span.by, zone=span.zone), targets, now=now)
        tallies = [part.by_member.get(m, figures.Tally()) for m in members] if members is not None else [part.total]
        for tally in tallies:
            found += tally.items(figure)
    rows = CountedFact.objects.filter(day__in=sorted(rolled), figure__in=names)
    if members is not None:
        rows = rows.filter(member_id__in=members)
    columns = ("conversation_id", "at", "what", "minutes", "met", "member_id")
    found += [figures.Item(*row) for row in rows.order_by("at", "conversation_id").values_list(*columns)]
    return sorted(found, key=lambda item: (item.at, item.conversation_id))


def all_items(span: Span, targets: Targets, *, now: datetime, member: str | None = None) -> figures.Tally:
    """Every item of the span (or one member's), by list: for the per-conversation CSV."""
    days = _days(span.first, span.last)
    rolled = _rolled(span, targets, days)
    tally = figures.Tally()
    for first, last in _runs(days, rolled):
        part = figures.build(Span(first=first, last=last, by=span.by, zone=span.zone), targets, now=now)
        tally.merge(part.by_member.get(member, figures.Tally()) if member else part.total)
    rows = CountedFact.objects.filter(day__in=sorted(rolled))
    if member:
        rows = rows.filter(member_id=member)
    columns = ("figure", "conversation_id", "at", "what", "minutes", "met", "member_id")
    lists = tally.lists
    for figure, cid, at, what, minutes, met, member in rows.order_by("at", "conversation_id").values_list(*columns):
        lists.setdefault(figure, []).append(figures.Item(cid, at, what, minutes, met, member))
    return tally


def team_zone() -> ZoneInfo:
    """The team's time zone: its response targets', else the settings'."""
    return ZoneInfo(targets_module.applying()["time_zone"])
