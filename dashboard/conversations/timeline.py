"""The timeline: every conversation's life as the dashboard learned it, kept in its own database
so that nothing is forgotten when a cache entry expires or the dashboard restarts.

Two tables. `LifeEvent` logs what happened (new, inbound, outbound, assigned, unassigned,
closed, reopened, deleted), each once, whoever told the dashboard first. `ConversationLife`
holds the facts a manager's clocks need, each with where it came from and when it was learned:

- the message facts (first inbound of the open cycle, last inbound, last outbound, the last
  message) are derived from the log, so facts learned in any order, or twice, end the same;
- status and assignee are the latest observed by when they were true (`as_of`): a late or
  replayed observation never overwrites a newer one. Ties go to the stronger source (the
  dashboard's own action, then WapiKit's event, a read, a list)."""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec
from django.db import DatabaseError, transaction
from django.db.models import Min
from django.utils import timezone

from dashboard.wapikit.types import Message

from .models import Alert, ConversationLife, LifeEvent, Source

logger = logging.getLogger("dashboard.conversations")

_RANK = {Source.LIST: 0, Source.READ: 1, Source.EVENT: 2, Source.ACTION: 3}
_STATUS_KINDS = {"Closed": LifeEvent.Kind.CLOSED, "Active": LifeEvent.Kind.REOPENED, "Deleted": LifeEvent.Kind.DELETED}


def learn_messages(conversation_id: str, messages: list[Message], *, source: Source) -> int:
    """Messages of the conversation (an event's, or a page read from WapiKit): logged once each;
    those the log did not hold yet are taken into the message facts. How many those were."""
    return learn_listed({conversation_id: messages}, source=source)


def learn_answered(messages_of: dict[str, list[Message]], *, source: Source) -> None:
    """What WapiKit's answers carried (list pages, a thread's page of messages), taken in on the
    way: a read never fails for the timeline's sake, a loss is logged."""
    messages_of = {cid: messages for cid, messages in messages_of.items() if messages}
    if not messages_of:
        return
    try:
        # Looked up before the transaction: on SQLite every transaction takes the write lock at
        # once, and an inbox page whose messages the log holds already must not queue for it.
        if not _unlogged(messages_of, source=source):
            return
        with transaction.atomic():
            learn_listed(messages_of, source=source)
    except DatabaseError as exc:
        logger.warning("the timeline could not learn what an answer carried: %s", type(exc).__name__)


def learn_listed(messages_of: dict[str, list[Message]], *, source: Source) -> int:
    """Messages of many conversations at once (a list answer that carries them): one query when
    the log holds them all already, else the facts of those with something new. How many
    messages were new."""
    new = _unlogged(messages_of, source=source)
    if not new:
        return 0  # nothing the facts do not already hold: one query, no write
    LifeEvent.objects.bulk_create([row for row, _ in new], ignore_conflicts=True)
    by_conversation: dict[str, list[tuple[LifeEvent, Message]]] = {}
    for row, message in new:
        by_conversation.setdefault(row.conversation_id, []).append((row, message))
    for conversation_id, added in by_conversation.items():
        _add_message_facts(conversation_id, added, source=source)
    return len(new)


def _unlogged(messages_of: dict[str, list[Message]], *, source: Source) -> list[tuple[LifeEvent, Message]]:
    """The log rows, with their messages, that the log does not hold yet: one query."""
    rows = {
        row.key: (row, message)
        for conversation_id, messages in messages_of.items()
        for message in messages
        if message.unique_id
        for row in [_message_row(conversation_id, message, source=source)]
    }
    if not rows:
        return []
    known = set(LifeEvent.objects.filter(key__in=list(rows)).values_list("key", flat=True))
    return [pair for key, pair in rows.items() if key not in known]


def _message_row(conversation_id: str, message: Message, *, source: Source) -> LifeEvent:
    return LifeEvent(
        key=f"{conversation_id}:message:{message.unique_id}",
        conversation_id=conversation_id,
        kind=LifeEvent.Kind.INBOUND if message.inbound else LifeEvent.Kind.OUTBOUND,
        at=message.created_at,
        message_id=message.unique_id,
        message_type=message.message_type[:40],
        source=source,
    )


def learn_new(conversation_id: str, *, at: datetime, source: Source) -> None:
    _log(conversation_id, LifeEvent.Kind.NEW, at=at, source=source, detail="")


def learn_state(
    conversation_id: str, *, as_of: datetime, source: Source, status: str = "", assignee_id: str | None = None
) -> None:
    """The status and who is assigned ("" for nobody; None when not known), as observed at
    `as_of`, in one transaction; each change from what was known before is logged."""
    changes = []
    with transaction.atomic():
        life = _life_for_update(conversation_id)
        if status and _newer(as_of, source, status, life.status_as_of, life.status_source, life.status):
            if life.status and life.status != status and status in _STATUS_KINDS:
                changes.append((_STATUS_KINDS[status], status, ""))
            life.status, life.status_as_of, life.status_source = status, as_of, source
        # Never known before: no `assignee_as_of`, so any observation is newer.
        if assignee_id is not None and _newer(
            as_of, source, assignee_id, life.assignee_as_of, life.assignee_source, life.assignee_id
        ):
            if not life.assignee_known or life.assignee_id != assignee_id:
                kind = LifeEvent.Kind.ASSIGNED if assignee_id else LifeEvent.Kind.UNASSIGNED
                changes.append((kind, assignee_id, assignee_id))
                life.assigned_since = as_of if assignee_id else None
            life.assignee_id, life.assignee_known = assignee_id, True
            life.assignee_as_of, life.assignee_source = as_of, source
        life.save()
        for kind, detail, member_id in changes:
            _log(conversation_id, kind, at=as_of, source=source, detail=detail, member_id=member_id)


def expire(*, before: datetime) -> int:
    """Retention: the log's entries for what happened before `before` are deleted, and the
    alerts raised before it; each conversation's facts stay. How many log entries went."""
    Alert.objects.filter(raised_at__lt=before).delete()
    return LifeEvent.objects.expire(before=before)


def life_of(conversation_id: str) -> ConversationLife | None:
    return ConversationLife.objects.filter(conversation_id=conversation_id).first()


def _newer(as_of, source, value, known_as_of, known_source, known_value) -> bool:
    """Whether an observation replaces the known one: later, or as late from a stronger source
    (or, between equals, the greater value, so that the order of arrival never decides)."""
    if known_as_of is None:
        return True
    ours = (as_of, _RANK[Source(source)], value)
    theirs = (known_as_of, _RANK[Source(known_source)] if known_source else -1, known_value)
    return ours > theirs


def _life_for_update(conversation_id: str) -> ConversationLife:
    """The conversation's facts, locked until the transaction ends; created when first learned."""
    found = ConversationLife.objects.select_for_update().filter(conversation_id=conversation_id).first()
    if found is not None:
        return found
    ConversationLife.objects.bulk_create([ConversationLife(conversation_id=conversation_id)], ignore_conflicts=True)
    return ConversationLife.objects.select_for_update().get(conversation_id=conversation_id)


def _log(conversation_id: str, kind: str, *, at: datetime, source: Source, detail: str, member_id: str = "") -> None:
    key = f"{conversation_id}:{kind}:{at.isoformat()}:{detail}"[:200]
    LifeEvent.objects.bulk_create(
        [LifeEvent(key=key, conversation_id=conversation_id, kind=kind, at=at, member_id=member_id, source=source)],
        ignore_conflicts=True,
    )


def _add_message_facts(conversation_id: str, pairs: list[tuple[LifeEvent, Message]], *, source: Source) -> None:
    """The message facts with the new log rows (and their messages) taken in. They stay what the whole log says: latest and
    earliest are max and min, and when the team's last answer moves, the open cycle's first
    inbound message is asked of the log again."""
    added = [row for row, _ in pairs]
    inbound = [row.at for row in added if row.kind == LifeEvent.Kind.INBOUND]
    outbound = [row.at for row in added if row.kind == LifeEvent.Kind.OUTBOUND]
    with transaction.atomic():
        life = _life_for_update(conversation_id)
        last_outbound = _latest(life.last_outbound_at, *outbound)
        if last_outbound != life.last_outbound_at:
            waiting = LifeEvent.objects.filter(
                conversation_id=conversation_id, kind=LifeEvent.Kind.INBOUND, at__gt=last_outbound
            )
            life.first_inbound_at = waiting.aggregate(first=Min("at"))["first"]
        else:
            after = [at for at in inbound if last_outbound is None or at > last_outbound]
            life.first_inbound_at = _earliest(life.first_inbound_at, *after)
        life.last_inbound_at = _latest(life.last_inbound_at, *inbound)
        life.last_outbound_at = last_outbound
        # The last message: the latest; at the same instant, an answer counts as the last word.
        candidates = [(row.at, row.kind == LifeEvent.Kind.OUTBOUND, row.message_id, row.message_type) for row in added]
        if life.last_message_at is not None:
            known = (life.last_message_at, not life.last_message_inbound, life.last_message_id, life.last_message_type)
            candidates.append(known)
        at, answered, message_id, message_type = max(candidates)
        if message_id != life.last_message_id:
            body = next((m for row, m in pairs if row.message_id == message_id), None)
            life.last_message_body = msgspec.json.encode(body).decode() if body is not None else ""
        life.last_message_at, life.last_message_inbound = at, not answered
        life.last_message_id, life.last_message_type = message_id, message_type
        life.messages_source, life.messages_learned_at = source, timezone.now()
        life.save()


def _latest(*moments: datetime | None) -> datetime | None:
    return max((m for m in moments if m is not None), default=None)


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)
