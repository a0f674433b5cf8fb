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

from datetime import datetime

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from dashboard.wapikit.types import Message

from .models import ConversationLife, LifeEvent, Source

_RANK = {Source.LIST: 0, Source.READ: 1, Source.EVENT: 2, Source.ACTION: 3}
_STATUS_KINDS = {"Closed": LifeEvent.Kind.CLOSED, "Active": LifeEvent.Kind.REOPENED, "Deleted": LifeEvent.Kind.DELETED}


def learn_messages(conversation_id: str, messages: list[Message], *, source: Source) -> int:
    """Messages of the conversation (an event's, or a page read from WapiKit): logged once each;
    those the log did not hold yet are taken into the message facts. How many those were."""
    rows = [
        LifeEvent(
            key=f"{conversation_id}:message:{m.unique_id}",
            conversation_id=conversation_id,
            kind=LifeEvent.Kind.INBOUND if m.inbound else LifeEvent.Kind.OUTBOUND,
            at=m.created_at,
            message_id=m.unique_id,
            message_type=m.message_type[:40],
            source=source,
        )
        for m in messages
        if m.unique_id
    ]
    if not rows:
        return 0
    known = set(LifeEvent.objects.filter(key__in=[row.key for row in rows]).values_list("key", flat=True))
    new = [row for row in rows if row.key not in known]
    if not new:
        return 0  # nothing the facts do not already hold: one query, no write
    LifeEvent.objects.bulk_create(new, ignore_conflicts=True)
    _add_message_facts(conversation_id, new, source=source)
    return len(new)


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


def _add_message_facts(conversation_id: str, added: list[LifeEvent], *, source: Source) -> None:
    """The message facts with `added` taken in. They stay what the whole log says: latest and
    earliest are max and min, and when the team's last answer moves, the open cycle's first
    inbound message is asked of the log again."""
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
        life.last_message_at, life.last_message_inbound = at, not answered
        life.last_message_id, life.last_message_type = message_id, message_type
        life.messages_source, life.messages_learned_at = source, timezone.now()
        life.save()


def _latest(*moments: datetime | None) -> datetime | None:
    return max((m for m in moments if m is not None), default=None)


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)
