"""Routing against the sandbox, answering as WapiKit is documented and as its server code does:
each rule option, the pause switch, the preview, the audit rows, take-back, a worker that died
mid-assignment, and never two assignments for one trigger."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
import requests
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dashboard.conversations import now, services
from dashboard.conversations.acting import Actor
from dashboard.conversations.members import powers_for
from dashboard.conversations.models import AuditEntry, ConversationLife
from dashboard.conversations.powers import Action
from dashboard.routing import facts, presence, running, takeback
from dashboard.routing.models import Claim, Method, Presence, Rule, Switch, TakeBack, TakeBackTo
from dashboard.routing.rules import RuleForm
from dashboard.wapikit import get_client
from dashboard.wapikit.types import Message
from tests.conftest import MEMBER_EMAILS
from tests.integration.conftest import conversations_with, member_ids, true_state

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AGENTS = ("agent@example.com", "mei.chen@example.com", "fatima.elamrani@example.com")


@pytest.fixture(params=["spec", "server"])
def upstream(request, settings):
    """The sandbox of each profile, seeded afresh after the test (routing changes assignees)."""
    running = request.getfixturevalue("wapikit" if request.param == "spec" else "server_wapikit")
    yield running
    running.control(reset=True)
    running.reseed()


def rule(**fields) -> Rule:
    """A rule for the Support agents, or for the members it names."""
    roles = [] if fields.get("member_ids") else ["Support agent"]
    defaults = {"name": "Support", "roles": roles, "presence": Presence.ANYONE, "capacity": 100}
    return Rule.objects.create(**{**defaults, **fields})


def never_had(sandbox, member_id: str, count: int = 1) -> list[str]:
    """Unassigned Active conversations this member never had (the server refuses a member twice)."""
    found = []
    for conversation in conversations_with(sandbox, "Active"):
        if conversation.get("assignedTo"):
            continue
        if member_id not in true_state(sandbox, conversation["uniqueId"])["ever_assigned"]:
            found.append(conversation["uniqueId"])
            if len(found) == count:
                return found
    pytest.fail("not enough unassigned conversations this member never had")


def assign_calls(calls) -> list:
    return [c for c in calls if c.method == "POST" and c.path.endswith("/assign")] + [
        c for c in calls if c.method == "GET" and c.path.endswith("/assign")
    ]


def test_a_new_conversation_is_assigned_once_audited_via_routing_with_its_rule_and_why(upstream, upstream_calls):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei])
    cid = never_had(upstream, mei)[0]

    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    assert running.route_conversation(cid, trigger=running.MESSAGE) == "claimed already"

    assert true_state(upstream, cid)["assignee"] == mei
    assert true_state(upstream, cid)["ever_assigned"].count(mei) == 1
    assert len(assign_calls(upstream_calls)) == 1
    if upstream.profile == "server":
        # Its single answer cannot name the assignee: routing acts on what the scan told it,
        # and spends none of the conversation route's budget on a read that cannot check it.
        assert not [c for c in upstream_calls if c.method == "GET" and c.path == f"/conversation/{cid}"]
    entry = AuditEntry.objects.get(conversation_id=cid)
    assert (entry.via, entry.action, entry.outcome) == ("routing", "assign", "succeeded")
    assert entry.after_assignee_name == "Mei Chen"
    assert entry.detail.startswith('Routing rule "Support": balanced: fewest open')
    # The timeline and the shared reads know it, as after a manager's action.
    assert ConversationLife.objects.get(conversation_id=cid).assignee_id == mei


def test_the_pause_switch_stops_all_routing(upstream, upstream_calls):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei])
    Switch.objects.create(pk=Switch.TEAM, paused=True)
    cid = never_had(upstream, mei)[0]
    upstream_calls.clear()

    assert running.route_conversation(cid, trigger=running.NEW) == "paused"
    assert running.sweep() == {}
    assert upstream_calls == []
    assert true_state(upstream, cid)["assignee"] == ""


def test_online_only_waits_for_a_member_with_the_dashboard_open(upstream):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei], presence=Presence.ONLINE, online_minutes=5, grace_minutes=1)
    cid = never_had(upstream, mei)[0]

    assert running.route_conversation(cid, trigger=running.NEW) == "nobody eligible"
    presence.seen(mei, at=timezone.now() - timedelta(minutes=10))
    assert running.route_conversation(cid, trigger=running.NEW) == "nobody eligible"
    presence.seen(mei)
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"


def test_a_member_at_capacity_is_given_nothing(upstream):
    ids = member_ids(upstream)
    priya = ids["agent@example.com"]
    open_now = facts.open_counts(facts.active()).get(priya, 0)
    assert open_now > 0, "the seed gives Priya open conversations"
    rule(member_ids=[priya], capacity=open_now)
    cid = never_had(upstream, priya)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "nobody eligible"


def test_round_robin_takes_turns(upstream):
    ids = member_ids(upstream)
    mei, fatima = ids["mei.chen@example.com"], ids["fatima.elamrani@example.com"]
    rule(member_ids=[mei, fatima], method=Method.ROUND_ROBIN)
    pool = [cid for cid in never_had(upstream, mei, count=12) if fatima not in true_state(upstream, cid)["ever_assigned"]]
    for cid in pool[:4]:
        assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    given = [true_state(upstream, cid)["assignee"] for cid in pool[:4]]
    assert sorted(given) == sorted([mei, fatima, mei, fatima])
    assert given[0] != given[1] and given[1] != given[2]


def test_a_rule_limited_by_tag_leaves_other_conversations_alone(upstream):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei], tag="no-such-tag-anywhere")
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "no rule matches"


def test_a_member_whose_roles_do_not_allow_viewing_is_refused_by_the_form(upstream):
    members = facts.members()
    tomas = next(m for m in members if m.email == MEMBER_EMAILS["norole"])
    form = RuleForm({"name": "x", "member_ids": [tomas.unique_id], "method": "balanced", "capacity": 5,
                     "presence": "anyone", "online_minutes": 5, "grace_minutes": 2, "take_back_to": "rule"},
                    members=members)
    assert not form.is_valid()
    assert "cannot see conversations: their roles do not allow Get:Conversation" in str(form.errors["member_ids"])


def manager_assigns(make_user, cid: str, member_email: str):
    """An Owner assigns the conversation by hand, from a card."""
    members = facts.members()
    user = make_user("owner")
    actor = Actor(user=user, powers=powers_for(user, members), members=members, via="card")
    member = next(m for m in members if m.email == member_email)
    return services.conversation_act(actor=actor, conversation_id=cid, action=Action.ASSIGN, member=member)


def test_a_conversation_assigned_by_hand_is_never_routed(upstream, make_user):
    ids = member_ids(upstream)
    rule(member_ids=[ids["mei.chen@example.com"]])
    cid = never_had(upstream, ids["manager@example.com"])[0]
    assert manager_assigns(make_user, cid, "manager@example.com").ok

    assert running.route_conversation(cid, trigger=running.MESSAGE) == "assigned already"
    assert running.sweep().get("assigned", 0) >= 0
    assert true_state(upstream, cid)["assignee"] == ids["manager@example.com"]


_serial = iter(range(1, 10_000))


def customer_writes(cid: str, *, minutes_ago: float = 0, inbound: bool = True) -> Message:
    """WapiKit's NewMessage event for the conversation (the customer's, or the team's answer), as
    the listener hands it to the domain."""
    message = Message(
        unique_id=f"5e0c1e2a-0000-4000-8000-{next(_serial):012d}", conversation_id=cid,
        direction="InBound" if inbound else "OutBound",
        created_at=timezone.now() - timedelta(minutes=minutes_ago), type_camel="Text",
    )
    conversation = get_client().get_conversation(cid)
    now.message_arrived(msgspec.structs.replace(conversation, message_list=[]), message)
    return message


def test_a_new_message_enqueues_one_routing_run_which_assigns_it(upstream):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei])
    cid = never_had(upstream, mei)[0]
    customer_writes(cid)
    customer_writes(cid)
    planned = DBTaskResult.objects.filter(task_path__endswith="running.route_task", args_kwargs__args=[cid, running.MESSAGE])
    assert planned.count() == 1, "two events together enqueue one run"
    assert running.route_task.call(cid, running.MESSAGE) == "assigned"
    assert true_state(upstream, cid)["assignee"] == mei


def test_a_silent_assignee_has_the_conversation_taken_back_and_given_by_the_same_rule(upstream):
    ids = member_ids(upstream)
    mei, fatima = ids["mei.chen@example.com"], ids["fatima.elamrani@example.com"]
    rule(member_ids=[mei, fatima], unanswered_minutes=15, take_back_to=TakeBackTo.RULE)
    cid = next(c for c in never_had(upstream, mei, count=12) if fatima not in true_state(upstream, c)["ever_assigned"])
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    first = true_state(upstream, cid)["assignee"]
    customer_writes(cid, minutes_ago=1)

    # Planned as a timed task at the deadline, not polled.
    planned = DBTaskResult.objects.filter(task_path__endswith="takeback.take_back_task", args_kwargs__args=[cid])
    assert planned.exists()
    deadline = max(p.run_after for p in planned)
    assigned_since = ConversationLife.objects.get(conversation_id=cid).assigned_since
    assert abs(deadline - (assigned_since + timedelta(minutes=15))) < timedelta(seconds=1)
    assert takeback.take_back(cid, moment=deadline - timedelta(minutes=1)) == "not yet"

    assert takeback.take_back(cid, moment=deadline) == "reassigned"
    after = true_state(upstream, cid)["assignee"]
    assert after and after != first
    # One active assignment: the server keeps an old one beside a new unless it is ended first.
    raw = requests.get(f"{upstream.root_url}/_sandbox/state/{cid}", headers={"x-access-token": upstream.api_key},
                       timeout=5).json()
    assert raw["assignee_ids"] == [after]
    record = TakeBack.objects.get(conversation_id=cid)
    assert record.reason == "not answered within 15 min"
    assert record.to_member_name
    took = AuditEntry.objects.filter(conversation_id=cid, via="routing").order_by("id").last()
    assert "took it back from" in took.detail and took.outcome == "succeeded"


def test_a_take_back_that_returns_to_unassigned_unassigns(upstream):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei], unanswered_minutes=5, take_back_to=TakeBackTo.UNASSIGNED)
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    customer_writes(cid, minutes_ago=1)
    assert takeback.take_back(cid, moment=timezone.now() + timedelta(minutes=6)) == "unassigned"
    assert true_state(upstream, cid)["assignee"] == ""
    assert not Claim.objects.filter(conversation_id=cid, current=True).exists()


def test_an_answered_conversation_is_not_taken_back(upstream):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei], unanswered_minutes=5)
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    customer_writes(cid, minutes_ago=2)
    customer_writes(cid, minutes_ago=1, inbound=False)  # Mei answers
    assert takeback.take_back(cid, moment=timezone.now() + timedelta(minutes=60)) == "not due"
    assert true_state(upstream, cid)["assignee"] == mei


def test_hand_assigned_work_is_taken_back_only_under_a_rule_that_says_so(upstream, make_user):
    ids = member_ids(upstream)
    rule(member_ids=[ids["mei.chen@example.com"]], unanswered_minutes=5, take_back_to=TakeBackTo.UNASSIGNED)
    cid = never_had(upstream, ids["manager@example.com"])[0]
    assert manager_assigns(make_user, cid, "manager@example.com").ok
    customer_writes(cid, minutes_ago=1)
    later = timezone.now() + timedelta(minutes=10)
    assert takeback.take_back(cid, moment=later) == "not due"
    Rule.objects.update(takes_manual=True)
    assert takeback.take_back(cid, moment=later) == "unassigned"


def test_a_worker_killed_mid_assignment_is_finished_for_the_same_member_once(upstream, upstream_calls):
    """The dead worker claimed Mei and its call reached WapiKit, then it died before writing the
    outcome: the next sweep asks WapiKit whether that call went through (it did: nothing more is
    sent, which on the server would be answered 500) and finishes the claim for Mei; the other
    dead worker's call never went, so it is sent now. Never anyone else."""
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei])
    died, never_sent = never_had(upstream, mei, count=2)
    for cid in (died, never_sent):
        Claim.objects.create(
            conversation_id=cid, trigger=running.NEW, rule_name="Support", member_id=mei, member_name="Mei Chen",
            why="balanced", lease_until=timezone.now() - timedelta(seconds=1),
        )
    get_client().assign_conversation(died, member_id=mei)  # the dead worker's call
    upstream_calls.clear()

    done = running.sweep()

    assert done.get("assigned", 0) >= 2
    for cid in (died, never_sent):
        assert true_state(upstream, cid)["assignee"] == mei
        assert true_state(upstream, cid)["ever_assigned"].count(mei) == 1
        assert Claim.objects.get(conversation_id=cid, current=True).state == Claim.State.ASSIGNED
    sent = [c.path for c in assign_calls(upstream_calls)]
    assert sent.count(f"/conversation/{never_sent}/assign") == 1
    assert f"/conversation/{died}/assign" not in sent, "the dead worker's call went through: none is sent again"
    finished = AuditEntry.objects.get(conversation_id=died, via="routing")
    assert finished.outcome == "skipped" and "a worker that stopped mid-assignment" in finished.detail


def test_when_routings_share_of_the_assign_route_is_spent_it_waits_and_says_so(server_wapikit, settings, login_as):
    """The server states its rate limits (the documented WapiKit states none to count against)."""
    upstream = server_wapikit
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei])
    first, second = never_had(upstream, mei, count=2)
    assert running.route_conversation(first, trigger=running.NEW) == "assigned"  # WapiKit states the limit
    settings.ROUTING_ASSIGN_SHARE = 0.0

    assert running.route_conversation(second, trigger=running.NEW) == "waiting for the budget"
    assert true_state(upstream, second)["assignee"] == ""
    retry = DBTaskResult.objects.filter(task_path__endswith="running.route_task", args_kwargs__args=[second, running.NEW])
    assert retry.exists() and retry.get().run_after > timezone.now()
    page = login_as("owner").get("/status/").content.decode()
    assert "Routing is waiting" in page
    upstream.reseed()


def test_a_read_after_wapikits_assignment_event_that_cannot_name_the_assignee_never_frees_the_conversation(upstream):
    """On the server, the read after ChatAssignment may say "nobody" (a list answer read before
    the assignment): routing keeps its claim, so the sweep does not assign it a second time.
    The dashboard's own unassignment does free it."""
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei])
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    nobody = msgspec.structs.replace(get_client().get_conversation(cid), assigned_to=None, assignee_known=True)

    running.on_fact(nobody, "assignment")
    assert running.route_conversation(cid, trigger=running.SWEEP) == "claimed already"
    assert true_state(upstream, cid)["ever_assigned"] == [mei]

    running.on_fact(nobody, "action")
    assert not Claim.objects.filter(conversation_id=cid, current=True).exists()


def test_a_take_back_due_while_paused_is_made_once_resumed(upstream):
    mei = member_ids(upstream)["mei.chen@example.com"]
    rule(member_ids=[mei], unanswered_minutes=5, take_back_to=TakeBackTo.UNASSIGNED)
    cid = never_had(upstream, mei)[0]
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    customer_writes(cid, minutes_ago=1)
    Switch.objects.create(pk=Switch.TEAM, paused=True)
    later = timezone.now() + timedelta(minutes=6)

    assert takeback.take_back(cid, moment=later) == "paused"
    assert true_state(upstream, cid)["assignee"] == mei
    again = DBTaskResult.objects.filter(task_path__endswith="takeback.take_back_task", args_kwargs__args=[cid])
    assert max(task.run_after for task in again) > later

    Switch.objects.filter(pk=Switch.TEAM).update(paused=False)
    assert takeback.take_back(cid, moment=later) == "unassigned"


def test_a_conversation_taken_back_twice_never_goes_back_to_a_member_who_had_it(upstream):
    ids = member_ids(upstream)
    mei, fatima = ids["mei.chen@example.com"], ids["fatima.elamrani@example.com"]
    rule(member_ids=[mei, fatima], unanswered_minutes=15, take_back_to=TakeBackTo.RULE)
    cid = next(c for c in never_had(upstream, mei, count=12) if fatima not in true_state(upstream, c)["ever_assigned"])
    assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
    customer_writes(cid, minutes_ago=1)
    assert takeback.take_back(cid, moment=timezone.now() + timedelta(minutes=16)) == "reassigned"
    customer_writes(cid)

    assert takeback.take_back(cid, moment=timezone.now() + timedelta(minutes=32)) == "unassigned"
    assert true_state(upstream, cid)["assignee"] == ""
    if upstream.profile == "server":  # it keeps who had it (the spec sandbox does not say)
        assert sorted(true_state(upstream, cid)["ever_assigned"]) == sorted([mei, fatima])
