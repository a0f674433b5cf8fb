"""Reopened conversations going back to an offline assignee (Chatwoot #9587, #4158): when a
conversation is reopened (by a person, or by WapiKit as its customer writes to it again) while
its assignee has been offline past the rule's grace period, routing reassigns it by the rule,
if the rule gives conversations only to members online. One routing assigned is its own to
move; one a person assigned by hand only under a rule that takes back hand-assigned work.

Told by the timeline (`watch`, from `running.on_fact`): a reopen it has just logged enqueues one
task, which decides on what is known when it runs and moves the conversation as a take-back
does (`takeback.make`: once per reopen across processes, audited, the managers told)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.tasks import task
from django.utils import timezone

from dashboard.conversations.models import ConversationLife, LifeEvent
from dashboard.wapikit import errors

from . import engine, facts, rules, takeback
from .models import Presence

# A reopen learned later than this (a read long after it happened) is not acted on: the
# assignee may have been online at the time.
RECENT = timedelta(minutes=15)
_PLANNED_SECONDS = 2 * 86400


def reopened_at(conversation_id: str) -> datetime | None:
    """When the conversation was last reopened, if that is the last thing its status did."""
    kinds = (LifeEvent.Kind.CLOSED, LifeEvent.Kind.REOPENED)
    last = LifeEvent.objects.filter(conversation_id=conversation_id, kind__in=kinds).order_by("-at", "-id").first()
    return last.at if last is not None and last.kind == LifeEvent.Kind.REOPENED else None


def watch(conversation_id: str) -> None:
    """A fact about an Active conversation was learned: if it was just reopened while assigned
    (as the timeline knows: WapiKit's event for the customer's message does not say who is
    assigned), the decision is enqueued, once per reopen."""
    at = reopened_at(conversation_id)
    if at is None or at < timezone.now() - RECENT:
        return
    life = ConversationLife.objects.filter(conversation_id=conversation_id).first()
    if life is None or not life.assignee_known or not life.assignee_id:
        return
    if cache.add(f"routing:reopened:{conversation_id}:{at.isoformat()}", 1, timeout=_PLANNED_SECONDS):
        reopened_task.enqueue(conversation_id, at.isoformat())


@task
def reopened_task(conversation_id: str, at: str) -> str:
    return reassign_reopened(conversation_id, at=datetime.fromisoformat(at))


def reassign_reopened(conversation_id: str, *, at: datetime, moment: datetime | None = None) -> str:
    """Reassign the conversation reopened `at` if its assignee is offline past the grace period.
    What came of it, in a word."""
    moment = moment or timezone.now()
    if rules.paused():
        return "paused"
    life = ConversationLife.objects.filter(conversation_id=conversation_id).first()
    if life is None or life.status != "Active" or not life.assignee_known or not life.assignee_id:
        return "not assigned"
    if reopened_at(conversation_id) != at:
        return "closed again"
    # The rule routing assigned it by; for one assigned by hand, a rule that takes that back.
    rule = takeback.governing(conversation_id, life)
    if rule is None:
        return "not routing's"
    if rule.presence != Presence.ONLINE:
        return "presence off"
    try:
        members = facts.members()
        assignee = next((m for m in members if m.unique_id == life.assignee_id), None)
        known = facts.gather(facts.active(), now=moment)
    except errors.WapiKitError:
        return "wapikit failed"
    offline = "no longer a member" if assignee is None else engine.presence_refusal(rule, assignee, known)
    if offline is None:
        return "assignee online"
    return takeback.make(
        rule, life, reason=f"reopened while {offline}", deadline=at, moment=moment, reassign=True
    )
