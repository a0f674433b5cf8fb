"""What a dashboard user may do: exactly what their WapiKit member may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dashboard.wapikit.types import Member

VIEW = "Get:Conversation"


class Action(StrEnum):
    CLOSE = "close"
    REOPEN = "reopen"
    DELETE = "delete"
    ASSIGN = "assign"
    UNASSIGN = "unassign"

    @property
    def permission(self) -> str:
        return _PERMISSIONS[self]

    @property
    def target_status(self) -> str | None:
        return _STATUSES.get(self)


_PERMISSIONS = {
    Action.CLOSE: "Update:Conversation",
    Action.REOPEN: "Update:Conversation",
    Action.DELETE: "Delete:Conversation",
    Action.ASSIGN: "Assign:Conversation",
    Action.UNASSIGN: "Unassign:Conversation",
}
_STATUSES = {Action.CLOSE: "Closed", Action.REOPEN: "Active", Action.DELETE: "Deleted"}


@dataclass(frozen=True, slots=True)
class Powers:
    """The signed-in user's WapiKit member, or None when no member has their email."""

    member: Member | None

    def allows(self, action: Action | str) -> bool:
        return self.member is not None and self.member.can(Action(action).permission)

    @property
    def can_view(self) -> bool:
        return self.member is not None and self.member.can(VIEW)

    @property
    def can_update(self) -> bool:
        return self.allows(Action.CLOSE)

    @property
    def can_delete(self) -> bool:
        return self.allows(Action.DELETE)

    @property
    def can_assign(self) -> bool:
        return self.allows(Action.ASSIGN)

    @property
    def can_unassign(self) -> bool:
        return self.allows(Action.UNASSIGN)

    @property
    def can_act(self) -> bool:
        return any(self.allows(action) for action in Action)
