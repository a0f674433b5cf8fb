"""The one door for every fact "this conversation is now X": the dashboard's own writes, WapiKit's
events and fresh reads all pass here. What the dashboard keeps of a conversation (its cached
single answer, every cached list page and scan that holds it, the messages events delivered) is
brought up to date, and every open inbox and conversation page is told."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import msgspec
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone

from dashboard.wapikit import errors, get_client
from dashboard.wapikit.budget import background
from dashboard.wapikit.types import Conversation, ConversationPage, Message

from . import acting, alerts, assignees, bus, reads, scan, shared, timeline
from .models import Source

logger = logging.getLogger("dashboard.conversations")

# Who else hears of every fact: routing registers here (in its AppConfig.ready), so the domain
# tells it of new conversations and messages without importing the layer above.
Listener = Callable[[Conversation, str], None]
_listeners: list[Listener] = []


def register_listener(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def known(conversation_id: str) -> Conversation | None:
    """What the dashboard last read of a conversation, without asking WapiKit: its cached
    single answer, else its entry in a cached list page or scan."""
    if (cached := shared.load(reads.conversation_key(conversation_id), Conversation)) is not None:
        return cached[1]
    pages = [found[1].conversations for key in (cache.get(reads.LISTS) or {})
             if (found := shared.load(key, ConversationPage)) is not None]
    scans = [found.conversations for found in scan.cached_scans(scan.SCANNED_STATUSES)]
    for conversations in (*pages, *scans):
        for conversation in conversations:
            if conversation.unique_id == conversation_id:
                return conversation
    return None


def is_now(conversation: Conversation, *, why: str, as_of: datetime | None = None) -> None:
    """`conversation` as WapiKit has it at `as_of` (now, unless an event says when): everything
    the dashboard keeps of it shows it so, its timeline learns it, and open browsers redraw its
    card. `why`: "action", "message", "conversation" or "assignment"."""
    reads.remember(conversation)
    scan.remember(conversation)
    bus.publish({"conversation": conversation.unique_id, "why": why})
    _remember_life(conversation, why=why, as_of=as_of or timezone.now())
    _tell_listeners(conversation, why)


def _tell_listeners(conversation: Conversation, why: str) -> None:
    """Never raises: what was learned stands whatever a listener makes of it."""
    for listener in _listeners:
        try:
            listener(conversation, why)
        except Exception:  # noqa: BLE001 - a listener's failure is logged, never the fact's
            logger.exception("a listener of conversation facts failed")


def acted(before: Conversation | None, after: Conversation) -> None:
    """The dashboard's own write: `before` as it read the conversation just before, `after` as
    it is now, so that the timeline logs what the action changed."""
    if before is not None:
        # What it was is history: the clocks and their alerts are planned from what it is now.
        _remember_life(before, why="read", as_of=timezone.now(), plan_alerts=False)
    is_now(after, why="action")


# Where each kind of fact came from: the dashboard's own write, WapiKit's event, or a read.
_SOURCES = {
    "action": Source.ACTION, "message": Source.EVENT, "conversation": Source.EVENT, "assignment": Source.READ,
    "read": Source.READ,
}


def _remember_life(conversation: Conversation, *, why: str, as_of: datetime, plan_alerts: bool = True) -> None:
    """The timeline learns it. Whatever was already done (a write WapiKit applied, a card
    redrawn) stands if the database cannot take it: the fact is logged as lost, never raised."""
    conversation_id, source = conversation.unique_id, _SOURCES[why]
    assignee = acting.assignee_id(conversation) if conversation.assignee_known else None
    try:
        with transaction.atomic():
            if why == "conversation":
                timeline.learn_new(conversation_id, at=conversation.created_at, source=source)
            if conversation.messages:
                timeline.learn_messages(conversation_id, conversation.messages, source=source)
            timeline.learn_state(
                conversation_id, as_of=as_of, source=source, status=conversation.status, assignee_id=assignee
            )
    except DatabaseError as exc:
        logger.warning("the timeline could not learn a fact of a conversation: %s", type(exc).__name__)
        return
    if plan_alerts:
        alerts.plan(conversation_id)


def messages_read(conversation_id: str, messages: list[Message]) -> int:
    """A page of the conversation's messages read from WapiKit (a background read): the
    timeline takes them in (`alerts.learn_read`, which an alert's own check read uses too). How
    many were new."""
    return alerts.learn_read(conversation_id, messages)


def message_arrived(conversation: Conversation, message: Message) -> None:
    """A new message (WapiKit's NewMessage event), with the conversation the event carried."""
    conversation = _with_message(conversation, message)
    reads.deliver_message(conversation.unique_id, message)
    reads.forget_messages(conversation.unique_id)
    is_now(conversation, why="message", as_of=message.created_at)


def conversation_started(conversation: Conversation) -> None:
    is_now(conversation, why="conversation", as_of=conversation.created_at)


def assignment_changed(conversation_id: str) -> None:
    """WapiKit's ChatAssignment names only the conversation: read it (in the background
    budget), then learn it."""
    try:
        with background():
            fresh = get_client().get_conversation(conversation_id)
            conversation = assignees.resolved_single(fresh, members=reads.members())
    except errors.WapiKitError as exc:
        logger.info("assignment event for a conversation that could not be read: %s", exc.kind)
        return
    is_now(conversation, why="assignment")


def _with_message(conversation: Conversation, message: Message) -> Conversation:
    """The event's conversation with its new message, its counts carried on from what the
    dashboard knew: the server's event carries neither the assignee nor always the counts."""
    before = known(conversation.unique_id)
    unread = conversation.number_of_unread_messages
    total = conversation.total_messages
    assignee, assignee_known = conversation.assigned_to, conversation.assigned_to is not None
    if before is not None:
        if message.inbound and not unread:
            unread = before.number_of_unread_messages + 1
        if total is None and before.total_messages is not None:
            total = before.total_messages + 1
        if not assignee_known and before.assignee_known:
            assignee, assignee_known = before.assigned_to, True
    elif message.inbound and not unread:
        unread = 1
    return msgspec.structs.replace(
        conversation,
        message_list=[message],
        number_of_unread_messages=unread,
        total_messages=total,
        assigned_to=assignee,
        assignee_known=assignee_known,
    )
