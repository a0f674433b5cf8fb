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

from dataclasses import dataclass, field

import msgspec

from dashboard.conversations.models import AuditEntry
from dashboard.observability import metrics
from dashboard.wapikit import capabilities, errors, get_client
from dashboard.wapikit.types import Conversation, Member

from . import assignees, now
from .powers import Action, Powers

UNKNOWN = "?"
# Unassign names the assignee, but the server never reads it: when nobody knows who it is,
# any well-formed id does.
NOBODY = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class Seen:
    """The state the user's form was drawn from."""

    status: str
    assignee_id: str | None  # "" when unassigned, None when the card could not say

    @classmethod
    def parse(cls, text: str | None) -> Seen | None:
        """Read "<status>:<assignee id>", as forms and selections carry it ("?" for an assignee
        the card could not name); None without a status."""
        status, _, assignee_id = (text or "").partition(":")
        if not status:
            return None
        return cls(status=status, assignee_id=None if assignee_id == UNKNOWN else assignee_id)

    @classmethod
    def of(cls, conversation: Conversation) -> Seen:
        return cls(conversation.status, _assignee_id(conversation) if conversation.assignee_known else None)

    def __str__(self) -> str:
        return f"{self.status}:{UNKNOWN if self.assignee_id is None else self.assignee_id}"


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

    def undisclosed(self) -> ActionResult:
        """What someone who may act on the conversation but not read it is told: what happened,
        never what it holds (its contact, status, assignee or who changed it). Failures keep
        their message: it comes from WapiKit's error or the user's role, not the conversation."""
        message = _UNDISCLOSED.get(self.outcome, self.message)
        return ActionResult(self.outcome, message, error=self.error)


# The sentences of `ActionResult.undisclosed`, by outcome.
_UNDISCLOSED = {
    AuditEntry.Outcome.SUCCEEDED: "",
    "conflict": "Not applied: it changed since you saw it.",
    AuditEntry.Outcome.SKIPPED: "Nothing to do: it was already so.",
    AuditEntry.Outcome.IGNORED: "WapiKit accepted the change without applying it.",
}


def _assignee_id(conversation: Conversation) -> str:
    return conversation.assigned_to.unique_id if conversation.assigned_to else ""


def _assignee_name(conversation: Conversation) -> str:
    return conversation.assigned_to.name if conversation.assigned_to else ""


def _state(prefix: str, conversation: Conversation) -> dict[str, str]:
    known = conversation.assignee_known
    return {
        f"{prefix}_status": conversation.status,
        f"{prefix}_assignee_id": _assignee_id(conversation) if known else UNKNOWN,
        f"{prefix}_assignee_name": _assignee_name(conversation) if known else "not known",
    }


def describe_changes(seen: Seen, current: Conversation, members: list[Member]) -> list[str]:
    """What changed since the user saw it, in what both the card and WapiKit's answer say."""
    names = {m.unique_id: m.name for m in members}
    changes = []
    if seen.status != current.status:
        changes.append(f"its status changed from {seen.status} to {current.status}")
    if seen.assignee_id is not None and current.assignee_known and seen.assignee_id != _assignee_id(current):
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
    if action is Action.UNASSIGN and current.assignee_known and current.assigned_to is None:
        return "It is already unassigned."
    return None


def open_entry(
    *, user, powers: Powers, conversation_id: str, action: Action, via: str, member: Member | None,
    client_address: str = "", token_name: str = "",
) -> AuditEntry:
    """The audit row of one attempt, written before any upstream call."""
    actor = powers.member
    entry = AuditEntry(
        user=user,
        user_email=user.email,
        client_address=client_address,
        member_id=actor.unique_id if actor else "",
        member_name=actor.name if actor else "",
        conversation_id=conversation_id,
        action=str(action),
        via=via,
        token_name=token_name,
        after_assignee_id=member.unique_id if member else "",
        after_assignee_name=member.name if member else "",
    )
    entry.save()
    return entry


def decide(
    *, action: Action, current: Conversation, member: Member | None, seen: Seen | None, force: bool,
    members: list[Member],
) -> ActionResult | None:
    """Whether to send anything: a conflict or a no-op stops here; None means go ahead."""
    if seen is not None and not force:
        changes = describe_changes(seen, current, members)
        if changes:
            detail = "Changed since the user saw it: " + "; ".join(changes) + "."
            return ActionResult("conflict", detail, current, changes=changes)
    if reason := _skip_reason(action, current, member):
        return ActionResult(AuditEntry.Outcome.SKIPPED, reason, current)
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
            client.unassign_conversation(conversation_id, member_id=_assignee_id(current) or NOBODY)
            updated = msgspec.structs.replace(current, assigned_to=None, assignee_known=True)
    except errors.Rejected as exc:
        return ActionResult(AuditEntry.Outcome.REJECTED, exc.user_message, current, error=exc)
    except errors.ServerError as exc:
        message = exc.user_message
        if action is Action.ASSIGN and exc.status == 500:
            message = (
                f"WapiKit failed to reassign the conversation with its own internal error (500).{exc.wapikit_said} "
                "Its server fails this way when the conversation was assigned to this member before."
            )
        return ActionResult(AuditEntry.Outcome.FAILED, message, current, error=exc)
    except errors.WapiKitError as exc:
        return ActionResult(AuditEntry.Outcome.FAILED, exc.user_message, current, error=exc)
    return ActionResult(AuditEntry.Outcome.SUCCEEDED, "", updated)


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
            return ActionResult(AuditEntry.Outcome.FAILED, message, current, error=exc)
    known = _assignee_id(current) if current.assignee_known else None
    updated = assignees.resolved_single(answer, members=members, fallback=known)
    if updated.status != status:
        client.capabilities.learn(capabilities.STATUS_UPDATES_APPLY, False)
        message = (
            "WapiKit accepted the request but did not change the status: "
            f"the conversation is still {updated.status}."
        )
        return ActionResult(AuditEntry.Outcome.IGNORED, message, updated)
    client.capabilities.learn(capabilities.STATUS_UPDATES_APPLY, True)
    return ActionResult(AuditEntry.Outcome.SUCCEEDED, "", updated)


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
    if result.outcome in (AuditEntry.Outcome.SUCCEEDED, AuditEntry.Outcome.IGNORED) and result.conversation:
        fields.update(_state("after", result.conversation))
    outcome = AuditEntry.Outcome.SKIPPED if result.outcome == "conflict" else result.outcome
    if result.error is not None:
        fields["error_kind"] = result.error.kind
        fields["detail"] = result.error.detail if isinstance(result.error, errors.Rejected) else result.message
    elif result.message:
        fields["detail"] = result.message
    entry.complete(outcome=outcome, **fields)
    if result.conversation is not None:
        # Read from WapiKit just now (the conflict check, or the answer to the write).
        now.is_now(result.conversation, why="action")
    metrics.actions.labels(action=entry.action, outcome=outcome, via=entry.via).inc()


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
    client_address: str = "",
    token_name: str = "",
) -> ActionResult:
    """Apply one action to one conversation. Never raises for upstream failures: the result
    says what happened, and the audit row records it."""
    entry = open_entry(
        user=user, powers=powers, conversation_id=conversation_id, action=action, via=via, member=member,
        client_address=client_address, token_name=token_name,
    )
    if not powers.allows(action):
        result = ActionResult(
            AuditEntry.Outcome.DENIED, f"Your WapiKit role does not allow you to {action} conversations."
        )
        close_entry(entry, result, before=None)
        return result
    members = members if members is not None else []
    try:
        current = assignees.resolved_single(
            get_client().get_conversation(conversation_id),
            members=members,
            fallback=seen.assignee_id if seen is not None else None,
        )
    except errors.WapiKitError as exc:
        result = ActionResult(AuditEntry.Outcome.FAILED, exc.user_message, error=exc)
        close_entry(entry, result, before=None)
        return result
    result = decide(action=action, current=current, member=member, seen=seen, force=force, members=members)
    if result is None:
        result = apply(action=action, current=current, member=member, members=members)
    elif result.outcome == "conflict":
        result.changed_by = last_change(conversation_id)
    close_entry(entry, result, before=current)
    return result
