"""Assignees. A conversation answer's `assignedTo` says who, but not reliably with what powers
(the server's list sends `roles: []`), and the server's single-conversation answer never says
who at all. Who is assigned comes from the answer (or what the dashboard knows when the answer
cannot say); their access level, roles and permissions always from the member list."""

from __future__ import annotations

import msgspec

from dashboard.wapikit import capabilities, errors, get_client, validate_id
from dashboard.wapikit.client import MAX_PER_PAGE
from dashboard.wapikit.types import Conversation, Member

from . import scan
from .members import members_by_id


def _unlisted(member_id: str, answered: Member | None) -> Member:
    return Member(
        unique_id=member_id,
        access_level=answered.access_level if answered else "",
        name=answered.name if answered else "",
        email=answered.email if answered else "",
        unlisted=True,
    )


def with_assignee(conversation: Conversation, assignee_id: str | None, by_id: dict[str, Member]) -> Conversation:
    """The conversation assigned to `assignee_id` ("" for nobody, None for "not known"), the
    assignee as the member list has them."""
    if assignee_id is None:
        return msgspec.structs.replace(conversation, assigned_to=None, assignee_known=False)
    if not assignee_id:
        return msgspec.structs.replace(conversation, assigned_to=None, assignee_known=True)
    answered = conversation.assigned_to
    listed = by_id.get(assignee_id)
    if listed is None:
        listed = _unlisted(assignee_id, answered if answered and answered.unique_id == assignee_id else None)
    if answered is listed:
        return conversation
    return msgspec.structs.replace(conversation, assigned_to=listed, assignee_known=True)


def listed_assignees(conversations: list[Conversation], members: list[Member]) -> list[Conversation]:
    """List answers carry the assignee: give each one its member-list record."""
    by_id = members_by_id(members)
    return [
        with_assignee(c, c.assigned_to.unique_id, by_id) if c.assigned_to is not None else c
        for c in conversations
    ]


def probe_single_answer_has_assignee() -> bool | None:
    """Whether `GET /conversation/{id}` says who is assigned. Learned once per WapiKit, and the
    one read here that writes: the client notes it whenever such an answer names an assignee;
    otherwise this probe reads one assigned conversation from a list answer on its own and
    keeps what it learned. None while no assigned conversation can be found to tell."""
    client = get_client()
    known = client.capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE)
    if known is not None:
        return known
    candidates = [c for s in scan.cached_scans(("Active", None)) for c in s.conversations if _probe_candidate(c)]
    if not candidates:
        page = client.list_conversations(page=1, per_page=MAX_PER_PAGE, status="Active", order="desc")
        candidates = [c for c in page.conversations if _probe_candidate(c)]
    if not candidates:
        return None
    if client.get_conversation(candidates[0].unique_id).assigned_to is not None:
        return True
    client.capabilities.learn(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE, False)
    return False


def _probe_candidate(conversation: Conversation) -> bool:
    """Assigned, and named by an id that can be sent back to WapiKit: a list answer's id is
    WapiKit's text, and one that is not a UUID must not read as the user's invalid id."""
    if conversation.assigned_to is None:
        return False
    try:
        validate_id(conversation.unique_id)
    except errors.InvalidId:
        return False
    return True


def assignee_in_scans(conversation_id: str) -> str | None:
    """Who a recent list answer said is assigned ("" for nobody), or None if none holds it."""
    for found in scan.cached_scans(scan.SCANNED_STATUSES):
        for conversation in found.conversations:
            if conversation.unique_id == conversation_id:
                return conversation.assigned_to.unique_id if conversation.assigned_to else ""
    return None


def resolved_single(conversation: Conversation, *, members: list[Member], fallback: str | None = None) -> Conversation:
    """A single-conversation answer with its assignee: the answer's when it names one or can be
    trusted to; else `fallback` (what the user's card showed, or the state before an action),
    else a recent list answer's; else marked unknown, never shown as "Unassigned".

    Whether the answer can be trusted is only asked (and, once per WapiKit, probed) when the
    two readings differ: an answer without an assignee and a hint that names one, or none."""
    by_id = members_by_id(members)
    if conversation.assigned_to is not None:
        return with_assignee(conversation, conversation.assigned_to.unique_id, by_id)
    trusted = get_client().capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE)
    if trusted:
        return conversation
    hint = fallback if fallback is not None else assignee_in_scans(conversation.unique_id)
    if hint == "":
        return with_assignee(conversation, "", by_id)
    if trusted is None and probe_single_answer_has_assignee():
        return conversation
    return with_assignee(conversation, hint, by_id)
