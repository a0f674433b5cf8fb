"""The routing engine, as small pure steps (Chatwoot's auto_assignment is the shape): which rule a
conversation falls under, who is eligible (the permission, presence, capacity), who is chosen
(balanced or round robin), and what a whole backlog would become (the preview). Nothing here
reads the database or WapiKit: `facts` gathers what these steps are given."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dashboard.conversations.powers import VIEW
from dashboard.wapikit.types import Conversation, Member

from .models import Method, Presence, Rule

# Who has had no assignment yet comes first among equals.
_NEVER = datetime.min.replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Visit:
    """A member's last live stream: when it was last checked, and when one last ended."""

    seen_at: datetime
    left_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the steps are given: the moment, each member's open conversations and last
    assignment, who had the dashboard open, and where each round robin stopped."""

    now: datetime
    open: dict[str, int] = field(default_factory=dict)
    last_assigned: dict[str, datetime] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)  # rule name -> the member it last chose

    def after_assigning(self, rule: Rule, member: Member) -> Facts:
        """The facts once `member` was given one more conversation by `rule`."""
        member_id = member.unique_id
        return replace(
            self,
            open={**self.open, member_id: self.open.get(member_id, 0) + 1},
            last_assigned={**self.last_assigned, member_id: self.now},
            cursors={**self.cursors, rule.name: member_id},
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    member: Member
    reason: str


@dataclass(frozen=True, slots=True)
class Choice:
    member: Member
    why: str


# Which conversations


def tag_names(conversation: Conversation) -> set[str]:
    return {tag.text.casefold() for tag in conversation.tags}


def matches(rule: Rule, conversation: Conversation) -> bool:
    """Active and unassigned, of the rule's campaign and carrying its tag when it names them."""
    if not rule.enabled or conversation.status != "Active":
        return False
    if not conversation.assignee_known or conversation.assigned_to is not None:
        return False
    if rule.campaign_id and (conversation.campaign_id or "") != rule.campaign_id:
        return False
    return not rule.tag or rule.tag.casefold() in tag_names(conversation)


def rule_for(rules: Iterable[Rule], conversation: Conversation) -> Rule | None:
    """The first rule, in order, whose filter the conversation matches."""
    return next((rule for rule in rules if matches(rule, conversation)), None)


# To whom


def members_of(rule: Rule, members: Sequence[Member]) -> list[Member]:
    """The members the rule names, by role or by id, in the member list's order."""
    roles = {name.casefold() for name in rule.roles}
    ids = set(rule.member_ids)
    return [
        m for m in members
        if m.unique_id in ids or any(role.name.casefold() in roles for role in m.roles)
    ]


def permission_refusal(member: Member) -> str | None:
    """Why this member may never be given conversations, or None."""
    if not member.can(VIEW):
        return f"{member.name or 'This member'} cannot see conversations: their roles do not allow {VIEW}."
    return None


def presence_refusal(rule: Rule, member: Member, facts: Facts) -> str | None:
    """Why a rule that routes only to members online passes this one over, or None.

    Online: the dashboard was open (a stream checked) in the last `online_minutes`. A stream that
    ended is believed only after `grace_minutes`, so a reload or a flicker offline moves nothing;
    a process that died without saying so is noticed after `online_minutes`."""
    if rule.presence == Presence.ANYONE:
        return None
    visit = facts.visits.get(member.unique_id)
    if visit is None:
        return "offline: has not opened the dashboard"
    if visit.seen_at < facts.now - timedelta(minutes=rule.online_minutes):
        return f"offline: dashboard last open {_minutes(facts.now - visit.seen_at)} ago"
    if visit.left_at is not None and visit.left_at >= visit.seen_at:
        if visit.left_at < facts.now - timedelta(minutes=rule.grace_minutes):
            return f"offline: closed the dashboard {_minutes(facts.now - visit.left_at)} ago"
    return None


def capacity_refusal(rule: Rule, member: Member, facts: Facts) -> str | None:
    held = facts.open.get(member.unique_id, 0)
    if held >= rule.capacity:
        return f"full: {held} open of {rule.capacity}"
    return None


def eligible(rule: Rule, members: Sequence[Member], facts: Facts) -> tuple[list[Member], list[Refusal]]:
    """The rule's members who may be given a conversation now, and why each other is not."""
    chosen, refused = [], []
    for member in members_of(rule, members):
        reason = (
            permission_refusal(member) or presence_refusal(rule, member, facts) or capacity_refusal(rule, member, facts)
        )
        if reason is None:
            chosen.append(member)
        else:
            refused.append(Refusal(member, reason))
    return chosen, refused


# Who is chosen


def choose(rule: Rule, candidates: Sequence[Member], facts: Facts) -> Choice | None:
    if not candidates:
        return None
    if rule.method == Method.ROUND_ROBIN:
        return _next_in_turn(rule, candidates, facts)
    return _least_loaded(rule, candidates, facts)


def _least_loaded(rule: Rule, candidates: Sequence[Member], facts: Facts) -> Choice:
    """Fewest open conversations; among equals, the longest since their last assignment."""

    def load(member: Member):
        last = facts.last_assigned.get(member.unique_id)
        return facts.open.get(member.unique_id, 0), (last.replace(tzinfo=None) if last else _NEVER), member.unique_id

    member = min(candidates, key=load)
    held = facts.open.get(member.unique_id, 0)
    last = facts.last_assigned.get(member.unique_id)
    since = f"last assigned {_minutes(facts.now - last)} ago" if last else "not assigned before"
    return Choice(member, f"balanced: fewest open ({held} of {rule.capacity}), {since}")


def _next_in_turn(rule: Rule, candidates: Sequence[Member], facts: Facts) -> Choice:
    """The next member after the one this rule chose last, in a fixed order (by id)."""
    ordered = sorted(candidates, key=lambda m: m.unique_id)
    last = facts.cursors.get(rule.name, "")
    member = next((m for m in ordered if m.unique_id > last), ordered[0])
    return Choice(member, "round robin: next in turn")


def route(rules: Sequence[Rule], conversation: Conversation, members: Sequence[Member], facts: Facts):
    """(rule, choice) for one conversation: (None, None) when no rule takes it, (rule, None)
    when its rule has nobody eligible now."""
    rule = rule_for(rules, conversation)
    if rule is None:
        return None, None
    candidates, _ = eligible(rule, members, facts)
    return rule, choose(rule, candidates, facts)


# The preview


@dataclass(frozen=True, slots=True)
class Preview:
    considered: int
    given: dict[str, int]  # member name -> conversations
    left_over: int
    not_routed: int  # no rule's filter matches them
    refusals: dict[str, list[Refusal]]  # rule name -> who is passed over now, and why

    def __str__(self) -> str:
        shares = ", ".join(f"{name} {count}" for name, count in self.given.items()) or "nobody"
        text = f"{self.considered} unassigned: {shares}; {self.left_over} left over"
        if self.not_routed:
            text += f"; {self.not_routed} no rule takes"
        return text


def preview(
    rules: Sequence[Rule], conversations: Sequence[Conversation], members: Sequence[Member], facts: Facts
) -> Preview:
    """What routing would do now with these conversations, without doing it: each is routed in
    turn, the facts moving on as if it had been (oldest first, as the sweep goes)."""
    unassigned = [c for c in conversations if c.status == "Active" and c.assignee_known and c.assigned_to is None]
    refusals = {rule.name: eligible(rule, members, facts)[1] for rule in rules if rule.enabled}
    given: dict[str, int] = {}
    left_over = not_routed = 0
    for conversation in sorted(unassigned, key=lambda c: c.created_at):
        rule, choice = route(rules, conversation, members, facts)
        if rule is None:
            not_routed += 1
        elif choice is None:
            left_over += 1
        else:
            given[choice.member.name] = given.get(choice.member.name, 0) + 1
            facts = facts.after_assigning(rule, choice.member)
    in_team_order = {m.name: given[m.name] for m in members if m.name in given}
    return Preview(len(unassigned), in_team_order, left_over, not_routed, refusals)


def _minutes(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"
