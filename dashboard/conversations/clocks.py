"""Response clocks: when the team's answer to a waiting customer is due, how the conversation
stands against that, and what is left of WhatsApp's 24-hour reply window. Pure arithmetic on a
conversation's life facts, the team's targets and a `now` given by the caller: no database, no
clock of its own (`targets.current()` reads the targets). Every instant is counted in UTC: Python
adds to an aware datetime in its own zone as a wall clock would, which is not elapsed time.

With business hours, a response clock runs only while the team is at work: business time is
real elapsed time inside each working day's span, from the last moment the wall clock in the
team's time zone shows the opening time to the first moment it shows the closing time. Around a
DST change that keeps every instant of a span on a wall time between opening and closing; an
opening or closing time that does not exist that night (the clocks jump over it) is the jump.
The reply window is WhatsApp's rule and always counts real hours, day and night."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

REPLY_WINDOW = timedelta(hours=24)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    zone: ZoneInfo
    days: frozenset[int]  # 0 is Monday, as date.weekday() counts
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError("business hours need at least one working day, each 0 (Monday) to 6 (Sunday)")
        if not self.opens < self.closes:
            raise ValueError("business hours must close after they open, on the same day")

    def spans(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working days' spans (in UTC, in order) that end after `since`; endless."""
        # From the day before: where the clocks go back over midnight, the end of one local day
        # comes after the start of the next.
        day = since.astimezone(self.zone).date() - timedelta(days=1)
        while True:
            if day.weekday() in self.days:
                opens, closes = self._opening(day), self._closing(day)
                if opens < closes and closes > since:
                    yield opens, closes
            day += timedelta(days=1)

    def _opening(self, day: date) -> datetime:
        """The last instant the wall clock shows the opening time that day."""
        first, last = _readings(day, self.opens, self.zone)
        return last if first <= last else _jump(last, first, self.zone)

    def _closing(self, day: date) -> datetime:
        """The first instant the wall clock shows the closing time that day."""
        first, last = _readings(day, self.closes, self.zone)
        return first if first <= last else _jump(last, first, self.zone)


def _readings(day: date, wall: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first and last instants the wall clock shows `wall` on `day`: equal on most days, an
    hour apart when the clocks go back over it, and reversed when they jump over it (PEP 495:
    fold 0 reads a skipped time with the offset before the jump, fold 1 with the one after)."""
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC), naive.replace(tzinfo=zone, fold=1).astimezone(UTC)


def _jump(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jump forward, between `before` (old offset) and `after` (new):
    zoneinfo does not expose its transitions, so it is found to the second."""
    low, high = int(before.timestamp()), math.ceil(after.timestamp())
    offset = before.astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def business_deadline(start: datetime, minutes: int, hours: BusinessHours) -> datetime:
    """`minutes` of business time after `start`: a start outside business hours counts from the
    next opening, and a deadline that uses up a day exactly falls on its closing."""
    start, left = start.astimezone(UTC), timedelta(minutes=minutes)
    for opens, closes in hours.spans(start):
        begin = max(opens, start)
        if left <= closes - begin:
            return begin + left
        left -= closes - begin
    raise AssertionError("spans() never ends")  # pragma: no cover


def business_time(start: datetime, end: datetime, hours: BusinessHours) -> timedelta:
    """Business time between two instants (nothing when `end` is not after `start`)."""
    start, end, total = start.astimezone(UTC), end.astimezone(UTC), timedelta()
    if end <= start:
        return total
    for opens, closes in hours.spans(start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return total


@dataclass(frozen=True, slots=True)
class Targets:
    """The team's targets, in minutes: for the first answer to a customer, for each answer
    after that, how long before either the clock warns ("due soon"), and how long before the
    reply window closes it warns. Without business hours a clock counts wall time."""

    first_response: int
    next_response: int
    due_soon: int
    window_warning: int
    hours: BusinessHours | None = None

    def deadline(self, start: datetime, minutes: int) -> datetime:
        if self.hours is None:
            return start.astimezone(UTC) + timedelta(minutes=minutes)
        return business_deadline(start, minutes, self.hours)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """How much of a clock runs between two instants (nothing if `end` comes first)."""
        if self.hours is None:
            return max(end.astimezone(UTC) - start.astimezone(UTC), timedelta())
        return business_time(start, end, self.hours)


class State(StrEnum):
    NONE = "none"  # nobody is waiting
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


class Response(StrEnum):
    FIRST = "first"  # the team has never written in this conversation
    NEXT = "next"


class WindowState(StrEnum):
    NONE = "none"  # the customer never wrote: no window was ever open
    OPEN = "open"
    CLOSING = "closing"  # within the targets' window warning
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Window:
    state: WindowState
    ends_at: datetime | None = None
    warn_at: datetime | None = None
    minutes_left: int | None = None  # real minutes, rounded up; 0 once closed


@dataclass(frozen=True, slots=True)
class Clock:
    """Where one conversation stands. Minutes are business minutes when business hours are on:
    left rounded up (a clock never says 0 left while it is on time), over rounded down."""

    state: State
    window: Window
    response: Response | None = None
    waiting_since: datetime | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None  # when it becomes due soon: for an alert sent before a breach
    minutes_left: int | None = None
    minutes_over: int | None = None


class Life(Protocol):
    """The facts a clock needs (models.ConversationLife has them)."""

    first_inbound_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None


def _minutes_up(span: timedelta) -> int:
    return math.ceil(span.total_seconds() / 60)


def window_for(last_inbound_at: datetime | None, targets: Targets, now: datetime) -> Window:
    """WhatsApp's window for free-form replies: 24 real hours after the customer's last message."""
    if last_inbound_at is None:
        return Window(WindowState.NONE)
    now = now.astimezone(UTC)
    ends = last_inbound_at.astimezone(UTC) + REPLY_WINDOW
    warn = ends - timedelta(minutes=targets.window_warning)
    if now >= ends:
        return Window(WindowState.CLOSED, ends, warn, 0)
    state = WindowState.CLOSING if now >= warn else WindowState.OPEN
    return Window(state, ends, warn, _minutes_up(ends - now))


def clock_for(life: Life, targets: Targets, now: datetime) -> Clock:
    """The response clock of one conversation at `now`: running from the customer's first
    message since the team last wrote, against the first-response target if the team never
    wrote, else the next-response target."""
    window = window_for(life.last_inbound_at, targets, now)
    if life.first_inbound_at is None:
        return Clock(State.NONE, window)
    since, now = life.first_inbound_at.astimezone(UTC), now.astimezone(UTC)
    response = Response.FIRST if life.last_outbound_at is None else Response.NEXT
    minutes = targets.first_response if response is Response.FIRST else targets.next_response
    due = targets.deadline(since, minutes)
    warn = targets.deadline(since, max(minutes - targets.due_soon, 0))
    clock = dict(window=window, response=response, waiting_since=since, due_at=due, warn_at=warn)
    if now >= due:
        over = targets.elapsed(due, now)
        return Clock(State.OVERDUE, minutes_left=0, minutes_over=int(over.total_seconds() // 60), **clock)
    # A message stamped a little ahead of this server's clock has its whole target left.
    left = targets.elapsed(max(now, since), due)
    state = State.DUE_SOON if left <= timedelta(minutes=targets.due_soon) else State.ON_TIME
    return Clock(state, minutes_left=_minutes_up(left), **clock)
