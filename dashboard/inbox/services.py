"""Writes to WapiKit. Each returns the conversation as WapiKit now has it, for redrawing."""

from __future__ import annotations

from dashboard.wapikit import errors, get_client
from dashboard.wapikit.types import Conversation

from .permissions import Action


class ChangedButNotReloaded(Exception):
    """WapiKit made the change, but reading the conversation back failed: the user must be
    told the change happened, not that it failed."""

    def __init__(self, error: errors.WapiKitError) -> None:
        super().__init__(str(error))
        self.error = error


def _read_back(conversation_id: str) -> Conversation:
    try:
        return get_client().get_conversation(conversation_id)
    except errors.WapiKitError as exc:
        raise ChangedButNotReloaded(exc) from exc


def conversation_set_status(*, conversation_id: str, action: Action) -> Conversation:
    """Close, reopen or delete: WapiKit answers with the whole conversation, so one call."""
    status = action.target_status
    if status is None:
        raise ValueError(f"{action} does not change the status")
    return get_client().update_conversation_status(conversation_id, status=status)


def conversation_assign(*, conversation_id: str, member_id: str) -> Conversation:
    """Assign answers only `{"data": true}`: read the conversation back to redraw its card."""
    get_client().assign_conversation(conversation_id, member_id=member_id)
    return _read_back(conversation_id)


def conversation_unassign(*, conversation_id: str, member_id: str) -> Conversation:
    get_client().unassign_conversation(conversation_id, member_id=member_id)
    return _read_back(conversation_id)
