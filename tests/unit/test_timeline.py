"""The timeline keeps each conversation's life in the database: what happened, logged once, and
the facts a manager's clocks need. A fact never goes back in time: whatever order facts arrive
in, and however often, the end state is the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.conversations import timeline
from dashboard.conversations.models import AppendOnlyError, ConversationLife, LifeEvent, Source
from dashboard.wapikit.types import Message

pytestmark = pytest.mark.django_db

CID = "6f1c2a4e-6d0b-4a53-9a8e-0c6d5a1b2c3d"
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def message(n: int, *, minutes: int, inbound: bool) -> Message:
    return Message(
        unique_id=f"00000000-0000-4000-8000-{n:012d}",
        conversation_id=CID,
        direction="InBound" if inbound else "OutBound",
        created_at=T0 + timedelta(minutes=minutes),
        type_camel="Text",
    )


def facts_of(life: ConversationLife) -> dict:
    return {
        name: getattr(life, name)
        for name in (
            "first_inbound_at", "last_inbound_at", "last_outbound_at", "last_message_at", "last_message_inbound",
            "last_message_id",
            "status", "status_as_of", "assignee_id", "assignee_known", "assignee_as_of",
        )
    }


def test_a_customer_is_waiting_from_their_first_message_since_the_team_last_wrote():
    timeline.learn_messages(CID, [message(1, minutes=0, inbound=True), message(2, minutes=5, inbound=True)], source=Source.EVENT)
    life = timeline.life_of(CID)
    assert life.waiting and life.first_inbound_at == T0 and life.last_inbound_at == T0 + timedelta(minutes=5)

    timeline.learn_messages(CID, [message(3, minutes=10, inbound=False)], source=Source.READ)
    assert not timeline.life_of(CID).waiting

    timeline.learn_messages(CID, [message(4, minutes=20, inbound=True)], source=Source.EVENT)
    life = timeline.life_of(CID)
    assert life.first_inbound_at == T0 + timedelta(minutes=20)
    assert (life.last_message_at, life.last_message_inbound, life.last_message_type) == (
        T0 + timedelta(minutes=20), True, "Text",
    )


def test_a_message_learned_twice_is_logged_once():
    first = message(1, minutes=0, inbound=True)
    timeline.learn_messages(CID, [first], source=Source.EVENT)
    timeline.learn_messages(CID, [first], source=Source.READ)

    logged = LifeEvent.objects.filter(conversation_id=CID)
    assert [(e.kind, e.source) for e in logged] == [("inbound", "event")]


def test_a_late_observation_never_overwrites_a_newer_one():
    timeline.learn_state(CID, status="Active", as_of=T0, source=Source.EVENT)
    timeline.learn_state(CID, status="Closed", as_of=T0 + timedelta(minutes=30), source=Source.ACTION)
    # A slow read that began before the close, answered after it.
    timeline.learn_state(CID, status="Active", as_of=T0 + timedelta(minutes=20), source=Source.READ)

    life = timeline.life_of(CID)
    assert (life.status, life.status_source) == ("Closed", "action")
    assert [e.kind for e in LifeEvent.objects.filter(conversation_id=CID)] == ["closed"]


def test_assignment_is_logged_when_it_changes_and_says_since_when():
    timeline.learn_state(CID, assignee_id="", as_of=T0, source=Source.LIST)
    timeline.learn_state(CID, assignee_id="m-1", as_of=T0 + timedelta(minutes=3), source=Source.ACTION)
    timeline.learn_state(CID, assignee_id="m-1", as_of=T0 + timedelta(minutes=9), source=Source.READ)

    life = timeline.life_of(CID)
    assert (life.assignee_id, life.assigned_since) == ("m-1", T0 + timedelta(minutes=3))
    assert [e.kind for e in LifeEvent.objects.filter(conversation_id=CID)] == ["unassigned", "assigned"]


def test_the_log_is_never_changed_nor_deleted():
    timeline.learn_messages(CID, [message(1, minutes=0, inbound=True)], source=Source.EVENT)
    with pytest.raises(AppendOnlyError):
        LifeEvent.objects.all().update(kind="outbound")
    with pytest.raises(AppendOnlyError):
        LifeEvent.objects.all().delete()


def test_retention_deletes_only_what_happened_before_it_and_keeps_the_facts():
    timeline.learn_messages(
        CID, [message(1, minutes=0, inbound=True), message(2, minutes=60 * 24, inbound=True)], source=Source.EVENT
    )

    expired = timeline.expire(before=T0 + timedelta(days=1) - timedelta(minutes=1))

    assert expired == 1
    assert [e.at for e in LifeEvent.objects.filter(conversation_id=CID)] == [T0 + timedelta(days=1)]
    life = timeline.life_of(CID)
    assert life.first_inbound_at == T0 and life.last_inbound_at == T0 + timedelta(days=1)


sources = st.sampled_from(list(Source))
observed_facts = st.lists(
    st.one_of(
        st.tuples(st.just("message"), st.integers(0, 30), sources),
        st.tuples(st.just("status"), st.sampled_from(["Active", "Closed", "Deleted"]), st.integers(0, 600), sources),
        st.tuples(st.just("assignee"), st.sampled_from(["", "m-1", "m-2"]), st.integers(0, 600), sources),
    ),
    min_size=1,
    max_size=25,
)


def _feed(facts) -> dict:
    ConversationLife.objects.filter(conversation_id=CID).delete()
    LifeEvent.objects.filter(conversation_id=CID)._raw_delete(LifeEvent.objects.db)
    for fact in facts:
        if fact[0] == "message":
            _, n, source = fact
            # A message is what it is: its number decides its time and direction.
            timeline.learn_messages(CID, [message(n, minutes=n * 20, inbound=n % 3 != 0)], source=source)
        elif fact[0] == "status":
            _, status, minutes, source = fact
            timeline.learn_state(CID, status=status, as_of=T0 + timedelta(minutes=minutes), source=source)
        else:
            _, assignee, minutes, source = fact
            timeline.learn_state(CID, assignee_id=assignee, as_of=T0 + timedelta(minutes=minutes), source=source)
    return facts_of(timeline.life_of(CID))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=observed_facts, data=st.data())
def test_facts_in_any_order_and_repeated_end_in_the_same_state(facts, data):
    shuffled = data.draw(st.permutations(facts))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(facts), max_size=10))

    assert _feed(repeated) == _feed(facts)
