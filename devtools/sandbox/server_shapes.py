"""Conversations, messages and members as WapiKit's server code writes them (the "server" and
"legacy" profiles): Go struct field order, `campaignId: ""` when there is none, nil Go slices as
null, message data cut down to the fields of its Go type."""

from __future__ import annotations

from typing import Any

from .dialects import Dialect
from .gojson import go_time
from .models import Conversation, Member, Message, Role

# The message types 055becef's `ParseDbMessageToApiMessage` knows, each with the fields of its Go
# `...MessageData` struct; a field that is omitempty in Go is left out when empty.
MESSAGE_DATA_FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "Text": (("text", False),),
    "Audio": (("id", False), ("link", True)),
    "Video": (("caption", True), ("id", False), ("link", True)),
    "Image": (("caption", True), ("id", False), ("link", True)),
    "Document": (("caption", True), ("fileName", False), ("id", False), ("link", True)),
    "Sticker": (("id", False), ("link", True)),
    "Reaction": (("messageId", True), ("reaction", False)),
}
ZERO_VALUES = {"text": "", "id": "", "fileName": "", "reaction": ""}


def message_json(message: Message, conversation_id: str, dialect: Dialect) -> dict[str, Any] | None:
    if dialect.unknown_messages_are_null:
        fields = MESSAGE_DATA_FIELDS.get(message.message_type)
        if fields is None:
            return None
        data = _cut_to_fields(message.message_data or {}, fields)
    else:
        data = message.message_data
    answer: dict[str, Any] = {
        "conversationId": conversation_id,
        "createdAt": go_time(message.created_at),
        "direction": message.direction,
        "messageData": data,
        dialect.message_type_key: message.message_type,
        "status": message.status,
        "uniqueId": str(message.unique_id),
    }
    if data is None:
        del answer["messageData"]  # d0a3506's *map is omitempty
    return answer


def _cut_to_fields(data: dict[str, Any], fields: tuple[tuple[str, bool], ...]) -> dict[str, Any]:
    cut: dict[str, Any] = {}
    for name, omit_empty in fields:
        value = data.get(name)
        if value in (None, "") and omit_empty:
            continue
        cut[name] = ZERO_VALUES.get(name, "") if value is None else value
    return cut


def role_json(role: Role) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    if role.description:
        answer["description"] = role.description
    # WapiKit stores permissions comma-joined; an empty column splits into a nil slice.
    answer.update(name=role.name, permissions=list(role.permissions) or None, uniqueId=str(role.unique_id))
    return answer


def member_json(member: Member, roles: list[Role] | None) -> dict[str, Any]:
    """`roles=None` writes null (a nil slice): what the members list sends for a member without
    roles. The conversation answers always send an empty list instead."""
    return {
        "accessLevel": member.access_level,
        "createdAt": go_time(member.created_at),
        "email": member.email,
        "name": member.name,
        "roles": None if roles is None else [role_json(role) for role in roles],
        "uniqueId": str(member.unique_id),
    }


def contact_json(conversation: Conversation) -> dict[str, Any]:
    contact = conversation.contact
    return {
        "attributes": contact.attributes,
        "createdAt": go_time(contact.created_at),
        "name": contact.name,
        "phone": contact.phone,
        "status": contact.status,
        "uniqueId": str(contact.unique_id),
    }


def conversation_json(
    conversation: Conversation,
    dialect: Dialect,
    *,
    assignee: Member | None,
    messages: list[dict[str, Any] | None],
    tags: bool,
    unread: int,
    total: int | None,
) -> dict[str, Any]:
    """One `ConversationSchema`. `assignee` and `total` are left out when None (omitempty)."""
    answer: dict[str, Any] = {}
    if assignee is not None:
        answer["assignedTo"] = member_json(assignee, [])
    answer.update(
        campaignId=str(conversation.campaign.unique_id) if conversation.campaign_id else "",
        contact=contact_json(conversation),
        contactId=str(conversation.contact.unique_id),
        createdAt=go_time(conversation.created_at),
        initiatedBy=conversation.initiated_by,
        messages=messages,
        numberOfUnreadMessages=unread,
        organizationId=str(conversation.organization_id),
        status=conversation.status,
        tags=[{dialect.tag_label_key: t.label, "uniqueId": str(t.unique_id)} for t in conversation.tags.all()]
        if tags
        else [],
    )
    if total is not None:
        answer["totalMessages"] = total
    answer["uniqueId"] = str(conversation.unique_id)
    return answer
