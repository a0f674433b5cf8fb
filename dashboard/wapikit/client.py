"""The WapiKit client: one method per route, each sent through the transport's one `_request`
(`transport`), and answered as the typed values of `types`."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from . import capabilities, errors
from .transport import Transport
from .types import (
    STATUSES,
    Campaign,
    CampaignPage,
    Conversation,
    ConversationEnvelope,
    ConversationPage,
    DataFlag,
    Member,
    MemberPage,
    MessagePage,
)

MAX_PER_PAGE = 50
# The highest page the dashboard ever asks for: 500,000 conversations at 50 a page. WapiKit reads
# pages as int64 and computes the offset without a check, so a larger number from a user's URL
# could answer 500 and open the circuit for everyone; the faces refuse one with a message first.
MAX_PAGE = 10_000
# What the dashboard may filter by: the spec's statuses and the server's "Resolved".
LISTABLE_STATUSES = (*STATUSES, "Resolved")



def validate_id(value: str) -> str:
    """WapiKit ids are UUIDs. Anything else could steer a request to another upstream path."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        raise errors.InvalidId(f"not a UUID: {value!r:.60}") from None


class WapiKitClient(Transport):
    # Conversations

    def list_conversations(
        self,
        *,
        page: int = 1,
        per_page: int = 25,
        status: str | None = None,
        order: str = "desc",
        campaign_id: str | None = None,
        contact_id: str | None = None,
        list_id: str | None = None,
    ) -> ConversationPage:
        if not 1 <= page <= MAX_PAGE:
            raise ValueError(f"page must be between 1 and {MAX_PAGE}")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if status is not None and status not in LISTABLE_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        if order not in ("asc", "desc"):
            raise ValueError("order is 'asc' or 'desc'")
        params: dict[str, Any] = {"page": page, "per_page": per_page, "order": order}
        if status:
            params["status"] = status
        for name, value in (("campaign_id", campaign_id), ("contact_id", contact_id), ("list_id", list_id)):
            if value:
                params[name] = validate_id(value)
        answer = self._request("GET", "/conversations", ConversationPage, params=params)
        self._learn_whether_lists_carry_messages(answer)
        return answer

    def _learn_whether_lists_carry_messages(self, answer: ConversationPage) -> None:
        """The spec's list carries each conversation's messages, in order of last activity; the
        server's carries none and no order. A conversation that has messages tells which."""
        conversations = answer.conversations
        if any(c.message_list for c in conversations):
            self.capabilities.learn(capabilities.LISTS_CARRY_MESSAGES, True)
        elif any(c.total_messages for c in conversations):
            self.capabilities.learn(capabilities.LISTS_CARRY_MESSAGES, False)

    def get_conversation(self, conversation_id: str) -> Conversation:
        path = f"/conversation/{validate_id(conversation_id)}"
        conversation = self._request("GET", path, ConversationEnvelope).conversation
        if conversation.assigned_to is not None:
            # Only a server that selects the assignee can send one; an absent one proves nothing.
            self.capabilities.learn(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE, True)
        return conversation

    def update_conversation_status(self, conversation_id: str, *, status: str) -> Conversation | None:
        """The updated conversation, or None when WapiKit's answer did not carry it (the server
        answers 200 with an empty body, whatever it did): the caller must read it back."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        path = f"/conversation/{validate_id(conversation_id)}"
        answer = self._request("POST", path, ConversationEnvelope | None, json={"status": status})
        return answer.conversation if answer is not None else None

    def assign_conversation(self, conversation_id: str, *, member_id: str) -> None:
        path = f"/conversation/{validate_id(conversation_id)}/assign"
        answer = self._assignment(path, {"organizationMemberId": validate_id(member_id)})
        if not answer.data:
            raise errors.Rejected("WapiKit did not assign the conversation.")

    def unassign_conversation(self, conversation_id: str, *, member_id: str) -> None:
        path = f"/conversation/{validate_id(conversation_id)}/unassign"
        answer = self._assignment(path, {"userId": validate_id(member_id)})
        if not answer.data:
            raise errors.Rejected("WapiKit did not unassign the conversation.")

    def _assignment(self, path: str, body: dict[str, str]) -> DataFlag:
        """Assign and unassign are POSTs, except on the older server, whose router registered
        them as GET: its 405 means nothing happened, so the same request goes again as a GET,
        and this WapiKit is remembered to want GET."""
        try:
            # WapiKit's server answers 500 to assigning a member the conversation had before
            # (a duplicate key): the user's choice of member, not WapiKit's health.
            if self.capabilities.get(capabilities.ASSIGN_BY_GET):
                return self._request("GET", path, DataFlag, json=body, retry=False, server_errors_count=False)
            try:
                return self._request("POST", path, DataFlag, json=body, server_errors_count=False)
            except errors.BadResponse as exc:
                if exc.status != 405:
                    raise
            answer = self._request("GET", path, DataFlag, json=body, retry=False, server_errors_count=False)
            self.capabilities.learn(capabilities.ASSIGN_BY_GET, True)
            return answer
        except errors.NotFound as exc:
            # WapiKit answers 404 for an unknown conversation and for an unknown member alike;
            # only its words tell which.
            if "member" in exc.detail.lower():
                raise errors.MemberNotFound(exc.detail, status=exc.status) from exc
            raise

    def list_messages(
        self, conversation_id: str, *, page: int = 1, per_page: int = 50, order: str = "asc"
    ) -> MessagePage:
        if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE or order not in ("asc", "desc"):
            raise ValueError("invalid paging")
        path = f"/conversation/{validate_id(conversation_id)}/messages"
        return self._request(
            "GET", path, MessagePage, params={"page": page, "per_page": per_page, "order": order}
        )

    # Members

    def list_members(self, *, per_page: int = MAX_PER_PAGE, max_pages: int = 100) -> list[Member]:
        """Every member, read page by page until a short or empty one. The server pages by
        member×role rows, so a member with several roles can straddle two pages with part of
        its roles on each: duplicates are merged, roles and all."""
        by_id: dict[str, Member] = {}
        for page in range(1, max_pages + 1):
            answer = self._request(
                "GET", "/organization/members", MemberPage, params={"page": page, "per_page": per_page}
            )
            for member in answer.members:
                by_id[member.unique_id] = _merged(by_id.get(member.unique_id), member)
            rows = sum(max(1, len(m.roles)) for m in answer.members)
            total = answer.pagination_meta.total
            if not answer.members or rows < per_page or (total and len(by_id) >= total):
                break
        return list(by_id.values())

    # Campaigns

    def list_campaigns(self, *, per_page: int = MAX_PER_PAGE, max_pages: int = 20) -> list[Campaign]:
        """Every campaign, read page by page until a short or empty page, or the stated total."""
        by_id: dict[str, Campaign] = {}
        for page in range(1, max_pages + 1):
            answer = self._request(
                "GET", "/campaigns", CampaignPage, params={"page": page, "per_page": per_page, "order": "asc"}
            )
            for campaign in answer.campaigns:
                by_id.setdefault(campaign.unique_id, campaign)
            total = answer.pagination_meta.total
            if len(answer.campaigns) < per_page or (total and len(by_id) >= total):
                break
        return list(by_id.values())


def _merged(known: Member | None, member: Member) -> Member:
    if known is None:
        return member
    roles = {role.unique_id: role for role in (*known.roles, *member.roles)}
    return msgspec.structs.replace(known, role_list=list(roles.values()))
