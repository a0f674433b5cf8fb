"""Conversations, messages, members and campaigns as WapiKit's spec and doc page describe them:
the "spec" profile's answers, read from the sandbox's rows in a fixed number of queries. The
"server" and "legacy" profiles write theirs in `server_shapes`; their campaigns are these."""

from __future__ import annotations

import uuid

from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from .checks import parse_uuid
from .models import Campaign, Conversation, Member, Message, Role

LAST_MESSAGES = 3


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def role_json(role: Role) -> dict:
    return {
        "uniqueId": str(role.unique_id),
        "name": role.name,
        "description": role.description,
        "permissions": list(role.permissions),
    }


def member_json(member: Member) -> dict:
    return {
        "uniqueId": str(member.unique_id),
        "createdAt": iso(member.created_at),
        "accessLevel": member.access_level,
        "name": member.name,
        "email": member.email,
        "roles": [role_json(role) for role in member.roles.all()],
    }


def message_json(message: Message, conversation_id: uuid.UUID) -> dict:
    answer = {
        "uniqueId": str(message.unique_id),
        "conversationId": str(conversation_id),
        "direction": message.direction,
        "status": message.status,
        "messageType": message.message_type,
        "createdAt": iso(message.created_at),
        "messageData": message.message_data,
    }
    if message.reply_to:
        answer["replyToMessageId"] = str(message.reply_to)
    if message.whatsapp_message_id:
        answer["whatsAppMessageId"] = message.whatsapp_message_id
    return answer


def conversation_json(conversation: Conversation) -> dict:
    contact = conversation.contact
    answer = {
        "contact": {
            "uniqueId": str(contact.unique_id),
            "name": contact.name,
            "phone": contact.phone,
            "attributes": contact.attributes,
            "createdAt": iso(contact.created_at),
            "status": contact.status,
        },
        "uniqueId": str(conversation.unique_id),
        "contactId": str(contact.unique_id),
        "organizationId": str(conversation.organization_id),
        "initiatedBy": conversation.initiated_by,
        "messages": [message_json(m, conversation.unique_id) for m in reversed(conversation.last_messages)],
        "createdAt": iso(conversation.created_at),
        "numberOfUnreadMessages": conversation.unread_count,
        "totalMessages": conversation.message_count,
        "status": conversation.status,
        "tags": [{"label": t.label, "uniqueId": str(t.unique_id)} for t in conversation.tags.all()],
    }
    if conversation.campaign_id is not None:
        answer["campaignId"] = str(conversation.campaign.unique_id)
    if conversation.assigned_to is not None:
        answer["assignedTo"] = member_json(conversation.assigned_to)
    return answer


def conversations() -> QuerySet[Conversation]:
    """Everything a conversation answer needs, in a fixed number of queries."""
    return (
        Conversation.objects.select_related("contact", "campaign", "assigned_to")
        .prefetch_related(
            "tags",
            "assigned_to__roles",
            Prefetch(
                "messages",
                queryset=Message.objects.order_by("-created_at", "-id")[:LAST_MESSAGES],
                to_attr="last_messages",
            ),
        )
        .annotate(
            message_count=Count("messages", distinct=True),
            unread_count=Count(
                "messages",
                filter=Q(messages__direction="InBound", messages__status="Unread"),
                distinct=True,
            ),
        )
    )


def one_conversation(conversation_id: str) -> Conversation:
    return get_object_or_404(conversations(), unique_id=parse_uuid(conversation_id, "id"))


def campaigns_by_name() -> QuerySet[Campaign]:
    """The seeded campaigns, with the first conversation each started as their creation time
    (the sandbox keeps no more of a campaign than its id and name)."""
    return Campaign.objects.annotate(first_conversation=Min("conversation__created_at")).order_by("name", "id")


# A fixed time for a campaign that started no conversation.
CAMPAIGN_EPOCH = "2026-01-01T00:00:00Z"


def campaign_json(campaign: Campaign) -> dict:
    """The spec's CampaignSchema, its required fields filled with what the sandbox can say."""
    created = campaign.first_conversation
    return {
        "uniqueId": str(campaign.unique_id),
        "name": campaign.name,
        "description": "",
        "status": "Running",
        "createdAt": iso(created) if created else CAMPAIGN_EPOCH,
        "lists": [],
        "tags": [],
        "isLinkTrackingEnabled": False,
    }
