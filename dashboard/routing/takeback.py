"""Take-back: work that sits with a silent assignee comes back. Whenever the timeline learns
something of an assigned, waiting conversation (and when routing assigns one), its deadline
(`deadlines`) is planned as a timed task; run then, the conversation's newest messages are read
(an answer in WapiKit's own UI sends no event), the deadline is computed again from what the
timeline knows now (an answer since cancels it, a later message moves it), and the conversation
is returned to unassigned and, when the rule says so, given by the same rule to another member.
The managers are told: open dashboards redraw the card and show managers a notice (the live
stream names the take-back, and each page asks whether it is for its reader), the routing page
lists each take-back, and the audit log has its rows.

A conversation is taken back from the assignee routing gave it to; one a person assigned by
hand only under a rule that says so (`takes_manual`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone

from dashboard.conversations import bus, newest
from dashboard.conversations import now as door
from dashboard.conversations.models import ConversationLife
from dashboard.observability import metrics
from dashboard.wapikit import errors

from . import act, claims, deadlines, engine, facts, rules
from .models import Claim, Rule, TakeBack, TakeBackTo

logger = logging.getLogger("dashboard.routing")

# A task run this early for its deadline (clocks differ a little between processes) still acts.
_EARLY = timedelta(seconds=2)
_PLANNED_SECONDS = 2 * 86400


def _looked_again(conversation_id: str) -> bool:
    """Read the conversation's newest messages into the timeline; False when it could not be
    read (the share spent, WapiKit failing): the take-back goes on what is known."""
    try:
        messages = newest.read(conversation_id, part=newest.check_share())
    except errors.WapiKitError as exc:
        logger.info("a take-back's check read could not be made: %s", exc.kind)
        return False
    door.messages_read(conversation_id, messages)
    return True


def _life(life: ConversationLife) -> deadlines.Life:
    return deadlines.Life(
        assignee_id=life.assignee_id if life.assignee_known else "",
        assigned_since=life.assigned_since,
        waiting_since=life.first_inbound_at,
        last_inbound_at=life.last_inbound_at,
    )


def governing(conversation_id: str, life: ConversationLife) -> Rule | None:
    """The rule whose take-back applies: the one routing assigned it by, while the assignee is
    still the one it chose; else the first rule that takes back hand-assigned work too."""
    if not life.assignee_known or not life.assignee_id or life.status != "Active":
        return None
    enabled = [rule for rule in rules.rules() if rule.enabled]
    found = claims.current(conversation_id)
    if found is not None and found.state == Claim.State.ASSIGNED and found.member_id == life.assignee_id:
        return next((rule for rule in enabled if rule.name == found.rule_name), None)
    known = door.known(conversation_id)
    for rule in enabled:
        if not rule.takes_manual:
            continue
        if rule.campaign_id and (known is None or (known.campaign_id or "") != rule.campaign_id):
            continue
        if rule.tag and (known is None or rule.tag.casefold() not in engine.tag_names(known)):
            continue
        return rule
    return None


def due(conversation_id: str) -> tuple[Rule, deadlines.Deadline, ConversationLife] | None:
    life = ConversationLife.objects.filter(conversation_id=conversation_id).first()
    if life is None:
        return None
    rule = governing(conversation_id, life)
    if rule is None:
        return None
    found = deadlines.deadline(rule, _life(life))
    return (rule, found, life) if found is not None else None


def plan(conversation_id: str) -> None:
    """Enqueue the take-back at its deadline, once per deadline."""
    found = due(conversation_id)
    if found is None:
        return
    _, deadline, _ = found
    key = f"routing:take-back:{conversation_id}:{deadline.at.isoformat()}"
    if cache.add(key, 1, timeout=_PLANNED_SECONDS):
        take_back_task.using(run_after=deadline.at).enqueue(conversation_id)


@task
def take_back_task(conversation_id: str) -> str:
    return take_back(conversation_id)


def take_back(conversation_id: str, *, moment: datetime | None = None) -> str:
    """The deadline's moment: take the conversation back if it is still due."""
    moment = moment or timezone.now()
    if rules.paused():
        # Looked at again a sweep's interval later: a take-back due while paused is made once resumed.
        take_back_task.using(run_after=moment + timedelta(seconds=settings.ROUTING_SWEEP_SECONDS)).enqueue(
            conversation_id
        )
        return "paused"
    found = due(conversation_id)
    if found is None:
        return "not due"
    if found[1].at > moment + _EARLY:
        plan(conversation_id)  # a later message moved it
        return "not yet"
    # The assignee may have answered in WapiKit's own UI, which sends no event: the newest
    # messages are read first (one background read), as an alert's check does.
    if _looked_again(conversation_id) and (found := due(conversation_id)) is None:
        return "answered"
    rule, deadline, life = found
    return make(rule, life, reason=deadline.reason, deadline=deadline.at, moment=moment,
                reassign=rule.take_back_to == TakeBackTo.RULE)


def make(
    rule: Rule, life: ConversationLife, *, reason: str, deadline: datetime, moment: datetime, reassign: bool
) -> str:
    """Take the conversation back from its assignee, once for this `deadline` (across processes):
    unassigned, then, with `reassign`, given by the rule to a member who never had it. What came
    of it, in a word the metrics count it by; the managers' open dashboards are told."""
    try:
        with transaction.atomic():
            record = TakeBack.objects.create(
                conversation_id=life.conversation_id, from_member_id=life.assignee_id, rule_name=rule.name,
                reason=reason, deadline=deadline, taken_at=moment,
            )
    except IntegrityError:
        return "taken back already"
    try:
        outcome = _move(rule, record, life, reassign=reassign)
    except errors.WapiKitError as exc:
        logger.info("a take-back could not read what it needs: %s", exc.kind)
        outcome = "failed"
    metrics.take_backs.labels(to=outcome).inc()
    if outcome in ("reassigned", "unassigned"):
        bus.publish({"take_back": record.pk})
    return outcome


def _move(rule: Rule, record: TakeBack, life: ConversationLife, *, reassign: bool) -> str:
    members = facts.members()
    by_id = {m.unique_id: m for m in members}
    record.from_member_name = by_id[life.assignee_id].name if life.assignee_id in by_id else ""
    note = f'Routing rule "{rule.name}" took it back from {record.from_member_name or "its assignee"}: {record.reason}.'
    choice = None
    if reassign:
        known = facts.gather(facts.active(), now=timezone.now())
        # Never a member who had it before: WapiKit's server answers 500 to a repeated assignment.
        had = claims.members_who_had(record.conversation_id) | {life.assignee_id}
        others = [m for m in members if m.unique_id not in had]
        candidates, _ = engine.eligible(rule, others, known)
        choice = engine.choose(rule, candidates, known)
    claims.release(record.conversation_id)
    found = None
    if choice is not None:
        found = claims.claim(
            conversation_id=record.conversation_id, trigger="take-back", rule_name=rule.name,
            member_id=choice.member.unique_id, member_name=choice.member.name, why=choice.why, now=timezone.now(),
        )
    # Unassigned first, always: WapiKit's server keeps an active assignment beside a new one
    # (REAL-SERVER.md), so a reassignment is an unassignment and then an assignment.
    result = act.unassign(record.conversation_id, members=members, note=note, seen_assignee=life.assignee_id)
    TakeBack.objects.filter(pk=record.pk).update(from_member_name=record.from_member_name)
    if not result.ok:
        if found is not None:
            claims.failed(found)
        return "failed"
    if found is not None:
        result = act.assign(record.conversation_id, choice.member, members=members, note=f"{note} {choice.why}.")
        if result.ok:
            claims.assigned(found, now=timezone.now())
            record.to_member_name = choice.member.name
            TakeBack.objects.filter(pk=record.pk).update(to_member_name=record.to_member_name)
            plan(record.conversation_id)
            return "reassigned"
        claims.failed(found)
    return "unassigned"


def recent(limit: int = 20) -> list[TakeBack]:
    return list(TakeBack.objects.all()[:limit])


def for_reader(take_back_id: int, *, manages: bool) -> TakeBack | None:
    """The take-back, for a reader who may assign (the managers are told of each): else None."""
    return TakeBack.objects.filter(pk=take_back_id).first() if manages else None
