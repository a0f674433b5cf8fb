"""Each conversation's life as the timeline knows it, beside WapiKit's answer: who is waiting and
since when, when the team last answered, what the last message was, and how long the contact's
24-hour reply window stays open.

The server's list answers carry no messages, so WapiKit's answer alone cannot say; the timeline
(`timeline.py`) learned it from events, reads and the dashboard's own actions. `attach` puts
what it knows on the conversations a page shows, in one query; the functions below read it, or
the answer's own messages where the timeline knows nothing yet."""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec
from django.db import DatabaseError
from django.utils import timezone

from dashboard.wapikit.types import Conversation, Life, Message

from . import clocks
from .models import ConversationLife

logger = logging.getLogger("dashboard.conversations")

# Ids per query: well under every database's limit on a query's parameters.
_CHUNK = 500


def attach(conversations: list[Conversation]) -> list[Conversation]:
    """The conversations with what the timeline knows of each, in one query per 500 (none for
    an empty list). Without the database they come back as WapiKit answered, never failing."""
    ids = [c.unique_id for c in conversations]
    rows: dict[str, ConversationLife] = {}
    try:
        for start in range(0, len(ids), _CHUNK):
            chunk = ConversationLife.objects.filter(conversation_id__in=ids[start : start + _CHUNK])
            rows.update((row.conversation_id, row) for row in chunk)
    except DatabaseError as exc:
        logger.warning("the timeline could not be read for a page: %s", type(exc).__name__)
        return conversations
    return [msgspec.structs.replace(c, life=life_from(rows.get(c.unique_id))) for c in conversations]


def life_from(row: ConversationLife | None) -> Life | None:
    if row is None:
        return None
    return Life(
        waiting_since=row.first_inbound_at,
        last_inbound_at=row.last_inbound_at,
        last_outbound_at=row.last_outbound_at,
        last_message_at=row.last_message_at,
        last_message=_decoded(row.last_message_body),
        last_message_inbound=row.last_message_inbound,
    )


def facts(conversation: Conversation) -> Life:
    """What is known of the conversation's messages: the timeline's, else its answer's own."""
    if conversation.life is not None and conversation.life.messages_known:
        return conversation.life
    return from_messages(conversation.messages)


def from_messages(messages: list[Message]) -> Life:
    """The facts a list of messages shows by itself (a page, or the ones an answer carries)."""
    if not messages:
        return Life()
    ordered = sorted(messages, key=lambda m: m.created_at)
    waiting_since = None
    for message in reversed(ordered):
        if not message.inbound:
            break
        waiting_since = message.created_at
    last = ordered[-1]
    return Life(
        waiting_since=waiting_since,
        last_inbound_at=max((m.created_at for m in ordered if m.inbound), default=None),
        last_outbound_at=max((m.created_at for m in ordered if not m.inbound), default=None),
        last_message_at=last.created_at,
        last_message=last,
        last_message_inbound=last.inbound,
    )


def messages_known(conversation: Conversation) -> bool:
    """Whether the dashboard knows the conversation's last message (or that it has none)."""
    return facts(conversation).messages_known or conversation.total_messages == 0


def waiting_since(conversation: Conversation) -> datetime | None:
    """When the contact started waiting: their first message since the team's last answer, or
    None when the team spoke last (or nothing is known)."""
    return facts(conversation).waiting_since


def answered_at(conversation: Conversation) -> datetime | None:
    """When the team answered, if the team spoke last."""
    life = facts(conversation)
    return life.last_outbound_at if life.messages_known and life.waiting_since is None else None


def last_activity(conversation: Conversation) -> datetime:
    """The last message's time, else when the conversation began."""
    return facts(conversation).last_message_at or conversation.created_at


def reply_window_ends(conversation: Conversation) -> datetime | None:
    last_inbound = facts(conversation).last_inbound_at
    return last_inbound + clocks.REPLY_WINDOW if last_inbound else None


def clock_of(conversation: Conversation, team: clocks.Targets, now: datetime | None = None) -> clocks.Clock:
    """The conversation's response clock and reply window; a closed one's clock does not run."""
    life = facts(conversation)
    moment = now or timezone.now()
    if conversation.status in ("Closed", "Deleted"):
        return clocks.Clock(clocks.State.NONE, clocks.window_for(life.last_inbound_at, team, moment))
    return clocks.clock_for(life, team, moment)


def _decoded(body: str) -> Message | None:
    if not body:
        return None
    try:
        return msgspec.json.decode(body, type=Message)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
