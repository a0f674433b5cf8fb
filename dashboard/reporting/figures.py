"""A report's figures: the facts of `facts.rows` counted per day or week, per member and per
role, and for the whole span. Every figure keeps the items it counts (`Item`), so a number's
drill-down lists exactly those, and its CSV says the same.

Response times count as the response clocks do (`clocks.Targets.elapsed`: business time when
the team counts business hours, else real time); a median and a 90th percentile are by nearest
rank (the value at place ⌈p·n⌉ of the n sorted), in whole minutes rounded down."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dashboard.conversations.clocks import REPLY_WINDOW, Targets
from dashboard.conversations.models import LifeEvent

from . import facts
from .periods import Bucket, Span, observed_at, observed_periods

# The figures, in the order a table shows them: key → (heading, what it counts).
FIGURES = {
    "new": ("New conversations", "Conversations that began (the timeline's “new”), by when they began."),
    "first_responses": (
        "First responses",
        "The team's first message in a conversation after the customer wrote, by when it was sent.",
    ),
    "next_responses": (
        "Next responses",
        "Each later team message that answered a waiting customer (the team had written before).",
    ),
    "first_response_median": (
        "First response, median (min)",
        "Minutes from the customer's first waiting message to the first response, as the response clocks count.",
    ),
    "first_response_p90": ("First response, 90th percentile (min)", "Nine in ten first responses took at most this."),
    "assignment_median": (
        "Time to first assignment, median (min)",
        "Minutes from a conversation's beginning to its first assignment, by when it was assigned.",
    ),
    "assignment_p90": (
        "Time to first assignment, 90th percentile (min)", "Nine in ten first assignments came at most this late.",
    ),
    "closed": ("Closed", "Conversations closed (a conversation closed, reopened and closed again counts each close)."),
    "assigned_by_hand": (
        "Assigned by hand", "Assignments made by a person (in the dashboard or WapiKit), by when they were made.",
    ),
    "assigned_by_routing": ("Assigned by routing", "Assignments made by the dashboard's routing rules."),
    "targets_met": (
        "Response targets met (%)",
        "The share of first and next responses sent within the team's first or next response target.",
    ),
    "windows_lost": (
        "24 h windows closed without answer",
        "Customer messages after which 24 hours passed with no message from either side, by when the window closed.",
    ),
}
MINUTE_FIGURES = {"first_response_median", "first_response_p90", "assignment_median", "assignment_p90"}
# Which items a computed figure lists: those its value is drawn from.
ITEMS_OF = {
    "first_response_median": "first_responses",
    "first_response_p90": "first_responses",
    "assignment_median": "assignments",
    "assignment_p90": "assignments",
    "targets_met": "responses",
}
MEMBER_FIGURES = (
    "first_responses", "next_responses", "first_response_median", "targets_met", "assigned_by_hand",
    "assigned_by_routing", "closed", "windows_lost",
)


@dataclass(frozen=True, slots=True)
class Item:
    """One counted thing: a conversation, when, (for times) how many minutes and whether it
    met its target, and the member it is credited to ("" for nobody)."""

    conversation_id: str
    at: datetime
    what: str
    minutes: int | None = None
    met: bool | None = None
    member: str = ""


@dataclass(slots=True)
class Tally:
    """What a day, week, member or role counts: items computed now (`lists`), and the sums of
    days rolled up before (`counts`, `mets`, and `minutes`: how many items took each whole
    minute; see rollup.py)."""

    lists: dict[str, list[Item]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    mets: dict[str, int] = field(default_factory=dict)
    minutes: dict[str, Counter[int]] = field(default_factory=dict)

    def add(self, name: str, item: Item) -> None:
        self.lists.setdefault(name, []).append(item)

    def count(self, name: str) -> int:
        return len(self.lists.get(name, ())) + self.counts.get(name, 0)

    def has(self, figure: str) -> bool:
        """Whether any item is behind the figure (its number then links to them)."""
        return self.count(ITEMS_OF.get(figure, figure)) > 0

    def items(self, figure: str) -> list[Item]:
        """The items computed now (a rolled-up day's are read by rollup.items_behind)."""
        return self.lists.get(ITEMS_OF.get(figure, figure), [])

    def value(self, figure: str) -> int | None:
        name = ITEMS_OF.get(figure, figure)
        if figure in MINUTE_FIGURES:
            rank = 0.5 if figure.endswith("median") else 0.9
            return nearest_rank((i.minutes for i in self.lists.get(name, ())), rank, self.minutes.get(name))
        if figure == "targets_met":
            total = self.count(name)
            met = sum(bool(i.met) for i in self.lists.get(name, ())) + self.mets.get(name, 0)
            return round(100 * met / total) if total else None
        return self.count(name)

    def merge(self, other: Tally) -> Tally:
        for name, items in other.lists.items():
            self.lists.setdefault(name, []).extend(items)
        for name, n in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + n
        for name, n in other.mets.items():
            self.mets[name] = self.mets.get(name, 0) + n
        for name, counted in other.minutes.items():
            self.minutes.setdefault(name, Counter()).update(counted)
        return self


def nearest_rank(values: Iterable[int | None], rank: float, counted: Counter[int] | None = None) -> int | None:
    """The value at place ⌈rank·n⌉ of the n values, and of those `counted` (value → how many)."""
    weights = counted or Counter()
    if live := [v for v in values if v is not None]:
        weights = Counter(weights)
        weights.update(live)
    total = weights.total()
    if not total:
        return None
    place, seen = max(math.ceil(rank * total), 1), 0
    for value in sorted(weights):
        seen += weights[value]
        if seen >= place:
            return value
    return None


@dataclass(slots=True)
class Report:
    span: Span
    buckets: list[Bucket]
    by_bucket: dict = field(default_factory=dict)  # Bucket.key → Tally
    total: Tally = field(default_factory=Tally)
    by_member: dict[str, Tally] = field(default_factory=dict)

    def bucket(self, key) -> Tally:
        return self.by_bucket.setdefault(key, Tally())


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def build(span: Span, targets: Targets, *, now: datetime) -> Report:
    """Every figure of the span. Only what happened while the dashboard observed counts: a day
    or week it never observed is a gap, and a week's figures are its observed days'."""
    buckets = span.buckets()
    report = Report(span=span, buckets=buckets)
    periods = observed_periods(span.start, span.end)
    routed_at = facts.routed(span)
    for row in facts.rows(span):
        for name, item, member in _counted(row, targets, routed_at, now=now):
            moment = item.at
            if not span.start <= moment < span.end:
                continue
            if not observed_at(moment, periods):
                continue
            key = span.key_of(moment)
            if member:
                item = replace(item, member=member)
            for tally in (report.bucket(key), report.total):
                tally.add(name, item)
            if member:
                report.by_member.setdefault(member, Tally()).add(name, item)
    return report


def _counted(row: facts.Row, targets: Targets, routed_at, *, now: datetime):
    """What one row counts for: (list, item, the member it is credited to)."""
    cid, kind = row.conversation_id, row.kind
    if kind == LifeEvent.Kind.NEW:
        yield "new", Item(cid, row.at, "began"), ""
    elif kind == LifeEvent.Kind.CLOSED:
        yield "closed", Item(cid, row.at, "closed"), row.holder
    elif kind == LifeEvent.Kind.ASSIGNED:
        routing = facts.by_routing(row, routed_at)
        name = "assigned_by_routing" if routing else "assigned_by_hand"
        yield name, Item(cid, row.at, "assigned by routing" if routing else "assigned by hand"), row.member_id
        if row.nth_assignment == 1 and row.began_at is not None:
            minutes = _minutes(targets.elapsed(row.began_at, row.at))
            yield "assignments", Item(cid, row.at, "first assigned", minutes=minutes), ""
    elif row.is_response:
        first = row.answers_before == 0
        target = targets.first_response if first else targets.next_response
        minutes = _minutes(targets.elapsed(row.cycle_at, row.at))
        met = targets.elapsed(row.cycle_at, row.at) <= timedelta(minutes=target)
        item = Item(cid, row.at, "first response" if first else "next response", minutes=minutes, met=met)
        yield ("first_responses" if first else "next_responses"), item, row.holder
        yield "responses", item, row.holder
    elif row.window_lost(now):
        closed_at = row.at + REPLY_WINDOW
        yield "windows_lost", Item(cid, closed_at, "window closed unanswered"), row.holder
