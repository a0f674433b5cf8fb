"""Writes to WapiKit: one action on one conversation, audited and conflict-checked.

Every attempt writes an audit row first. Then one GET reads the conversation as WapiKit has it
now: if it differs from what the user saw, nothing is sent (no lost update); if the action
would change nothing, it is skipped. Otherwise one POST applies it, and the card is drawn from
WapiKit's answer (status changes answer the whole conversation; assign and unassign answer
only `{"data": true}`, so the card is the conversation just read with the new assignee).

What the server really does is checked, not assumed: a status change whose answer does not
carry the conversation (the server answers 200 with an empty body and changes nothing) is
read back, and one that did not take is reported and audited as "ignored", never as done.
Where the server's answer cannot say who is assigned, the conflict check compares only what
it does say, and the card keeps the assignee the dashboard knows."""

from __future__ import annotations

import msgspec
from django.db import transaction

from dashboard.conversations.models import AuditEntry
from dashboard.observability import metrics
from dashboard.wapikit import capabilities, errors, get_client
from dashboard.wapikit.types import Conversation, Member

from . import assignees, now, selectors
from .acting import UNKNOWN, ActionResult, Actor, Outcome, Seen, assignee_id
from .powers import Action

# Unassign names the assignee, but the server never reads it: when nobody knows who it is,
# any well-formed id does.
NOBODY = "00000000-0000-0000-0000-000000000000"


def _assignee_name(conversation: Conversation) -> str:
    return conversation.assigned_to.name if conversation.assigned_to else ""


def _state(prefix: str, conversation: Conversation) -> dict[str, str]:
    known = conversation.assignee_known
    return {
        f"{prefix}_status": conversation.status,
        f"{prefix}_assignee_id": assignee_id(conversation) if known else UNKNOWN,
        f"{prefix}_assignee_name": _assignee_name(conversation) if known else "not known",
    }


def describe_changes(seen: Seen, current: Conversation, members: list[Member]) -> list[str]:
    """What changed since the user saw it, in what both the card and WapiKit's answer say."""
    names = {m.unique_id: m.name for m in members}
    changes = []
    if seen.status != current.status:
        changes.append(f"its status changed from {seen.status} to {current.status}")
    if seen.assignee_id is not None and current.assignee_known and seen.assignee_id != assignee_id(current):
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


def already_so(action: Action, current: Conversation, member: Member | None) -> str | None:
    """Why `action` would change nothing ("It is already closed."), or None when it would."""
    status = action.target_status
    if status is not None and current.status == status:
        return f"It is already {status.lower()}."
    if action is Action.ASSIGN and member is not None and assignee_id(current) == member.unique_id:
        return f"It is already assigned to {member.name}."
    if action is Action.UNASSIGN and current.assignee_known and current.assigned_to is None:
        return "It is already unassigned."
    return None


def open_entry(
    *, actor: Actor, conversation_id: str, action: Action, member: Member | None, undoes: AuditEntry | None = None
) -> AuditEntry:
    """The audit row of one attempt, written before any upstream call; `undoes`, the entry whose
    action it reverses (an Undo)."""
    acting_member = actor.powers.member
    entry = AuditEntry(
        user=actor.user,
        user_email=actor.user.email if actor.user is not None else "",
        client_address=actor.client_address,
        member_id=acting_member.unique_id if acting_member else "",
        member_name=acting_member.name if acting_member else "",
        conversation_id=conversation_id,
        action=str(action),
        via=actor.via,
        token_name=actor.token_name,
        after_assignee_id=member.unique_id if member else "",
        after_assignee_name=member.name if member else "",
        undoes=undoes,
        detail=actor.note,
    )
    entry.save()
    return entry


def denied(action: Action) -> ActionResult:
    return ActionResult(Outcome.DENIED, f"Your WapiKit role does not allow you to {action} conversations.")


def decide(
    *, action: Action, current: Conversation, member: Member | None, seen: Seen | None, force: bool,
    members: list[Member],
) -> ActionResult | None:
    """Whether to send anything: a conflict or a no-op stops here; None means go ahead."""
    if seen is not None and not force:
        changes = describe_changes(seen, current, members)
        if changes:
            detail = "Changed since the user saw it: " + "; ".join(changes) + "."
            return ActionResult(Outcome.CONFLICT, detail, current, changes=changes)
    if reason := already_so(action, current, member):
        return ActionResult(Outcome.SKIPPED, reason, current)
    return None


def apply(*, action: Action, current: Conversation, member: Member | None, members: list[Member]) -> ActionResult:
    """The one POST, and the conversation as it now is. Upstream only: safe in worker threads."""
    client = get_client()
    conversation_id = current.unique_id
    try:
        if action.target_status is not None:
            return _apply_status(action.target_status, current, members)
        if action is Action.ASSIGN:
            assert member is not None, "assign needs a member"
            client.assign_conversation(conversation_id, member_id=member.unique_id)
            updated = msgspec.structs.replace(current, assigned_to=member, assignee_known=True)
        else:
            client.unassign_conversation(conversation_id, member_id=assignee_id(current) or NOBODY)
            updated = msgspec.structs.replace(current, assigned_to=None, assignee_known=True)
    except errors.Rejected as exc:
        return ActionResult(Outcome.REJECTED, exc.user_message, current, error=exc)
    except errors.ServerError as exc:
        message = exc.user_message
        if action is Action.ASSIGN and exc.status == 500:
            message = (
                f"WapiKit failed to reassign the conversation with its own internal error (500).{exc.wapikit_said} "
                "Its server fails this way when the conversation was assigned to this member before."
            )
        return ActionResult(Outcome.FAILED, message, current, error=exc)
    except errors.WapiKitError as exc:
        return ActionResult(Outcome.FAILED, exc.user_message, current, error=exc)
    return ActionResult(Outcome.SUCCEEDED, "", updated)


def _apply_status(status: str, current: Conversation, members: list[Member]) -> ActionResult:
    """Change the status and check that it changed: an answer without the conversation is
    read back. What the dashboard learns (status changes work here, or do not) is kept."""
    client = get_client()
    answer = client.update_conversation_status(current.unique_id, status=status)
    if answer is None:
        try:
            answer = client.get_conversation(current.unique_id)
        except errors.WapiKitError as exc:
            message = (
                "WapiKit accepted the request, but reading the conversation back failed, so the dashboard "
                f"cannot tell whether its status changed. {exc.user_message}"
            )
            return ActionResult(Outcome.FAILED, message, current, error=exc)
    known = assignee_id(current) if current.assignee_known else None
    updated = assignees.resolved_single(answer, members=members, fallback=known)
    if updated.status != status:
        client.capabilities.learn(capabilities.STATUS_UPDATES_APPLY, False)
        message = (
            "WapiKit accepted the request but did not change the status: "
            f"the conversation is still {updated.status}."
        )
        return ActionResult(Outcome.IGNORED, message, updated)
    client.capabilities.learn(capabilities.STATUS_UPDATES_APPLY, True)
    return ActionResult(Outcome.SUCCEEDED, "", updated)


def status_updates_known_to_apply() -> bool:
    """True once a status change was seen to take on this WapiKit."""
    return get_client().capabilities.get(capabilities.STATUS_UPDATES_APPLY) is True


def status_updates_ignored() -> bool:
    """True once this WapiKit accepted a status change without applying it, until one works."""
    return get_client().capabilities.get(capabilities.STATUS_UPDATES_APPLY) is False


def close_entry(entry: AuditEntry, result: ActionResult, *, before: Conversation | None) -> None:
    fields = {}
    if before is not None:
        fields = {"contact_name": before.contact.name, **_state("before", before)}
    if result.outcome in (Outcome.SUCCEEDED, Outcome.IGNORED) and result.conversation:
        fields.update(_state("after", result.conversation))
    outcome = result.outcome.audited
    if result.error is not None:
        fields["error_kind"] = result.error.kind
        fields["detail"] = result.error.detail if isinstance(result.error, errors.Rejected) else result.message
    elif result.message:
        fields["detail"] = result.message
    if entry.detail and "detail" in fields:
        fields["detail"] = f"{entry.detail} {fields['detail']}"
    # The audit row and what the timeline learns, in one commit.
    with transaction.atomic():
        entry.complete(outcome=outcome, **fields)
        if result.conversation is not None:
            # Read from WapiKit just now (the conflict check, or the answer to the write).
            now.acted(before, result.conversation)
    metrics.actions.labels(action=entry.action, outcome=outcome, via=entry.via).inc()


def conversation_act(
    *,
    actor: Actor,
    conversation_id: str,
    action: Action,
    member: Member | None = None,
    seen: Seen | None = None,
    force: bool = False,
    shown_in: selectors.InboxQuery | None = None,
    undoes: AuditEntry | None = None,
    current: Conversation | None = None,
) -> ActionResult:
    """Apply one action to one conversation, as `actor`: the permission, the conflict check, the
    audit row, the write and, with `shown_in` (the inbox view the card was on), whether the
    conversation left that view; with `undoes`, it reverses that entry's action (undo.py).
    `current`: the conversation as the caller knows it now, read instead of asking WapiKit
    (routing, where WapiKit's single answer cannot name the assignee). Never raises for upstream
    failures: the result says what happened, and the audit row records it."""
    entry = open_entry(actor=actor, conversation_id=conversation_id, action=action, member=member, undoes=undoes)
    if not actor.powers.allows(action):
        result = denied(action)
        close_entry(entry, result, before=None)
        return result
    try:
        if current is None:
            current = assignees.resolved_single(
                get_client().get_conversation(conversation_id),
                members=actor.members,
                fallback=seen.assignee_id if seen is not None else None,
            )
    except errors.WapiKitError as exc:
        result = ActionResult(Outcome.FAILED, exc.user_message, error=exc)
        close_entry(entry, result, before=None)
        return result
    result = decide(action=action, current=current, member=member, seen=seen, force=force, members=actor.members)
    if result is None:
        result = apply(action=action, current=current, member=member, members=actor.members)
    elif result.outcome is Outcome.CONFLICT:
        result.changed_by = last_change(conversation_id)
    close_entry(entry, result, before=current)
    result.entry = entry
    if shown_in is not None and result.outcome in (Outcome.SUCCEEDED, Outcome.SKIPPED):
        member_id = actor.powers.member.unique_id
        result.left_view = not selectors.in_view(result.conversation, shown_in, member_id=member_id)
    return result
