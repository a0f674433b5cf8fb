"""Routing at work, on Django's Tasks framework: once per conversation and trigger, whichever
worker runs it. Triggered by the domain's facts (`on_fact`, registered with `now` in
AppConfig.ready: a new conversation, a new message), by a sweep of the unassigned backlog every
ROUTING_SWEEP_SECONDS, and by take-back deadlines (`takeback`). Each run takes the small steps
of `engine` on the facts of `facts`, claims the conversation (`claims`), then assigns through
the domain's action service (`act`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.tasks import task
from django.utils import timezone

from dashboard.conversations import now as door
from dashboard.conversations.acting import Outcome
from dashboard.observability import metrics
from dashboard.wapikit import budget, errors, get_client
from dashboard.wapikit.types import Conversation, Member

from . import act, claims, engine, facts, reopened, rules, takeback
from .models import Claim, Rule

logger = logging.getLogger("dashboard.routing")

# Triggers, as claims and metrics name them.
NEW, MESSAGE, SWEEP, RECOVERY = "new conversation", "new message", "sweep", "recovery"
_FROM_FACT = {"conversation": NEW, "message": MESSAGE}
# A conversation's events arriving together enqueue one run (the claim would stop the others).
_QUEUED_SECONDS = 10
# Conversations one sweep routes; more are left to the next, which is planned at once.
SWEEP_BATCH = 50
_SWEEP_PLANNED = "routing:sweep-planned:v1"
_SWEEP_RAN = "routing:sweep-ran:v1"


def sweep_every() -> timedelta:
    return timedelta(seconds=settings.ROUTING_SWEEP_SECONDS)


def _enabled_rules() -> list[Rule]:
    return [rule for rule in rules.rules() if rule.enabled]


# The facts the domain tells routing of


def on_fact(conversation: Conversation, why: str) -> None:
    """Called by `now` for every fact learned: a new conversation or message routes it, a change
    made by someone else lets routing's claim go, a waiting conversation gets its take-back
    deadline planned, and one just reopened is looked at for an offline assignee (`reopened`)."""
    conversation_id = conversation.unique_id
    if why in ("action", "assignment") and conversation.assignee_known:
        _someone_else_changed(conversation, exact=why == "action")
    if not Rule.objects.filter(enabled=True).exists() or rules.paused():
        return
    trigger = _FROM_FACT.get(why)
    if trigger is not None and conversation.assigned_to is None and conversation.status == "Active":
        if cache.add(f"routing:queued:{conversation_id}", 1, timeout=_QUEUED_SECONDS):
            route_task.enqueue(conversation_id, trigger)
    takeback.plan(conversation_id)
    if conversation.status == "Active":
        reopened.watch(conversation_id)
    ensure_sweep()


def _someone_else_changed(conversation: Conversation, *, exact: bool) -> None:
    """Unassigned, or assigned to another member than routing chose: the claim is let go, so
    the conversation is routing's again only if it is unassigned (and hand-assigned work is
    left alone). Only the dashboard's own write (`exact`) is believed to say "unassigned": the
    read after WapiKit's ChatAssignment event cannot, on its server (its single answer never
    names the assignee, and a list answer read before the assignment still says nobody), and
    believing it would route the conversation a second time (make bench-routing found one)."""
    found = claims.current(conversation.unique_id)
    if found is None or found.state == Claim.State.CLAIMED:
        return
    assignee = conversation.assigned_to.unique_id if conversation.assigned_to else ""
    if assignee != found.member_id and (exact or assignee):
        claims.release(conversation.unique_id)


# One conversation


@task
def route_task(conversation_id: str, trigger: str) -> str:
    return route_conversation(conversation_id, trigger=trigger)


def route_conversation(conversation_id: str, *, trigger: str) -> str:
    """Route one conversation now, if a rule takes it and someone is eligible. What came of it,
    in a word the metrics count it by. Never raises for WapiKit's failures."""
    outcome = _route(conversation_id, trigger=trigger)
    metrics.routing_runs.labels(trigger=trigger, outcome=outcome).inc()
    return outcome


def _route(conversation_id: str, *, trigger: str) -> str:
    if rules.paused():
        return "paused"
    enabled = _enabled_rules()
    if not enabled:
        return "no rules"
    moment = timezone.now()
    try:
        members = facts.members()
        taken_over = claims.take_over(conversation_id, now=moment)
        if taken_over is not None:
            return _finish(taken_over, members=members, taking_over=True)
        if claims.current(conversation_id) is not None:
            return "claimed already"
        if facts.assignee_in_timeline(conversation_id):
            return "assigned already"
        conversations = facts.active()
        conversation = next((c for c in conversations if c.unique_id == conversation_id), None)
        if conversation is None:
            conversation = door.known(conversation_id)
        if conversation is None:
            return "not known"
        rule, choice = engine.route(enabled, conversation, members, facts.gather(conversations, now=moment))
    except errors.WapiKitError as exc:
        logger.info("routing could not read what it needs: %s", exc.kind)
        return "wapikit failed"
    if rule is None:
        return "no rule matches"
    if choice is None:
        return "nobody eligible"
    if (until := act.spend(act.ASSIGN_BUCKET)) is not None:
        route_task.using(run_after=datetime.fromtimestamp(until, tz=moment.tzinfo)).enqueue(conversation_id, trigger)
        return "waiting for the budget"
    found = claims.claim(
        conversation_id=conversation_id, trigger=trigger, rule_name=rule.name, member_id=choice.member.unique_id,
        member_name=choice.member.name, why=choice.why, now=moment,
    )
    if found is None:
        budget.give_back(get_client(), act.ASSIGN_BUCKET)
        return "claimed already"
    return _finish(found, members=members, taking_over=False)


def _finish(found: Claim, *, members: list[Member], taking_over: bool) -> str:
    """Make the claim's assignment: its member, never another. Taking over a dead worker's
    claim, WapiKit is asked first whether its call went through (then nothing is sent, and the
    audit row says so); where it cannot tell, an answer saying the conversation is theirs
    already (the server's 500 to a repeated assignment) means the call went through."""
    member = next((m for m in members if m.unique_id == found.member_id), None)
    if member is None or engine.permission_refusal(member):
        claims.failed(found)
        return "member gone"
    note = f'Routing rule "{found.rule_name}": {found.why}.'
    current, seen = None, ""
    if taking_over:
        note += f" Finishing what a worker that stopped mid-assignment began at {found.claimed_at:%H:%M:%S} UTC."
        try:
            current = act.as_wapikit_has_it(found.conversation_id, members=members)
        except errors.WapiKitError as exc:
            # Not known whether the dead worker's call went through: try again at the next sweep.
            logger.info("a dead worker's claim waits: the conversation could not be read (%s)", exc.kind)
            return "wapikit failed"
        if current is not None and current.assigned_to and current.assigned_to.unique_id == member.unique_id:
            seen = member.unique_id  # its call went through: nothing is sent, and the audit row says so
    result = act.assign(found.conversation_id, member, members=members, note=note, seen_assignee=seen, current=current)
    theirs = result.conversation is not None and result.conversation.assignee_known and (
        result.conversation.assigned_to is not None and result.conversation.assigned_to.unique_id == member.unique_id
    )
    already = theirs or (
        taking_over and result.outcome is Outcome.FAILED and getattr(result.error, "status", None) == 500
    )
    if result.ok or already:
        claims.assigned(found, now=timezone.now())
        takeback.plan(found.conversation_id)
        return "assigned"
    claims.failed(found)
    if result.outcome is Outcome.CONFLICT:
        return "changed meanwhile"
    if isinstance(result.error, errors.RateLimited):
        # WapiKit's budget (or the dashboard's reserve for people) said not now: nothing was
        # assigned; routing waits for the reset instead of trying again at every sweep.
        until = act.wait_until(result.error.reset_at)
        route_task.using(run_after=datetime.fromtimestamp(until, tz=UTC)).enqueue(found.conversation_id, found.trigger)
        return "waiting for the budget"
    return "failed"


# The sweep


def ensure_sweep() -> None:
    """A sweep is planned (one chain of them per deployment; a lost one is planned again)."""
    every = sweep_every()
    if cache.add(_SWEEP_PLANNED, 1, timeout=int(every.total_seconds() * 2) + 1):
        sweep_task.using(run_after=timezone.now() + every).enqueue()


@task
def sweep_task() -> dict[str, int]:
    return sweep()


def sweep() -> dict[str, int]:
    """The unassigned backlog, oldest first: what events missed (none arrived, a worker died,
    nobody was online then) is routed now. Then the next sweep is planned."""
    every = sweep_every()
    done: dict[str, int] = {}
    if not cache.add(_SWEEP_RAN, 1, timeout=max(1, int(every.total_seconds() / 2))):
        return done  # another chain swept just now: this one ends
    more = False
    try:
        if not rules.paused() and (enabled := _enabled_rules()):
            more = _sweep(enabled, done)
    except (errors.WapiKitError, DatabaseError) as exc:
        logger.warning("routing's sweep stopped: %s", type(exc).__name__)
    finally:
        cache.set(_SWEEP_PLANNED, 1, timeout=int(every.total_seconds() * 2) + 1)
        at = timezone.now() + (timedelta(seconds=1) if more else every)
        sweep_task.using(run_after=at).enqueue()
    return done


def _sweep(enabled: list[Rule], done: dict[str, int]) -> bool:
    """Route what the sweep finds; True when there was more than one sweep routes."""
    for conversation_id in claims.stale(now=timezone.now()):
        _count(done, route_conversation(conversation_id, trigger=RECOVERY))
    waiting = [c for c in facts.active() if engine.rule_for(enabled, c) is not None]
    waiting.sort(key=lambda c: c.created_at)
    for conversation in waiting[:SWEEP_BATCH]:
        outcome = route_conversation(conversation.unique_id, trigger=SWEEP)
        _count(done, outcome)
        if outcome == "waiting for the budget":
            return False
    return len(waiting) > SWEEP_BATCH and done.get("assigned", 0) > 0


def _count(done: dict[str, int], outcome: str) -> None:
    done[outcome] = done.get(outcome, 0) + 1
