"""An action's request and its result: who acts (built once per request), the state their form
was drawn from, and what came of it, as one outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dashboard.wapikit import errors
from dashboard.wapikit.types import Conversation, Member

from .models import AuditEntry
from .powers import Powers

UNKNOWN = "?"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"  # nothing to do: it already was so
    CONFLICT = "conflict"  # it changed since the user saw it: nothing was sent
    IGNORED = "ignored"  # WapiKit accepted the change and did not apply it
    REJECTED = "rejected"
    FAILED = "failed"
    DENIED = "denied"

    @property
    def audited(self) -> str:
        """The audit log's outcome: a conflict is recorded as skipped, with what changed."""
        return AuditEntry.Outcome.SKIPPED if self is Outcome.CONFLICT else AuditEntry.Outcome(self.value)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, read once per request: the signed-in user, their WapiKit powers, the member list
    those powers were read from, where the request came from and through what (card, page,
    bulk or API, and the API token's name; or routing, with no user)."""

    user: object  # None for the dashboard itself (routing)
    powers: Powers
    members: list[Member]
    via: str
    client_address: str = ""
    token_name: str = ""
    note: str = ""  # why, in the audit row's words (routing: its rule and why this member)

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.unique_id == member_id), None)


def assignee_id(conversation: Conversation) -> str:
    return conversation.assigned_to.unique_id if conversation.assigned_to else ""


@dataclass(frozen=True, slots=True)
class Seen:
    """The state the user's form was drawn from."""

    status: str
    assignee_id: str | None  # "" when unassigned, None when the card could not say

    @classmethod
    def parse(cls, text: str | None) -> Seen | None:
        """Read "<status>:<assignee id>", as forms and selections carry it ("?" for an assignee
        the card could not name); None without a status."""
        status, _, assignee = (text or "").partition(":")
        if not status:
            return None
        return cls(status=status, assignee_id=None if assignee == UNKNOWN else assignee)

    @classmethod
    def of(cls, conversation: Conversation) -> Seen:
        return cls(conversation.status, assignee_id(conversation) if conversation.assignee_known else None)

    def __str__(self) -> str:
        return f"{self.status}:{UNKNOWN if self.assignee_id is None else self.assignee_id}"


@dataclass(slots=True)
class ActionResult:
    outcome: Outcome
    message: str
    conversation: Conversation | None = None  # the state to draw; None when unknown
    error: errors.WapiKitError | None = None
    changes: list[str] = field(default_factory=list)
    changed_by: AuditEntry | None = None
    left_view: bool = False  # the conversation no longer matches the inbox view it was acted on from
    entry: AuditEntry | None = None  # the attempt's audit row (an Undo names it)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED

    def undisclosed(self) -> ActionResult:
        """What someone who may act on the conversation but not read it is told: what happened,
        never what it holds (its contact, status, assignee or who changed it). Failures keep
        their message: it comes from WapiKit's error or the user's role, not the conversation."""
        message = _UNDISCLOSED.get(self.outcome, self.message)
        return ActionResult(self.outcome, message, error=self.error)


# The sentences of `ActionResult.undisclosed`, by outcome.
_UNDISCLOSED = {
    Outcome.SUCCEEDED: "",
    Outcome.CONFLICT: "Not applied: it changed since you saw it.",
    Outcome.SKIPPED: "Nothing to do: it was already so.",
    Outcome.IGNORED: "WapiKit accepted the change without applying it.",
}
