"""A small fixed history for the reports, each figure computed by hand (the README's Reports
section and the tests read the same numbers).

The team counts business hours, Monday to Friday 09:00–17:00 in Europe/Berlin (UTC+1 in
November), with a first-response target of 60 minutes and a next-response target of 120.
The dashboard observed Monday 23 and Wednesday 25 November 2026, not Tuesday 24 (a gap).

A  Mon 09:00 new, customer writes; 09:10 assigned to the agent by hand; 09:40 first response
   (40 min, met); 10:00 customer; 12:30 next response (150 min, missed); 13:00 closed;
   15:00 reopened, customer; 15:30 next response (30 min, met); 16:00 closed.
B  Mon 16:50 new, customer writes; 17:05 assigned to the manager by routing; 18:00 first
   response, after hours (10 business minutes: 16:50–17:00; met); time to assignment 10.
C  Mon 20:00 new, customer writes; never answered: the window closes Tue 20:00, in the gap.
D  Tue 10:00 new, customer writes (in the gap); Wed 08:00 first response, before opening
   (420 business minutes: Tue 10:00–17:00; missed).
E  Tue 11:00 new, customer writes (in the gap); never answered: the window closes Wed 11:00.
F  Wed 09:00 new, customer writes; 09:20 first response (20 min, met); 09:30 assigned to the
   agent by hand (30 min after it began); 10:00 closed (while the agent held it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dashboard.conversations.models import AuditEntry, LifeEvent, ResponseTargets
from dashboard.reporting.models import ObservedPeriod

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 23)
IDS = {name: f"00000000-0000-4000-8000-00000000000{n}" for n, name in enumerate("ABCDEF", start=1)}


def at(day: int, clock: str) -> datetime:
    """Day 0 is Monday; `clock` the Berlin wall time."""
    hours, minutes = map(int, clock.split(":"))
    return datetime.combine(MONDAY + timedelta(days=day), time(hours, minutes), BERLIN).astimezone(UTC)


def seed(agent: str, manager: str) -> None:
    ResponseTargets.objects.update_or_create(
        pk=ResponseTargets.TEAM,
        defaults=dict(
            first_response_minutes=60, next_response_minutes=120, due_soon_minutes=15, window_warning_minutes=60,
            business_hours=True, time_zone="Europe/Berlin", working_days="01234", day_starts=time(9),
            day_ends=time(17),
        ),
    )
    story = {
        "A": [(0, "09:00", "new", ""), (0, "09:00", "inbound", ""), (0, "09:10", "assigned", agent),
              (0, "09:40", "outbound", ""), (0, "10:00", "inbound", ""), (0, "12:30", "outbound", ""),
              (0, "13:00", "closed", ""), (0, "15:00", "reopened", ""), (0, "15:00", "inbound", ""),
              (0, "15:30", "outbound", ""), (0, "16:00", "closed", "")],
        "B": [(0, "16:50", "new", ""), (0, "16:50", "inbound", ""), (0, "17:05", "assigned", manager),
              (0, "18:00", "outbound", "")],
        "C": [(0, "20:00", "new", ""), (0, "20:00", "inbound", "")],
        "D": [(1, "10:00", "new", ""), (1, "10:00", "inbound", ""), (2, "08:00", "outbound", "")],
        "E": [(1, "11:00", "new", ""), (1, "11:00", "inbound", "")],
        "F": [(2, "09:00", "new", ""), (2, "09:00", "inbound", ""), (2, "09:20", "outbound", ""),
              (2, "09:30", "assigned", agent), (2, "10:00", "closed", "")],
    }
    rows = [
        LifeEvent(
            key=f"{IDS[name]}:{kind}:{n}", conversation_id=IDS[name], kind=kind, at=at(day, clock),
            member_id=member, source="event",
        )
        for name, events in story.items()
        for n, (day, clock, kind, member) in enumerate(events)
    ]
    LifeEvent.objects.bulk_create(rows)
    # Routing's own audit entry for B's assignment, half a minute before the timeline logged it.
    AuditEntry.objects.create(
        started_at=at(0, "17:04") + timedelta(seconds=30), user_email="routing@dashboard", conversation_id=IDS["B"],
        action="assign", via="routing", after_assignee_id=manager, outcome=AuditEntry.Outcome.SUCCEEDED,
    )
    ObservedPeriod.objects.create(started_at=at(0, "00:00"), ended_at=at(1, "00:00"))
    ObservedPeriod.objects.create(started_at=at(2, "00:00"), ended_at=at(3, "00:00"))


# What the report says, by hand. None: not observed (a gap).
BY_DAY = {
    "new": (3, None, 1),
    "first_responses": (2, None, 2),
    "next_responses": (2, None, 0),
    "first_response_median": (10, None, 20),
    "first_response_p90": (40, None, 420),
    "assignment_median": (10, None, 30),
    "assignment_p90": (10, None, 30),
    "closed": (2, None, 1),
    "assigned_by_hand": (1, None, 1),
    "assigned_by_routing": (1, None, 0),
    "targets_met": (75, None, 50),
    "windows_lost": (0, None, 1),
}
TOTAL = {
    "new": 4, "first_responses": 4, "next_responses": 2, "first_response_median": 20, "first_response_p90": 420,
    "assignment_median": 10, "assignment_p90": 30, "closed": 3, "assigned_by_hand": 2, "assigned_by_routing": 1,
    "targets_met": 67, "windows_lost": 1,
}
# The conversations behind each total.
BEHIND = {
    "new": {"A", "B", "C", "F"}, "first_responses": {"A", "B", "D", "F"}, "next_responses": {"A"},
    "closed": {"A", "F"}, "assigned_by_hand": {"A", "F"}, "assigned_by_routing": {"B"}, "windows_lost": {"E"},
}
AGENT = {
    "first_responses": 1, "next_responses": 2, "first_response_median": 40, "targets_met": 67,
    "assigned_by_hand": 2, "assigned_by_routing": 0, "closed": 3, "windows_lost": 0,
}
MANAGER = {
    "first_responses": 1, "next_responses": 0, "first_response_median": 10, "targets_met": 100,
    "assigned_by_hand": 0, "assigned_by_routing": 1, "closed": 0, "windows_lost": 0,
}
NOW = at(10, "12:00")
