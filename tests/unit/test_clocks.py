"""Response clocks: when the team's answer is due, counted in business minutes when the team has
business hours (a clock stops at night and on days off, and a night the clocks change has an hour
more or less of it), and how a conversation stands against that. Pure arithmetic: no database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.conversations.clocks import (
    BusinessHours,
    Response,
    State,
    Targets,
    WindowState,
    business_deadline,
    business_time,
    clock_for,
    window_for,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(5))
NINE_TO_FIVE = BusinessHours(zone=BERLIN, days=WEEKDAYS, opens=time(9), closes=time(17))


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@dataclass
class Life:
    first_inbound_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None


def targets(first=15, nxt=60, due_soon=5, window_warning=120, hours=None) -> Targets:
    return Targets(
        first_response=first, next_response=nxt, due_soon=due_soon, window_warning=window_warning, hours=hours
    )


# --- Hand-computed examples, to the minute ------------------------------------------------------


def test_a_message_on_friday_night_is_due_on_monday_morning_plus_the_target():
    # Friday 2026-03-20 23:00: nothing counts until Monday 09:00.
    assert business_deadline(berlin(2026, 3, 20, 23, 0), 15, NINE_TO_FIVE) == berlin(2026, 3, 23, 9, 15)


def test_a_message_late_on_friday_carries_what_is_left_to_monday():
    # 10 minutes on Friday (16:50-17:00), the other 50 on Monday.
    assert business_deadline(berlin(2026, 3, 20, 16, 50), 60, NINE_TO_FIVE) == berlin(2026, 3, 23, 9, 50)


def test_the_weekend_the_clocks_go_forward_monday_opens_at_nine_summer_time():
    # Berlin goes to summer time on Sunday 2026-03-29: Friday 16:50 CET + 60 business minutes is
    # Monday 09:50 CEST, which is 07:50 UTC (a week earlier it was 08:50 UTC).
    due = business_deadline(berlin(2026, 3, 27, 16, 50), 60, NINE_TO_FIVE)
    assert due == datetime(2026, 3, 30, 7, 50, tzinfo=UTC)
    assert due.astimezone(BERLIN).strftime("%a %H:%M %Z") == "Mon 09:50 CEST"


def test_the_weekend_the_clocks_go_back_monday_opens_at_nine_winter_time():
    due = business_deadline(berlin(2026, 10, 23, 16, 30), 60, NINE_TO_FIVE)
    assert due == datetime(2026, 10, 26, 8, 30, tzinfo=UTC)
    assert due.astimezone(BERLIN).strftime("%a %H:%M %Z") == "Mon 09:30 CET"


def test_a_working_night_the_clocks_go_forward_is_an_hour_shorter():
    # 01:00-05:00 every day: on 2026-03-29 it runs from 01:00 CET to 05:00 CEST, three real hours.
    nights = BusinessHours(zone=BERLIN, days=frozenset(range(7)), opens=time(1), closes=time(5))
    start = berlin(2026, 3, 29, 0, 30)
    assert business_time(start, berlin(2026, 3, 29, 6, 0), nights) == timedelta(hours=3)
    # 180 minutes that night, the last 20 the next night.
    assert business_deadline(start, 200, nights) == berlin(2026, 3, 30, 1, 20)


def test_a_working_night_the_clocks_go_back_is_an_hour_longer():
    nights = BusinessHours(zone=BERLIN, days=frozenset(range(7)), opens=time(1), closes=time(5))
    start = berlin(2026, 10, 25, 0, 30)
    assert business_time(start, berlin(2026, 10, 25, 6, 0), nights) == timedelta(hours=5)
    assert business_deadline(start, 299, nights) == datetime(2026, 10, 25, 3, 59, tzinfo=UTC)  # 04:59 CET


def test_an_opening_time_the_clocks_jump_over_opens_at_the_jump():
    early = BusinessHours(zone=BERLIN, days=frozenset(range(7)), opens=time(2, 30), closes=time(6))
    # 02:30 does not exist on 2026-03-29: the day opens when the clocks jump to 03:00 CEST.
    assert business_deadline(berlin(2026, 3, 29, 0, 0), 1, early) == datetime(2026, 3, 29, 1, 1, tzinfo=UTC)


def test_without_business_hours_a_deadline_is_plain_addition_even_across_a_clock_change():
    assert targets().deadline(berlin(2026, 3, 29, 1, 30), 60) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


# --- Clocks -------------------------------------------------------------------------------------

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_nobody_waiting_has_no_clock():
    clock = clock_for(Life(last_inbound_at=NOW - timedelta(hours=1), last_outbound_at=NOW), targets(), NOW)
    assert clock.state is State.NONE
    assert clock.due_at is None and clock.minutes_left is None


def test_a_customer_the_team_never_answered_counts_against_the_first_response_target():
    life = Life(first_inbound_at=NOW - timedelta(minutes=3), last_inbound_at=NOW - timedelta(minutes=3))
    clock = clock_for(life, targets(first=15, nxt=60), NOW)
    assert (clock.state, clock.response, clock.minutes_left) == (State.ON_TIME, Response.FIRST, 12)
    assert clock.due_at == NOW + timedelta(minutes=12)
    assert clock.warn_at == NOW + timedelta(minutes=7)


def test_once_the_team_wrote_the_next_response_target_applies():
    life = Life(
        first_inbound_at=NOW - timedelta(minutes=30), last_inbound_at=NOW - timedelta(minutes=10),
        last_outbound_at=NOW - timedelta(hours=2),
    )
    clock = clock_for(life, targets(first=15, nxt=60), NOW)
    assert (clock.state, clock.response, clock.minutes_left) == (State.ON_TIME, Response.NEXT, 30)


def test_a_clock_is_due_soon_within_the_warning_and_rounds_what_is_left_up():
    life = Life(first_inbound_at=NOW - timedelta(minutes=10, seconds=30))
    clock = clock_for(life, targets(first=15, due_soon=5), NOW)
    assert (clock.state, clock.minutes_left) == (State.DUE_SOON, 5)


def test_a_message_stamped_ahead_of_the_server_s_clock_has_its_whole_target_left():
    clock = clock_for(Life(first_inbound_at=NOW + timedelta(minutes=2)), targets(first=15), NOW)
    assert (clock.state, clock.minutes_left) == (State.ON_TIME, 15)


def test_an_overdue_clock_says_by_how_many_whole_minutes():
    life = Life(first_inbound_at=NOW - timedelta(minutes=40, seconds=50))
    clock = clock_for(life, targets(first=15), NOW)
    assert (clock.state, clock.minutes_left, clock.minutes_over) == (State.OVERDUE, 0, 25)


def test_a_clock_is_overdue_from_the_very_minute_it_is_due():
    clock = clock_for(Life(first_inbound_at=NOW - timedelta(minutes=15)), targets(first=15), NOW)
    assert (clock.state, clock.minutes_over) == (State.OVERDUE, 0)


def test_with_business_hours_minutes_left_and_over_are_business_minutes():
    hours = targets(first=60, due_soon=5, hours=NINE_TO_FIVE)
    life = Life(first_inbound_at=berlin(2026, 3, 20, 16, 50))  # due Monday 09:50
    saturday = clock_for(life, hours, berlin(2026, 3, 21, 12, 0))
    assert (saturday.state, saturday.minutes_left) == (State.ON_TIME, 50)
    tuesday = clock_for(life, hours, berlin(2026, 3, 24, 10, 0))
    # Monday 09:50-17:00 and Tuesday 09:00-10:00.
    assert (tuesday.state, tuesday.minutes_over) == (State.OVERDUE, 430 + 60)


def test_the_warning_of_a_clock_in_business_hours_comes_in_business_time():
    life = Life(first_inbound_at=berlin(2026, 3, 20, 16, 50))
    clock = clock_for(life, targets(first=15, due_soon=5, hours=NINE_TO_FIVE), berlin(2026, 3, 20, 18, 0))
    assert clock.due_at == berlin(2026, 3, 23, 9, 5)
    assert clock.warn_at == berlin(2026, 3, 20, 17, 0)
    assert (clock.state, clock.minutes_left) == (State.DUE_SOON, 5)


@pytest.mark.parametrize(
    ("hours_ago", "state", "minutes_left"),
    [(1, WindowState.OPEN, 23 * 60), (22.5, WindowState.CLOSING, 90), (24, WindowState.CLOSED, 0)],
)
def test_the_reply_window_is_24_hours_of_wall_time_and_warns_before_it_closes(hours_ago, state, minutes_left):
    window = window_for(NOW - timedelta(hours=hours_ago), targets(window_warning=120, hours=NINE_TO_FIVE), NOW)
    assert (window.state, window.minutes_left) == (state, minutes_left)
    assert window.ends_at == NOW - timedelta(hours=hours_ago) + timedelta(hours=24)


def test_a_customer_who_never_wrote_has_no_window():
    assert clock_for(Life(), targets(), NOW).window.state is WindowState.NONE


@pytest.mark.parametrize(
    ("days", "opens", "closes"),
    [
        (frozenset(), time(9), time(17)),
        (WEEKDAYS, time(17), time(9)),
        (WEEKDAYS, time(9), time(9)),
        (frozenset({7}), time(9), time(17)),
    ],
)
def test_business_hours_that_could_never_count_are_refused(days, opens, closes):
    with pytest.raises(ValueError):
        BusinessHours(zone=BERLIN, days=days, opens=opens, closes=closes)


# --- Properties ---------------------------------------------------------------------------------

ZONES = [
    "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata",
    "Pacific/Chatham", "America/Sao_Paulo",
]
# Derandomized, so every run tries the same examples; to explore with fresh ones:
# `CLOCKS_EXAMPLES=3000 .venv/bin/python -m pytest tests/unit/test_clocks.py`.
EXPLORE = int(os.environ.get("CLOCKS_EXAMPLES", "0"))
PROPERTY = settings(max_examples=EXPLORE or 150, deadline=None, derandomize=not EXPLORE)


@st.composite
def business_hours(draw, zones=ZONES):
    opens = draw(st.integers(0, 23 * 60 + 58))
    closes = draw(st.integers(opens + 1, 23 * 60 + 59))
    return BusinessHours(
        zone=ZoneInfo(draw(st.sampled_from(zones))),
        days=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        opens=time(*divmod(opens, 60)),
        closes=time(*divmod(closes, 60)),
    )


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))
minutes = st.integers(0, 3000)


def at_work(instant: datetime, hours: BusinessHours) -> bool:
    wall = instant.astimezone(hours.zone)
    return wall.weekday() in hours.days and hours.opens <= wall.time().replace(second=0, microsecond=0) <= hours.closes


@PROPERTY
@given(start=instants, target=minutes)
def test_without_business_hours_a_deadline_is_the_start_plus_the_target(start, target):
    assert targets().deadline(start, target) == start + timedelta(minutes=target)


@PROPERTY
@given(hours=business_hours(), start=instants, target=st.integers(1, 3000))
def test_a_clock_runs_only_at_work_right_up_to_its_deadline(hours, start, target):
    due = business_deadline(start, target, hours)
    assert due > start
    assert at_work(due - timedelta(seconds=1), hours)


@PROPERTY
@given(hours=business_hours(["UTC", "Asia/Kolkata", "Asia/Tokyo"]), start=instants, target=minutes)
def test_where_clocks_never_change_a_deadline_falls_within_business_hours(hours, start, target):
    assert at_work(business_deadline(start, target, hours), hours)


@PROPERTY
@given(hours=business_hours(), start=instants, target=minutes)
def test_a_deadline_is_the_target_in_business_time_after_the_start(hours, start, target):
    assert business_time(start, business_deadline(start, target, hours), hours) == timedelta(minutes=target)


@PROPERTY
@given(hours=business_hours(), start=instants, shorter=minutes, longer=minutes)
def test_a_longer_target_is_never_due_sooner(hours, start, shorter, longer):
    shorter, longer = sorted((shorter, longer))
    assert business_deadline(start, shorter, hours) <= business_deadline(start, longer, hours)


@PROPERTY
@given(hours=business_hours(), start=instants, later_by=st.integers(0, 10 * 24 * 60), target=minutes)
def test_a_later_message_is_never_due_sooner(hours, start, later_by, target):
    later = start + timedelta(minutes=later_by)
    assert business_deadline(start, target, hours) <= business_deadline(later, target, hours)


@PROPERTY
@given(hours=business_hours(), a=instants, gaps=st.lists(st.integers(0, 20 * 24 * 60 * 60), min_size=2, max_size=2))
def test_business_time_adds_up(hours, a, gaps):
    b = a + timedelta(seconds=gaps[0])
    c = b + timedelta(seconds=gaps[1])
    assert business_time(a, c, hours) == business_time(a, b, hours) + business_time(b, c, hours)
    assert business_time(a, c, hours) <= c - a
