"""The facts a report counts, read from the timeline's log in one SQL query (window functions,
the same on SQLite and PostgreSQL): each conversation's log up to the span's end, and of it only
the rows a figure counts.

- a response: a team message (outbound) with a customer message before it since the team last
  wrote; `cycle_at` is that first waiting message, `first` says the team had never written;
- a new conversation, a close, an assignment (`nth_assignment` 1 is the first), with when the
  conversation began;
- a customer message that may have ended unanswered: `next_message_at` is the next message of
  either side, if any;
- for every row, `holder`: who the conversation was assigned to then ("" for nobody)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils.dateparse import parse_datetime

from dashboard.conversations.clocks import REPLY_WINDOW
from dashboard.conversations.models import AuditEntry, LifeEvent

from .periods import Span

_SQL = """
WITH log AS (
  SELECT id, conversation_id, kind, at, member_id FROM {events}
  WHERE at < %s AND conversation_id {among} (
    -- Every kind named, so that the log's (kind, at) index serves the span.
    SELECT DISTINCT conversation_id FROM {events} WHERE kind IN ({kinds}) AND at >= %s AND at < %s
  ){closing}
), numbered AS (
  -- The running sums share one window (up to the row itself: a frame ending before it is
  -- summed again for every row); the answers before a row are the running ones but its own.
  SELECT log.*,
    SUM(CASE WHEN kind = 'outbound' THEN 1 ELSE 0 END) OVER running
      - CASE WHEN kind = 'outbound' THEN 1 ELSE 0 END AS answers_before,
    SUM(CASE WHEN kind IN ('assigned', 'unassigned') THEN 1 ELSE 0 END) OVER running AS assignment_no,
    SUM(CASE WHEN kind = 'assigned' THEN 1 ELSE 0 END) OVER running AS nth_assignment,
    MIN(CASE WHEN kind = 'new' THEN at END) OVER (PARTITION BY conversation_id) AS began_at,
    LEAD(at) OVER (
      PARTITION BY conversation_id, CASE WHEN kind IN ('inbound', 'outbound') THEN 1 ELSE 0 END ORDER BY at, id
    ) AS next_message_at
  FROM log
  WINDOW running AS (PARTITION BY conversation_id ORDER BY at, id ROWS UNBOUNDED PRECEDING)
), known AS (
  SELECT numbered.*,
    MIN(CASE WHEN kind = 'inbound' THEN at END) OVER (
      PARTITION BY conversation_id, COALESCE(answers_before, 0)
    ) AS cycle_at,
    MAX(member_id) OVER (PARTITION BY conversation_id, assignment_no) AS holder
  FROM numbered
)
SELECT conversation_id, kind, at, member_id, COALESCE(answers_before, 0), nth_assignment, began_at,
  next_message_at, cycle_at, holder
FROM known
WHERE (at >= %s AND kind IN ('new', 'closed', 'assigned', 'outbound'))
  OR (kind = 'inbound' AND at >= %s AND at < %s)
ORDER BY at, conversation_id
"""


@dataclass(frozen=True, slots=True)
class Row:
    conversation_id: str
    kind: str
    at: datetime
    member_id: str
    answers_before: int
    nth_assignment: int
    began_at: datetime | None
    next_message_at: datetime | None
    cycle_at: datetime | None
    holder: str

    @property
    def is_response(self) -> bool:
        return self.kind == LifeEvent.Kind.OUTBOUND and self.cycle_at is not None

    def window_lost(self, now: datetime) -> bool:
        """A customer message after which 24 hours passed (by `now`) without a message from
        either side: WhatsApp's reply window closed on it unanswered."""
        if self.kind != LifeEvent.Kind.INBOUND or self.at + REPLY_WINDOW > now:
            return False
        return self.next_message_at is None or self.next_message_at > self.at + REPLY_WINDOW


def _moment(value) -> datetime | None:
    """A database's instant as an aware UTC datetime (SQLite answers text for computed columns)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rows(span: Span) -> list[Row]:
    """The rows of the span's figures; customer messages from a day before it, whose window may
    close inside it."""
    start, end = span.start, span.end
    window_from, window_to = start - REPLY_WINDOW, end - REPLY_WINDOW
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(end), adapt(window_from), adapt(end), adapt(start), adapt(window_from), adapt(window_to)]
    kinds = ", ".join(f"'{kind}'" for kind in LifeEvent.Kind.values)
    # PostgreSQL reads the touched conversations' logs through the (conversation_id, at) index
    # when given them as an array; an IN would have it scan the whole log and hash-join.
    among, closing = ("= ANY(ARRAY", ")") if connection.vendor == "postgresql" else ("IN", "")
    sql = _SQL.format(events=connection.ops.quote_name(LifeEvent._meta.db_table), kinds=kinds, among=among,
                      closing=closing)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return [
        Row(
            conversation_id=cid, kind=kind, at=_moment(at), member_id=member_id or "", answers_before=int(before or 0),
            nth_assignment=int(nth or 0), began_at=_moment(began), next_message_at=_moment(following),
            cycle_at=_moment(cycle) if kind == LifeEvent.Kind.OUTBOUND else None, holder=holder or "",
        )
        for cid, kind, at, member_id, before, nth, began, following, cycle, holder in found
    ]


# An assignment is routing's when routing's own audit entry for it (the same conversation and
# member, succeeded) started up to this long before the timeline logged it, or just after.
ROUTING_BEFORE, ROUTING_AFTER = timedelta(minutes=10), timedelta(minutes=1)


def routed(span: Span) -> dict[tuple[str, str], list[datetime]]:
    """Routing's successful assignments around the span: (conversation, member) → when."""
    found: dict[tuple[str, str], list[datetime]] = {}
    entries = AuditEntry.objects.filter(
        via="routing", action="assign", outcome=AuditEntry.Outcome.SUCCEEDED,
        started_at__gte=span.start - ROUTING_BEFORE, started_at__lt=span.end + ROUTING_AFTER,
    ).values_list("conversation_id", "after_assignee_id", "started_at")
    for cid, member, started in entries:
        found.setdefault((cid, member), []).append(started)
    return found


def by_routing(row: Row, routed_at: dict[tuple[str, str], list[datetime]]) -> bool:
    return any(
        row.at - ROUTING_BEFORE <= started <= row.at + ROUTING_AFTER
        for started in routed_at.get((row.conversation_id, row.member_id), ())
    )
