"""Test hook `POST /_sandbox/events` (the sandbox key in the auth header, as for `/_sandbox/control`):
what WapiKit's WhatsApp webhook does when a contact writes (055becef's
`api/controllers/webhook_controller/controller.go` 502-713), without WhatsApp.

    {"type": "NewMessage", "conversation_id": "<id>", "text": "Hello"}
        stores an inbound, unread Text message in that conversation and publishes NewMessage
    {"type": "NewConversation", "text": "Hello", "name": "Ada", "phone": "+447700900123"}
        creates the contact (unless one has that phone), an Active conversation and its first
        inbound message, and publishes NewConversation, then NewMessage, as the webhook does
    {"type": "Reply", "conversation_id": "<id>", "text": "On it"}
        stores an outbound message in that conversation and publishes nothing: the team answered
        outside the dashboard (from WhatsApp's own app, say), which no event tells it of

The answer names what was stored and how many event subscribers got each event:
    {"conversation_id": "...", "message_id": "...", "delivered": {"NewMessage": 1}}

It exists in the "server" and "legacy" profiles; only "server" has subscribers (`GET /api/events`).
The message is stored as WapiKit's webhook stores an inbound message: status Sent, which is what
WapiKit counts as unread.

The payloads are the webhook's: a conversation without messages or tags, plus the business
account fields WapiKit adds (for an existing conversation, its access token and webhook secret
too, which WapiKit really does send to every subscriber; here they are fake)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from . import dialects, events
from .checks import SandboxError, check_key
from .models import Contact, Conversation, Message
from .seed import ORGANIZATION_ID
from .server_api import listed_assignees
from .server_shapes import conversation_json, message_json
from .spec_shapes import one_conversation

BUSINESS_ACCOUNT_ID = "100000000000001"
FAKE_ACCOUNT_DETAILS = {
    "accessToken": "sandbox-fake-whatsapp-access-token",
    "businessAccountId": BUSINESS_ACCOUNT_ID,
    "webhookSecret": "sandbox-fake-webhook-secret",
}
# What 055becef's pre-handler hook leaves in a conversation it has just created: zero values.
EMPTY_ACCOUNT_DETAILS = {"accessToken": "", "businessAccountId": "", "webhookSecret": ""}


@api_view(["POST"])
def events_hook_view(request: Request) -> Response:
    check_key(request)
    body = request.data if isinstance(request.data, dict) else {}
    kind = body.get("type")
    text = _text(body.get("text", "Hello from the sandbox"))
    if kind == "NewMessage":
        return Response(_new_message(_conversation_id(body), text))
    if kind == "Reply":
        conversation = one_conversation(_conversation_id(body))
        message = _store(conversation, text, direction="OutBound")
        return Response({"conversation_id": str(conversation.unique_id), "message_id": str(message.unique_id), "delivered": {}})
    if kind == "NewConversation":
        return Response(_new_conversation(text, name=str(body.get("name", "New contact")), phone=body.get("phone")))
    raise SandboxError(400, "type must be NewMessage, NewConversation or Reply")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SandboxError(400, "text must be a non-empty string")
    return value


def _conversation_id(body: dict[str, Any]) -> str:
    value = body.get("conversation_id")
    if not isinstance(value, str) or not value:
        raise SandboxError(400, "conversation_id is required")
    return value


def _new_message(conversation_id: str, text: str) -> dict[str, Any]:
    conversation = one_conversation(conversation_id)
    message = _store_inbound(conversation, text)
    payload = _event_conversation(conversation, FAKE_ACCOUNT_DETAILS, assignee=True)
    delivered = _publish_message(payload, message)
    return {"conversation_id": str(conversation.unique_id), "message_id": str(message.unique_id), "delivered": delivered}


def _new_conversation(text: str, *, name: str, phone: Any) -> dict[str, Any]:
    with transaction.atomic():
        contact = _contact(name, phone if isinstance(phone, str) and phone else _random_phone())
        now = timezone.now()
        conversation = Conversation.objects.create(
            organization_id=ORGANIZATION_ID, contact=contact, initiated_by="Contact", created_at=now, last_activity_at=now
        )
        message = _store_inbound(conversation, text)
    conversation = one_conversation(str(conversation.unique_id))
    payload = _event_conversation(conversation, EMPTY_ACCOUNT_DETAILS, assignee=False)
    delivered = {"NewConversation": events.publish("NewConversation", {"conversation": payload}, organization_id=payload["organizationId"])}
    delivered.update(_publish_message(payload, message))
    return {"conversation_id": str(conversation.unique_id), "message_id": str(message.unique_id), "delivered": delivered}


def _contact(name: str, phone: str) -> Contact:
    existing = Contact.objects.filter(phone=phone).first()
    if existing is not None:
        return existing
    return Contact.objects.create(name=name, phone=phone, attributes={}, created_at=timezone.now(), status="Active")


def _random_phone() -> str:
    return "+44770090" + "".join(random.choices("0123456789", k=4))


def _store_inbound(conversation: Conversation, text: str) -> Message:
    return _store(conversation, text, direction="InBound")


def _store(conversation: Conversation, text: str, *, direction: str) -> Message:
    # WhatsApp stamps messages in whole seconds.
    now = timezone.now().replace(microsecond=0)
    message = Message.objects.create(
        conversation=conversation,
        direction=direction,
        status="Sent",
        message_type="Text",
        created_at=now,
        message_data={"text": text},
        whatsapp_message_id=f"wamid.{uuid.uuid4().hex.upper()}",
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now)
    return message


def _event_conversation(conversation: Conversation, account: dict[str, str], *, assignee: bool) -> dict[str, Any]:
    """055becef's `ConversationWithAllDetails`: the conversation as its webhook fetched it."""
    shown = listed_assignees([conversation.pk]).get(conversation.pk) if assignee else None
    payload = conversation_json(conversation, dialects.SERVER, assignee=shown, messages=[], tags=False, unread=0, total=None)
    payload.update(
        businessAccountId=BUSINESS_ACCOUNT_ID, organizationId=str(ORGANIZATION_ID), whatsAppBusinessAccountDetails=account
    )
    return payload


def _publish_message(conversation: dict[str, Any], message: Message) -> dict[str, int]:
    data = {"conversation": conversation, "message": message_json(message, conversation["uniqueId"], dialects.SERVER)}
    return {"NewMessage": events.publish("NewMessage", data, organization_id=str(ORGANIZATION_ID))}
