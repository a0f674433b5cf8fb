"""What the "server" and "legacy" profiles add to the demo data, so that the oddities of WapiKit's
server code (shared/wapikit/REAL-SERVER.md) show up without a test having to provoke them.

It runs after `seed.seed()` has written the spec profile's rows, inside the same transaction, with
its own random generator: the spec data stays exactly what it was, and the additions are as
reproducible as the rest."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from django.utils.text import slugify

from .models import Campaign, Contact, Conversation, ConversationAssignment, Member, Message, Role

RESOLVED = "Resolved"
# A role as WapiKit stores one nobody has filled in yet: its permissions column is empty.
EMPTY_ROLE = ("Trainee", "Shadows the team before getting any permission.", [])
EMPTY_ROLE_MEMBER = "mei.chen@example.com"
RESOLVED_SHARE_OF_CLOSED = 1 / 3
# Conversations (assigned now or not) whose history also holds an ended assignment to someone else.
REASSIGNED_SHARE = 0.15


def adapt_for_server(rng: random.Random) -> dict[str, int]:
    """Rewrite the freshly seeded rows the way WapiKit's server would have stored them."""
    return {
        "empty_roles": _add_empty_role(rng),
        "resolved": _resolve_some_closed(rng),
        "templates": _store_campaign_openers_as_templates(),
        "sent_inbound": _store_unread_inbound_as_sent(),
        "assignments": _write_assignment_history(rng),
    }


def _add_empty_role(rng: random.Random) -> int:
    name, description, permissions = EMPTY_ROLE
    role = Role.objects.create(
        unique_id=uuid.UUID(int=rng.getrandbits(128), version=4), name=name, description=description, permissions=permissions
    )
    Member.objects.get(email=EMPTY_ROLE_MEMBER).roles.add(role)
    return 1


def _resolve_some_closed(rng: random.Random) -> int:
    closed = list(Conversation.objects.filter(status=Conversation.Status.CLOSED).order_by("id").values_list("id", flat=True))
    chosen = rng.sample(closed, round(len(closed) * RESOLVED_SHARE_OF_CLOSED))
    return Conversation.objects.filter(id__in=chosen).update(status=RESOLVED)


def _store_campaign_openers_as_templates() -> int:
    """WapiKit's campaign manager stores what it sends as a Template message (its
    `internal/campaign_manager/message.go`), which the server's message parser then cannot read."""
    openers = []
    campaigns = {c.pk: c for c in Campaign.objects.all()}
    phones = dict(Contact.objects.values_list("id", "phone"))
    conversations = Conversation.objects.filter(campaign__isnull=False).values_list("id", "campaign_id", "contact_id")
    for conversation_id, campaign_id, contact_id in conversations:
        first = Message.objects.filter(conversation_id=conversation_id).order_by("created_at", "id").first()
        if first is None or first.direction != "OutBound":
            continue
        first.message_type = "Template"
        first.message_data = _template_data(campaigns[campaign_id], phones[contact_id], first.message_data.get("text", ""))
        openers.append(first)
    Message.objects.bulk_update(openers, ["message_type", "message_data"], batch_size=500)
    return len(openers)


def _template_data(campaign: Campaign, phone: str, text: str) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone,
        "type": "template",
        "template": {
            "name": slugify(campaign.name).replace("-", "_"),
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": text}]}],
        },
    }


def _store_unread_inbound_as_sent() -> int:
    """WapiKit's message status enum has no Unread: the webhook stores every inbound message as
    Sent, and the unread count counts inbound Sent messages."""
    return Message.objects.filter(direction="InBound", status="Unread").update(status="Sent")


def _write_assignment_history(rng: random.Random) -> int:
    members = list(Member.objects.order_by("id"))
    rows = Conversation.objects.order_by("id").values_list("id", "assigned_to_id", "created_at")
    ended: list[ConversationAssignment] = []
    current: list[ConversationAssignment] = []
    for conversation_id, assignee_id, created_at in rows:
        if rng.random() < REASSIGNED_SHARE:
            earlier = rng.choice([m for m in members if m.pk != assignee_id])
            ended.append(_assignment(conversation_id, earlier.pk, ConversationAssignment.Status.UNASSIGNED, created_at))
        if assignee_id is not None:
            assigned_at = created_at + timedelta(minutes=rng.randint(1, 90))
            current.append(_assignment(conversation_id, assignee_id, ConversationAssignment.Status.ASSIGNED, assigned_at))
    # Ended rows first: a row's id is its place in the history.
    ConversationAssignment.objects.bulk_create(ended, batch_size=500)
    ConversationAssignment.objects.bulk_create(current, batch_size=500)
    return len(ended) + len(current)


def _assignment(conversation_id: int, member_id: int, status: str, at: datetime) -> ConversationAssignment:
    return ConversationAssignment(conversation_id=conversation_id, member_id=member_id, status=status, created_at=at)
