"""The team's workload: Active conversations per member, who is waiting among them (from the
timeline), and why assigning to a member may not work out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.wapikit.types import Conversation, Member

from . import lives, members, scan


@dataclass(frozen=True, slots=True)
class Workload:
    member: Member
    open: int
    with_unread: int
    waiting: int  # the contact spoke last, as the timeline knows
    not_known: int  # whose last message the timeline does not know yet
    oldest_waiting: Conversation | None
    oldest_waiting_since: datetime | None

    @property
    def warnings(self) -> list[str]:
        return member_warnings(self.member)


def member_warnings(member: Member) -> list[str]:
    """Why assigning to this member may not work out."""
    warnings = []
    if not member.can("Get:Conversation"):
        warnings.append("cannot see conversations (no Get:Conversation)")
    if not member.can("Update:Conversation"):
        warnings.append("cannot close or reopen (no Update:Conversation)")
    return warnings


def team_workload() -> tuple[list[Workload], int, str]:
    """Active conversations per member, within the scanned window, and who is waiting among
    them, from the timeline."""
    active = scan.scan_conversations("Active")
    by_member: dict[str, list[Conversation]] = {}
    unassigned = 0
    for conversation in lives.attach(active.conversations):
        if conversation.assigned_to is None:
            unassigned += 1
        else:
            by_member.setdefault(conversation.assigned_to.unique_id, []).append(conversation)
    rows = []
    for member in members.members_list():
        mine = by_member.get(member.unique_id, [])
        waiting = [(since, c) for c in mine if (since := lives.waiting_since(c)) is not None]
        oldest = min(waiting, key=lambda pair: pair[0]) if waiting else None
        rows.append(
            Workload(
                member=member,
                open=len(mine),
                with_unread=sum(1 for c in mine if c.number_of_unread_messages),
                waiting=len(waiting),
                not_known=sum(1 for c in mine if not lives.messages_known(c)),
                oldest_waiting=oldest[1] if oldest else None,
                oldest_waiting_since=oldest[0] if oldest else None,
            )
        )
    rows.sort(key=lambda row: (-row.open, row.member.name.casefold()))
    return rows, unassigned, active.description


def open_counts() -> dict[str, int]:
    """Active conversations per member id, for the reassign picker."""
    counts: dict[str, int] = {}
    for conversation in scan.scan_conversations("Active").conversations:
        if conversation.assigned_to is not None:
            key = conversation.assigned_to.unique_id
            counts[key] = counts.get(key, 0) + 1
    return counts
