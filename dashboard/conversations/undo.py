"""Undo: a moment after closing, reopening, reassigning or unassigning a conversation, the user
who did it may reverse it. The reverse is an action like any other (`services.conversation_act`:
the same permission, conflict check and audit row), whose row names the entry it undoes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .acting import UNKNOWN, ActionResult, Actor, Seen
from .models import AuditEntry
from .powers import Action
from .selectors import InboxQuery
from .services import conversation_act


@dataclass(frozen=True, slots=True)
class Reversal:
    """What undoes an entry: the action, the member to assign back to (for assign), and the
    state the entry left the conversation in (the conflict check's: a change since stops it)."""

    action: Action
    member_id: str
    seen: Seen


def reversal_of(entry: AuditEntry) -> Reversal | None:
    """What undoes the entry's action, or None when nothing can: it did not succeed, it was an
    undo itself, or whom to assign back to is not known."""
    if entry.outcome != AuditEntry.Outcome.SUCCEEDED or entry.undoes_id is not None:
        return None
    before = entry.before_assignee_id
    seen = Seen(entry.after_status, None if entry.after_assignee_id == UNKNOWN else entry.after_assignee_id)
    if entry.action == Action.CLOSE:
        return Reversal(Action.REOPEN, "", seen)
    if entry.action == Action.REOPEN and entry.before_status == "Closed":
        return Reversal(Action.CLOSE, "", seen)
    if entry.action in (Action.ASSIGN, Action.UNASSIGN) and before != UNKNOWN:
        if before:
            return Reversal(Action.ASSIGN, before, seen)
        if entry.action == Action.ASSIGN:
            return Reversal(Action.UNASSIGN, "", seen)
    return None


def undo_until(entry: AuditEntry):
    return (entry.completed_at or entry.started_at) + timedelta(seconds=settings.ACTION_UNDO_SECONDS)


def offered(entry: AuditEntry | None) -> bool:
    """Whether the card's confirmation offers an Undo of this entry."""
    return entry is not None and reversal_of(entry) is not None and timezone.now() < undo_until(entry)


def refusal(entry: AuditEntry | None, *, actor: Actor, conversation_id: str) -> str | None:
    """Why this Undo may not run, before anything is sent; None when it may."""
    if entry is None or entry.conversation_id != conversation_id or entry.user_id != actor.user.pk:
        return "There is nothing of yours to undo on this conversation."
    reversal = reversal_of(entry)
    if reversal is None:
        return "This action cannot be undone."
    if reversal.member_id and actor.member(reversal.member_id) is None:
        return "The member it was assigned to is no longer in this WapiKit organisation."
    if timezone.now() >= undo_until(entry):
        return "Too late to undo: act on the conversation again instead."
    if entry.undone_by.filter(outcome=AuditEntry.Outcome.SUCCEEDED).exists():
        return "This action was undone already."
    return None


def conversation_undo(
    *, actor: Actor, entry: AuditEntry, force: bool = False, shown_in: InboxQuery | None = None
) -> ActionResult:
    """Reverse the entry's action (`refusal` said it may), as `actor`, audited as its undo."""
    reversal = reversal_of(entry)
    assert reversal is not None, "refusal() first"
    member = actor.member(reversal.member_id) if reversal.member_id else None
    return conversation_act(
        actor=actor,
        conversation_id=entry.conversation_id,
        action=reversal.action,
        member=member,
        seen=reversal.seen,
        force=force,
        shown_in=shown_in,
        undoes=entry,
    )
