"""The routing engine's steps, pure: which rule takes a conversation, who is eligible (the
permission, presence with its grace, capacity), who is chosen (balanced or round robin), what a
backlog would become (the preview), and when a silent assignee's conversation is taken back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dashboard.routing import deadlines, engine
from dashboard.routing.engine import Facts, Visit
from dashboard.routing.models import Method, Presence, Rule, TakeBackTo
from dashboard.wapikit.types import Contact, Conversation, Member, Role, Tag

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
AGENT = Role(unique_id="r1", name="Support agent", permission_list=["Get:Conversation"])
REPORTING = Role(unique_id="r2", name="Reporting", permission_list=["Get:PrimaryAnalytics"])


def member(name: str, *roles: Role, uid: str | None = None) -> Member:
    return Member(unique_id=uid or f"m-{name.lower()}", access_level="Member", name=name, role_list=list(roles))


PRIYA, JONAS, MEI, FATIMA = (member(n, AGENT) for n in ("Priya", "Jonas", "Mei", "Fatima"))
TOMAS = member("Tomas", REPORTING)
TEAM = [PRIYA, JONAS, MEI, FATIMA, TOMAS]


def rule(**fields) -> Rule:
    defaults = {"name": "Support", "roles": ["Support agent"], "presence": Presence.ANYONE, "capacity": 10}
    return Rule(**{**defaults, **fields})


def conversation(n: int = 0, *, assigned: Member | None = None, status="Active", campaign=None, tags=()) -> Conversation:
    return Conversation(
        unique_id=f"c-{n:04d}", contact=Contact(unique_id=f"k-{n}"), created_at=NOW - timedelta(minutes=100 - n),
        status=status, assigned_to=assigned, campaign_id=campaign, tag_list=[Tag(label=t) for t in tags],
    )


def online(*members: Member, minutes_ago: float = 0, left_ago: float | None = None) -> dict[str, Visit]:
    left = NOW - timedelta(minutes=left_ago) if left_ago is not None else None
    return {m.unique_id: Visit(NOW - timedelta(minutes=minutes_ago), left) for m in members}


# Which conversations


def test_a_rule_takes_only_active_unassigned_conversations_of_its_campaign_and_tag():
    vip = rule(campaign_id="camp-1", tag="VIP")
    assert engine.matches(vip, conversation(campaign="camp-1", tags=["vip"]))
    assert not engine.matches(vip, conversation(campaign="camp-2", tags=["VIP"]))
    assert not engine.matches(vip, conversation(campaign="camp-1"))
    assert not engine.matches(rule(), conversation(assigned=PRIYA))
    assert not engine.matches(rule(), conversation(status="Closed"))
    assert not engine.matches(rule(enabled=False), conversation())


def test_a_conversation_whose_assignee_is_not_known_is_never_taken_as_unassigned():
    unknown = Conversation(unique_id="c", contact=Contact(unique_id="k"), created_at=NOW, status="Active",
                           assignee_known=False)
    assert not engine.matches(rule(), unknown)


def test_the_first_matching_rule_in_order_routes():
    vip, everyone = rule(name="VIP", tag="vip"), rule(name="Everyone")
    assert engine.rule_for([vip, everyone], conversation(tags=["VIP"])) is vip
    assert engine.rule_for([vip, everyone], conversation()) is everyone


# Who is eligible


def test_a_member_whose_roles_do_not_allow_viewing_is_refused_with_the_reason():
    named = rule(roles=[], member_ids=[TOMAS.unique_id, PRIYA.unique_id])
    chosen, refused = engine.eligible(named, TEAM, Facts(now=NOW))
    assert chosen == [PRIYA]
    assert [r.member for r in refused] == [TOMAS]
    assert "do not allow Get:Conversation" in refused[0].reason


def test_members_are_chosen_by_role_or_by_name():
    by_name = rule(roles=["Reporting"], member_ids=[MEI.unique_id])
    assert [m.name for m in engine.members_of(by_name, TEAM)] == ["Mei", "Tomas"]


def test_online_only_passes_over_members_without_the_dashboard_open_recently():
    only_online = rule(presence=Presence.ONLINE, online_minutes=5)
    visits = {**online(PRIYA, minutes_ago=1), **online(JONAS, minutes_ago=30)}
    chosen, refused = engine.eligible(only_online, TEAM, Facts(now=NOW, visits=visits))
    assert chosen == [PRIYA]
    reasons = {r.member.name: r.reason for r in refused}
    assert reasons["Jonas"] == "offline: dashboard last open 30 min ago"
    assert reasons["Mei"] == "offline: has not opened the dashboard"


def test_a_flicker_offline_within_the_grace_period_moves_nothing():
    only_online = rule(presence=Presence.ONLINE, online_minutes=5, grace_minutes=2)
    flicker = Facts(now=NOW, visits=online(PRIYA, minutes_ago=1, left_ago=0.5))
    gone = Facts(now=NOW, visits=online(PRIYA, minutes_ago=4, left_ago=3))
    assert engine.presence_refusal(only_online, PRIYA, flicker) is None
    assert engine.presence_refusal(only_online, PRIYA, gone) == "offline: closed the dashboard 3 min ago"


def test_a_member_at_capacity_is_full():
    chosen, refused = engine.eligible(rule(capacity=3), [PRIYA, JONAS], Facts(now=NOW, open={PRIYA.unique_id: 3}))
    assert chosen == [JONAS]
    assert refused[0].reason == "full: 3 open of 3"


# Who is chosen


def test_balanced_gives_it_to_the_member_with_fewest_open_then_longest_since_last_assignment():
    facts = Facts(
        now=NOW,
        open={PRIYA.unique_id: 2, JONAS.unique_id: 1, MEI.unique_id: 1},
        last_assigned={JONAS.unique_id: NOW - timedelta(minutes=5), MEI.unique_id: NOW - timedelta(minutes=50)},
    )
    choice = engine.choose(rule(), [PRIYA, JONAS, MEI], facts)
    assert choice.member == MEI
    assert choice.why == "balanced: fewest open (1 of 10), last assigned 50 min ago"
    fatima_new = engine.choose(rule(), [PRIYA, JONAS, MEI, FATIMA], facts)
    assert fatima_new.member == FATIMA and "not assigned before" in fatima_new.why


def test_round_robin_takes_turns_whatever_the_load():
    turns = rule(method=Method.ROUND_ROBIN)
    facts = Facts(now=NOW, open={PRIYA.unique_id: 9})
    seen = []
    for _ in range(5):
        choice = engine.choose(turns, [PRIYA, JONAS, MEI], facts)
        seen.append(choice.member.name)
        facts = facts.after_assigning(turns, choice.member)
    assert seen == ["Jonas", "Mei", "Priya", "Jonas", "Mei"]


def test_nobody_eligible_means_no_choice():
    assert engine.choose(rule(), [], Facts(now=NOW)) is None


# The preview


def test_the_preview_says_what_the_backlog_would_become_without_acting():
    backlog = [conversation(n) for n in range(37)] + [conversation(99, assigned=PRIYA)]
    facts = Facts(now=NOW, open={FATIMA.unique_id: 0, PRIYA.unique_id: 1, JONAS.unique_id: 1, MEI.unique_id: 1})
    found = engine.preview([rule(member_ids=[TOMAS.unique_id])], backlog, TEAM, facts)
    assert str(found) == "37 unassigned: Priya 9, Jonas 9, Mei 9, Fatima 10; 0 left over"
    assert [r.member.name for r in found.refusals["Support"]] == ["Tomas"]


def test_the_preview_counts_what_capacity_leaves_over_and_what_no_rule_takes():
    backlog = [conversation(n) for n in range(10)] + [conversation(50, status="Active", tags=[])]
    found = engine.preview([rule(capacity=2, tag="")], backlog, [PRIYA, JONAS], Facts(now=NOW))
    assert (found.considered, found.left_over) == (11, 7)
    assert found.given == {"Priya": 2, "Jonas": 2}
    vip_only = engine.preview([rule(tag="vip")], backlog, [PRIYA], Facts(now=NOW))
    assert str(vip_only) == "11 unassigned: nobody; 0 left over; 11 no rule takes"


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=2, max_size=8), st.integers(1, 200))
def test_balanced_never_exceeds_capacity_and_keeps_equal_members_within_one(starting, backlog_size):
    team = [member(f"M{i}", AGENT) for i in range(len(starting))]
    capacity = 30
    facts = Facts(now=NOW, open={m.unique_id: 0 for m in team})
    found = engine.preview([rule(capacity=capacity)], [conversation(n) for n in range(backlog_size)], team, facts)
    counts = [found.given.get(m.name, 0) for m in team]
    assert max(counts) <= capacity
    assert max(counts) - min(counts) <= 1 or found.left_over > 0
    assert sum(counts) + found.left_over == backlog_size


# Take-back deadlines


def life(**fields) -> deadlines.Life:
    defaults = {"assignee_id": "m-priya", "assigned_since": NOW - timedelta(minutes=20),
                "waiting_since": NOW - timedelta(minutes=30), "last_inbound_at": NOW - timedelta(minutes=10)}
    return deadlines.Life(**{**defaults, **fields})


def test_an_unanswered_conversation_is_due_back_minutes_after_it_became_the_assignees():
    found = deadlines.deadline(rule(unanswered_minutes=15), life())
    assert found.at == NOW - timedelta(minutes=5)
    assert found.reason == "not answered within 15 min"


def test_a_closing_reply_window_sets_the_deadline_when_it_comes_first():
    closing = life(last_inbound_at=NOW - timedelta(hours=23, minutes=30))
    found = deadlines.deadline(rule(unanswered_minutes=600, window_minutes=60, take_back_to=TakeBackTo.RULE), closing)
    assert found.at == NOW - timedelta(minutes=30)
    assert "reply window" in found.reason


def test_nothing_is_taken_back_once_answered_or_without_a_take_back_rule():
    assert deadlines.deadline(rule(unanswered_minutes=15), life(waiting_since=None)) is None
    assert deadlines.deadline(rule(), life()) is None
    assert deadlines.deadline(rule(unanswered_minutes=15), life(assignee_id="")) is None
