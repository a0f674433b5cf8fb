"""Alerts before a breach: when a waiting conversation's response clock turns "due soon", and
when the contact's 24-hour reply window starts closing, the assignee's open dashboards (the
managers', for a conversation nobody has) are told, once.

Timed work on Django's Tasks framework, not polling: whenever the timeline learns that someone
is waiting (`plan`, called by `now`), a task is enqueued for the moment the clock turns. Run
then (`raise_due`), it looks again, in the timeline and then in WapiKit (the newest messages, one
background read: a reply made in WapiKit's own UI sends no event): still waiting in the same cycle
and not yet breached, it raises the alert, once (the database keeps one per conversation, kind
and waiting cycle); the targets moved the moment later, it waits for the new one; answered or
closed, it does nothing. When the background share leaves no read for that look, the alert is
raised on what the timeline knows, on time: a warning for a customer just answered costs the
team less than a late one.
A conversation found already breached gets no alert: its card and the Overdue view say so."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from dashboard.wapikit import errors
from dashboard.wapikit.types import Message

from . import bus, clocks, newest, reading, targets, timeline
from .models import Alert, ConversationLife, Source

logger = logging.getLogger("dashboard.conversations.alerts")

_ENDED = ("Closed", "Deleted")
# How long "this cycle's alert is planned" is remembered, so that every message of a waiting
# cycle does not enqueue another task (a repeat is harmless: the alert is raised once).
_PLANNED_SECONDS = 86400
# A read this long after a message was stamped surely saw it: WapiKit stamps whole seconds, and
# its clock is not the dashboard's.
_STAMP_SLACK = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Due:
    """One clock an alert watches: its cycle, when it turns, when it runs out."""

    kind: str
    cycle_at: datetime
    warn_at: datetime
    due_at: datetime


def watched(life: ConversationLife, team: clocks.Targets, now: datetime) -> list[Due]:
    """The clocks of a waiting conversation an alert may still be raised for."""
    if life.first_inbound_at is None or life.status in _ENDED:
        return []
    clock = clocks.clock_for(life, team, now)
    found = []
    if clock.waiting_since is not None and clock.due_at is not None and now < clock.due_at:
        found.append(Due(Alert.Kind.RESPONSE, clock.waiting_since, clock.warn_at, clock.due_at))
    window = clock.window
    if life.last_inbound_at is not None and window.ends_at is not None and now < window.ends_at:
        found.append(Due(Alert.Kind.WINDOW, life.last_inbound_at, window.warn_at, window.ends_at))
    return found


def plan(conversation_id: str) -> None:
    """Enqueue the alerts the conversation's clocks call for, each once per cycle. Never raises:
    a lost plan only means no alert for this cycle (logged)."""
    try:
        life = ConversationLife.objects.filter(conversation_id=conversation_id).first()
        if life is None:
            return
        team, moment = targets.current(), timezone.now()
        for due in watched(life, team, moment):
            key = f"alerts:planned:{conversation_id}:{due.kind}:{due.cycle_at.isoformat()}"
            if cache.add(key, 1, timeout=_PLANNED_SECONDS):
                raise_due.using(run_after=due.warn_at).enqueue(conversation_id, due.kind)
        if (look_at := _unwatched_from(life, team, moment)) is not None:
            # One look a conversation at a time: the earliest message it is for covers the later.
            if _pending(conversation_id, until=look_at, moment=moment, add=True):
                recheck.using(run_after=look_at).enqueue(conversation_id)
    except DatabaseError as exc:
        logger.warning("alerts for a conversation could not be planned: %s", type(exc).__name__)


@task
def raise_due(conversation_id: str, kind: str) -> None:
    """The moment a clock was planned to turn: raise its alert if it still applies. The team may
    have answered in WapiKit's own UI, which sends no event: the conversation's newest messages
    are read first (one background read), so no alert is raised for a customer already answered
    and a wait that began since is planned for its own moment."""
    moment = timezone.now()
    due = _still_due_now(conversation_id, kind, moment)
    if due is None:
        return
    if _alerted_in(conversation_id, kind, due, moment):
        return
    try:
        if not reading.read_since(conversation_id, moment - (due.due_at - due.warn_at) / 10):
            _look_again(conversation_id, part=newest.check_share())
    except errors.RateLimited:
        # Waiting for the share would only shorten the warning the team gets.
        logger.info("an alert is raised on what is known: the background share leaves no read to check it")
    except errors.WapiKitError as exc:
        # A missed alert costs more than one the team did not need.
        logger.info("an alert is raised on what is known: its check read failed (%s)", exc.kind)
    else:
        if (due := _still_due_now(conversation_id, kind, moment)) is None:
            return
    life = ConversationLife.objects.get(conversation_id=conversation_id)
    member_id = life.assignee_id if life.assignee_known else ""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                conversation_id=conversation_id, kind=kind, cycle_at=due.cycle_at, due_at=due.due_at,
                raised_at=moment, member_id=member_id,
            )
    except IntegrityError:
        return  # raised already, by another run of this task
    bus.publish({"alert": alert.pk})


@task
def recheck(conversation_id: str) -> None:
    """A customer wrote again while the dashboard believed them still waiting from a wait it no
    longer watches (alerted, or breached): the team may have answered in between, in WapiKit's
    own UI, and this message begun a new wait. Any read made after the message tells: the newest
    messages are read halfway to the moment such a wait would turn due soon, which leaves the
    other half for a read the share refuses now; a new wait they reveal is planned (and, due soon
    already, alerted now)."""
    moment, warning = timezone.now(), timedelta(minutes=targets.current().due_soon)
    life = ConversationLife.objects.filter(conversation_id=conversation_id).first()
    if life is None or life.last_inbound_at is None:
        return
    if reading.read_since(conversation_id, life.last_inbound_at + _STAMP_SLACK):
        return  # read since the message: what it found is planned already
    try:
        _look_again(conversation_id, part=newest.recheck_share())
    except errors.RateLimited as exc:
        # The share is spent: look when it returns, however late (the new wait is still to find),
        # and this look stays the conversation's one until then.
        returns = datetime.fromtimestamp(exc.reset_at, UTC) if exc.reset_at else moment + warning
        returns = max(returns, moment + warning / 10)
        _pending(conversation_id, until=returns, moment=moment, add=False)
        recheck.using(run_after=returns).enqueue(conversation_id)
    except errors.WapiKitError as exc:
        logger.info("a conversation could not be read again for a wait begun unseen: %s", exc.kind)
    else:
        # The new wait it found turns due soon now: alerted in this run, not the worker's next.
        if _due_soon(conversation_id, timezone.now()):
            raise_due.call(conversation_id, Alert.Kind.RESPONSE)


def _alerted_in(conversation_id: str, kind: str, due: Due, moment: datetime) -> bool:
    """Whether this wait was alerted already. Either an alert still runs (an earlier message of
    the same wait, learned late, moved the cycle's start: no new wait), or one was raised since
    the wait began, for a wait the dashboard then believed still open (a reply made in WapiKit's
    own UI, read only later, had ended it): the team was told of this customer's wait then."""
    return Alert.objects.filter(
        Q(due_at__gt=moment) | Q(raised_at__gte=due.cycle_at), conversation_id=conversation_id, kind=kind
    ).exists()


def _pending(conversation_id: str, *, until: datetime, moment: datetime, add: bool) -> bool:
    """Mark the conversation's look for a wait begun unseen as planned until `until`: one at a
    time, however many messages or refusals ask for it. With `add`, only if none is: whether
    this call marked it."""
    key, seconds = f"alerts:recheck:{conversation_id}", max((until - moment).total_seconds(), 0) + 1
    if add:
        return cache.add(key, 1, timeout=seconds)
    cache.set(key, 1, timeout=seconds)
    return True


def _due_soon(conversation_id: str, moment: datetime) -> bool:
    life = ConversationLife.objects.filter(conversation_id=conversation_id).first()
    watching = watched(life, targets.current(), moment) if life is not None else []
    return any(due.kind == Alert.Kind.RESPONSE and due.warn_at <= moment for due in watching)


def _unwatched_from(life: ConversationLife, team: clocks.Targets, now: datetime) -> datetime | None:
    """When to look for a wait begun by the customer's last message (halfway to the moment it
    would turn due soon), if the dashboard believes them waiting since earlier and no longer
    watches that wait (its alert raised, or its clock breached): else None."""
    if life.first_inbound_at is None or life.status in _ENDED or life.last_inbound_at is None:
        return None
    if life.last_inbound_at <= life.first_inbound_at:
        return None
    clock = clocks.clock_for(life, team, now)
    watching = clock.due_at is not None and now < clock.due_at and not Alert.objects.filter(
        conversation_id=life.conversation_id, kind=Alert.Kind.RESPONSE, cycle_at=life.first_inbound_at
    ).exists()
    if watching:
        return None
    turns = team.deadline(life.last_inbound_at, max(team.next_response - team.due_soon, 0))
    return life.last_inbound_at + (turns - life.last_inbound_at) / 2


def learn_read(conversation_id: str, messages: list[Message]) -> int:
    """A page of the conversation's messages read from WapiKit: the timeline takes in those it did
    not hold, open pages redraw the card when there were any, and a wait they reveal is planned.
    How many were new; none when the database could not take them (logged, never raised)."""
    try:
        with transaction.atomic():
            learned = timeline.learn_messages(conversation_id, messages, source=Source.READ)
    except DatabaseError as exc:
        logger.warning("the timeline could not learn a read of a conversation: %s", type(exc).__name__)
        return 0
    if learned:
        bus.publish({"conversation": conversation_id, "why": "read"})
        plan(conversation_id)
    return learned


def _still_due_now(conversation_id: str, kind: str, moment: datetime) -> Due | None:
    """The clock's alert if it is to be raised now; None when answered, closed or already
    breached, and when it turns later (the targets moved since it was planned: it is planned
    again for its new moment)."""
    life = ConversationLife.objects.filter(conversation_id=conversation_id).first()
    if life is None:
        return None
    due = next((d for d in watched(life, targets.current(), moment) if d.kind == kind), None)
    if due is not None and moment < due.warn_at:
        raise_due.using(run_after=due.warn_at).enqueue(conversation_id, kind)
        return None
    return due


def _look_again(conversation_id: str, *, part: float) -> None:
    """Read the conversation's newest messages within `part` of the share and learn them (raising
    the client's errors): its next routine re-read moves on as if a run had read it."""
    messages = newest.read(conversation_id, part=part, or_whole=True)
    learned = learn_read(conversation_id, messages)
    reading.read_elsewhere(conversation_id, learned=learned, now=timezone.now())


def for_reader(alert_id: int, *, member_id: str, manages: bool) -> Alert | None:
    """The alert, if it is for this reader: their own conversation's, or any unassigned one's
    for a member who may assign."""
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None or not _addressed_to(alert, member_id=member_id, manages=manages):
        return None
    return alert


def open_for(*, member_id: str, manages: bool, now: datetime | None = None) -> list[Alert]:
    """The reader's alerts whose clocks have not run out and whose contact still waits in the
    same cycle, the soonest first: what an inbox opened after they were raised shows."""
    moment = now or timezone.now()
    members = [member_id, ""] if manages else [member_id]
    raised = list(Alert.objects.filter(member_id__in=members, due_at__gt=moment).order_by("due_at")[:50])
    lives = ConversationLife.objects.filter(conversation_id__in={a.conversation_id for a in raised})
    waiting = {life.conversation_id: life for life in lives if life.first_inbound_at and life.status not in _ENDED}
    running = [alert for alert in raised if _still_due(alert, waiting.get(alert.conversation_id))]
    return sorted(running, key=lambda alert: alert.due_at)


def _still_due(alert: Alert, life: ConversationLife | None) -> bool:
    if life is None:
        return False
    if alert.kind == Alert.Kind.RESPONSE:
        return life.first_inbound_at == alert.cycle_at
    return life.last_inbound_at == alert.cycle_at


def _addressed_to(alert: Alert, *, member_id: str, manages: bool) -> bool:
    return alert.member_id == member_id if alert.member_id else manages
