"""When a conversation is taken back from a silent assignee (pure): its customer still waits and
the assignee has not answered within the rule's minutes since it became theirs (the timeline's
clock: the wait and the assignment, whichever began later), or the 24-hour reply window closes
within the rule's minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import Rule

WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Life:
    """What the timeline knows of the conversation, as the deadline needs it."""

    assignee_id: str
    assigned_since: datetime | None
    waiting_since: datetime | None  # the customer's first message since the team last wrote
    last_inbound_at: datetime | None


@dataclass(frozen=True, slots=True)
class Deadline:
    at: datetime
    reason: str


def deadline(rule: Rule, life: Life) -> Deadline | None:
    """The earliest take-back the rule sets for this assigned, waiting conversation, or None."""
    if not life.assignee_id or life.waiting_since is None:
        return None
    found = []
    if rule.unanswered_minutes is not None:
        began = max(filter(None, (life.waiting_since, life.assigned_since)))
        found.append(Deadline(
            began + timedelta(minutes=rule.unanswered_minutes),
            f"not answered within {rule.unanswered_minutes} min",
        ))
    if rule.window_minutes is not None and life.last_inbound_at is not None:
        found.append(Deadline(
            life.last_inbound_at + WINDOW - timedelta(minutes=rule.window_minutes),
            f"the 24-hour reply window closes within {rule.window_minutes} min",
        ))
    return min(found, key=lambda d: d.at, default=None)
