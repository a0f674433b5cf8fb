"""Routing's writes go through the domain's own action service, as a manager's do: the audit row
(via "routing", with the rule's name and why this member), the conflict check, the one upstream
call, what the timeline learns and the push to open dashboards, and the metrics. Each counted
against routing's share of the assign route (ROUTING_ASSIGN_SHARE); when it is spent, routing
waits for the window's reset and says so."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from dashboard.conversations import assignees, now, scan, services
from dashboard.conversations.acting import ActionResult, Actor, Seen
from dashboard.conversations.models import AuditEntry
from dashboard.conversations.powers import Action, Powers
from dashboard.wapikit import budget, capabilities, get_client, share
from dashboard.wapikit.budget import background
from dashboard.wapikit.types import Conversation, Member

VIA = AuditEntry.Via.ROUTING
ASSIGN_BUCKET = "/conversation/:id/assign"
UNASSIGN_BUCKET = "/conversation/:id/unassign"
# Who acts: the dashboard itself, with the organisation's key (WapiKit's server only lets an
# Owner's key assign), under no user's name.
ROUTING = Member(unique_id="", access_level="Owner", name="Routing")
_WAITING = "routing:budget-waits-until:v1"


def waiting_until() -> float | None:
    """When routing's share of the assign route returns (Unix time), while it is spent."""
    until = cache.get(_WAITING)
    return until if until is not None and until > time.time() else None


def wait_until(reset_at: float | None) -> float:
    """Routing waits until `reset_at` (Unix time; a hold-off's length when WapiKit did not say),
    and the status page says so. When it may try again."""
    until = reset_at if reset_at is not None else time.time() + budget.DEFAULT_HOLD_SECONDS
    cache.set(_WAITING, until, timeout=max(1, int(until - time.time()) + 1))
    return until


def spend(bucket: str) -> float | None:
    """Count one routing write against its share: None when it may go, else when the share
    returns (and the status page says routing waits until then)."""
    until = share.take(get_client(), bucket, share=settings.ROUTING_ASSIGN_SHARE)
    return wait_until(until) if until is not None else None


def _actor(members: list[Member], note: str) -> Actor:
    return Actor(user=None, powers=Powers(member=ROUTING), members=members, via=VIA, note=note)


def _known(conversation_id: str) -> Conversation | None:
    """The conversation as the dashboard knows it, to act on without reading it first, where
    WapiKit's single answer cannot name the assignee (its server): that read would tell the
    conflict check only the status, and spend the conversation route's budget, which WapiKit's
    server counts in a window that every request prolongs (make bench-routing ran it dry).
    None where the read can tell: it is made."""
    if get_client().capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE) is not False:
        return None
    known = now.known(conversation_id)
    return known if known is not None and known.assignee_known else None


def as_wapikit_has_it(conversation_id: str, *, members: list[Member]) -> Conversation | None:
    """The conversation as WapiKit has it now, its assignee included, before a dead worker's claim
    is finished: its call may have gone through, and WapiKit's server answers a second one with
    500 (and a later WapiKit may keep both). Its single answer where that names the assignee;
    else the Active list read afresh (its answers name the assignee), None when that does not
    hold it."""
    client = get_client()
    with background():
        if client.capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE):
            return assignees.resolved_single(client.get_conversation(conversation_id), members=members)
        found = scan.scan_conversations("Active", fresh=True).conversations
    return next((c for c in found if c.unique_id == conversation_id and c.assignee_known), None)


def assign(
    conversation_id: str, member: Member, *, members: list[Member], note: str, seen_assignee: str = "",
    current: Conversation | None = None,
) -> ActionResult:
    """Assign, as long as the conversation is still as routing saw it (Active, with
    `seen_assignee`): if someone changed it meanwhile, nothing is sent; if it is theirs already,
    nothing is sent either. `current`: the conversation as just read, when the caller read it."""
    return services.conversation_act(
        actor=_actor(members, note), conversation_id=conversation_id, action=Action.ASSIGN, member=member,
        seen=Seen("Active", seen_assignee), current=current or _known(conversation_id),
    )


def unassign(conversation_id: str, *, members: list[Member], note: str, seen_assignee: str) -> ActionResult:
    return services.conversation_act(
        actor=_actor(members, note), conversation_id=conversation_id, action=Action.UNASSIGN,
        seen=Seen("Active", seen_assignee), current=_known(conversation_id),
    )
