"""Writes to WapiKit: one action on one conversation, audited and conflict-checked.

Every attempt writes an audit row first. Then one GET reads the conversation as WapiKit has it
now: if it differs from what the user saw, nothing is sent (no lost update); if the action
would change nothing, it is skipped. Otherwise one POST applies it, and the card is drawn from
WapiKit's answer (status changes answer the whole conversation; assign and unassign answer
only `{"data": true}`, so the card is the conversation just read with the new assignee)."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from dashboard.audit.models import AuditEntry
from dashboard.wapikit import errors, get_client
from dashboard.wapikit.types import Conversation, Member

from .permissions import Action, Powers


@dataclass(frozen=True, slots=True)
class Seen:
    """The state the user's form was drawn from."""

    status: str
    assignee_id: str  # "" when unassigned


@dataclass(slots=True)
class ActionResult:
    outcome: str  # an AuditEntry.Outcome value, or "conflict" (audited as skipped)
    message: str
    conversation: Conversation | None = None  # the state to draw; None when unknown
    error: errors.WapiKitError | None = None
    changes: list[str] = field(default_factory=list)
    changed_by: AuditEntry | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == AuditEntry.Outcome.SUCCEEDED


def _assignee_id(conversation: Conversation) -> str:
    return conversation.assigned_to.unique_id if conversation.assigned_to else ""


def _assignee_name(conversation: Conversation) -> str:
    return conversation.assigned_to.name if conversation.assigned_to else ""


def _state(prefix: str, conversation: Conversation) -> dict[str, str]:
    return {
        f"{prefix}_status": conversation.status,
        f"{prefix}_assignee_id": _assignee_id(conversation),
        f"{prefix}_assignee_name": _assignee_name(conversation),
    }


def describe_changes(seen: Seen, current: Conversation, members: list[Member]) -> list[str]:
    names = {m.unique_id: m.name for m in members}
    changes = []
    if seen.status != current.status:
        changes.append(f"its status changed from {seen.status} to {current.status}")
    if seen.assignee_id != _assignee_id(current):
        before = names.get(seen.assignee_id, "someone") if seen.assignee_id else "nobody"
        after = _assignee_name(current) or "nobody"
        changes.append(f"it was reassigned from {before} to {after}")
    return changes


def last_change(conversation_id: str) -> AuditEntry | None:
    return (
        AuditEntry.objects.filter(conversation_id=conversation_id, outcome=AuditEntry.Outcome.SUCCEEDED)
        .order_by("-completed_at", "-id")
        .first()
    )


def _skip_reason(action: Action, current: Conversation, member: Member | None) -> str | None:
    status = action.target_status
    if status is not None and current.status == status:
        return f"It is already {status.lower()}."
    if action is Action.ASSIGN and member is not None and _assignee_id(current) == member.unique_id:
        return f"It is already assigned to {member.name}."
    if action is Action.UNASSIGN and current.assigned_to is None:
        return "It is already unassigned."
    return None


def conversation_act(
    *,
    user,
    powers: Powers,
    conversation_id: str,
    action: Action,
    via: str,
    member: Member | None = None,
    seen: Seen | None = None,
    force: bool = False,
    members: list[Member] | None = None,
) -> ActionResult:
    """Apply one action to one conversation. Never raises for upstream failures: the result
    says what happened, and the audit row records it."""
    actor = powers.member
    entry = AuditEntry(
        user=user,
        user_email=user.email,
        member_id=actor.unique_id if actor else "",
        member_name=actor.name if actor else "",
        conversation_id=conversation_id,
        action=str(action),
        via=via,
        after_assignee_id=member.unique_id if member else "",
        after_assignee_name=member.name if member else "",
    )
    entry.save()

    if not powers.allows(action):
        message = f"Your WapiKit role does not allow you to {action} conversations."
        entry.complete(outcome=AuditEntry.Outcome.DENIED, detail=message)
        return ActionResult(AuditEntry.Outcome.DENIED, message)

    client = get_client()
    try:
        current = client.get_conversation(conversation_id)
    except errors.WapiKitError as exc:
        entry.complete(outcome=AuditEntry.Outcome.FAILED, error_kind=exc.kind, detail=exc.user_message)
        return ActionResult(AuditEntry.Outcome.FAILED, exc.user_message, error=exc)
    before = {"contact_name": current.contact.name, **_state("before", current)}

    if seen is not None and not force:
        changes = describe_changes(seen, current, members or [])
        if changes:
            changed_by = last_change(conversation_id)
            detail = "Changed since the user saw it: " + "; ".join(changes) + "."
            entry.complete(outcome=AuditEntry.Outcome.SKIPPED, detail=detail, **before)
            return ActionResult("conflict", detail, current, changes=changes, changed_by=changed_by)

    if reason := _skip_reason(action, current, member):
        entry.complete(outcome=AuditEntry.Outcome.SKIPPED, detail=reason, **before)
        return ActionResult(AuditEntry.Outcome.SKIPPED, reason, current)

    try:
        if action.target_status is not None:
            updated = client.update_conversation_status(conversation_id, status=action.target_status)
        elif action is Action.ASSIGN:
            assert member is not None, "assign needs a member"
            client.assign_conversation(conversation_id, member_id=member.unique_id)
            updated = msgspec.structs.replace(current, assigned_to=member)
        else:
            client.unassign_conversation(conversation_id, member_id=_assignee_id(current))
            updated = msgspec.structs.replace(current, assigned_to=None)
    except errors.Rejected as exc:
        entry.complete(outcome=AuditEntry.Outcome.REJECTED, error_kind=exc.kind, detail=exc.detail, **before)
        return ActionResult(AuditEntry.Outcome.REJECTED, exc.user_message, current, error=exc)
    except errors.WapiKitError as exc:
        entry.complete(outcome=AuditEntry.Outcome.FAILED, error_kind=exc.kind, detail=exc.user_message, **before)
        return ActionResult(AuditEntry.Outcome.FAILED, exc.user_message, current, error=exc)

    entry.complete(outcome=AuditEntry.Outcome.SUCCEEDED, **before, **_state("after", updated))
    return ActionResult(AuditEntry.Outcome.SUCCEEDED, "", updated)

