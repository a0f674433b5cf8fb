"""Response clocks on cards, the Due soon and Overdue views, and alerts before a breach, against
the sandbox answering as WapiKit's server does (its lists carry no messages: what a card knows
of who is waiting comes from the timeline, here from WapiKit's NewMessage events)."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import msgspec
import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dashboard.conversations import alerts, newest, now, timeline
from dashboard.conversations.models import Alert
from dashboard.wapikit import get_client
from dashboard.wapikit.types import Message
from tests.integration.conftest import body_of, card_ids, first_conversation, html, sandbox_event

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

_serial = iter(range(1, 10_000))
# Minutes a customer has waited for a next response when its clock is due soon (the default
# target 60 minutes, warned 5 minutes before).
NEXT_DUE_SOON = 56


def message(cid: str, *, minutes_ago: float, inbound: bool = True) -> Message:
    return Message(
        unique_id=f"7d0c1e2a-0000-4000-8000-{next(_serial):012d}",
        conversation_id=cid,
        direction="InBound" if inbound else "OutBound",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        type_camel="Text",
    )


def arrives(cid: str, *messages: Message) -> None:
    """WapiKit's NewMessage events for the conversation, as the listener hands them over."""
    conversation = get_client().get_conversation(cid)
    for each in messages:
        now.message_arrived(msgspec.structs.replace(conversation, message_list=[]), each)


def answered_long_ago(sandbox, count: int = 1) -> list[dict]:
    """Active unassigned conversations whose newest message in WapiKit is the team's, an hour old
    or more, their messages read by the dashboard: a customer message the test then delivers
    starts a wait for a next response (60 minutes by default, due soon 5 minutes before), and the
    read an alert makes before it is raised finds nothing newer."""
    found = []
    hour_ago = timezone.now() - timedelta(hours=1)
    listed = [sandbox.get("/conversations", page=page, per_page=50, status="Active")["conversations"] for page in (1, 2, 3)]
    for conversation in (c for page in listed for c in page):
        if conversation.get("assignedTo"):
            continue
        cid = conversation["uniqueId"]
        newest = get_client().list_messages(cid, per_page=50, order="desc").messages
        last = max(newest, key=lambda m: m.created_at, default=None)
        if last is not None and not last.inbound and last.created_at < hour_ago:
            now.messages_read(cid, newest)
            found.append(conversation)
        if len(found) == count:
            return found
    pytest.fail(f"the sandbox has fewer than {count} Active conversations answered an hour ago")


def card_of(body: str, cid: str) -> str:
    found = re.search(rf'<article [^>]*id="c-{cid}".*?</article>', body, re.S)
    assert found, f"no card for {cid}"
    return found[0]


def test_a_customer_waiting_past_the_target_shows_overdue_on_the_card_and_in_the_overdue_view(
    login_as, server_wapikit
):
    conversation = first_conversation(server_wapikit, "Active", assigned=False)
    cid = conversation["uniqueId"]
    arrives(cid, message(cid, minutes_ago=20))
    client = login_as("manager")

    overdue = body_of(client.get("/?view=overdue"))
    due_soon = body_of(client.get("/?view=due"))
    tabs = body_of(client.get("/inbox/tabs/?view=overdue"))

    card = card_of(overdue, cid)
    assert "waiting 20 min" in card
    # The team never answered in what the dashboard knows: the first-response target (15 min).
    assert "First response overdue 5 min" in card
    assert "clock-overdue" in card
    assert cid not in card_ids(due_soon)
    counted = re.search(r"Overdue\s*<span class=\"count\">(\d+)</span>", tabs)
    assert counted and int(counted[1]) == len(card_ids(overdue)) >= 1


def test_a_clock_within_its_warning_is_due_soon_and_an_answer_stops_it(login_as, server_wapikit):
    conversation = first_conversation(server_wapikit, "Active", assigned=False)
    cid = conversation["uniqueId"]
    arrives(cid, message(cid, minutes_ago=12))
    client = login_as("manager")

    due_soon = body_of(client.get("/?view=due"))
    card = card_of(due_soon, cid)
    assert "First response due in 3 min" in card
    assert html(conversation["contact"]["name"]) in card

    arrives(cid, message(cid, minutes_ago=1, inbound=False))
    answered = body_of(client.get("/"))

    assert cid not in card_ids(body_of(client.get("/?view=due")))
    card = card_of(answered, cid)
    assert "answered 1 min ago" in card
    assert "due in" not in card and "overdue" not in card


def test_learning_that_someone_waits_plans_the_alert_for_the_moment_the_clock_turns(server_wapikit):
    cid = first_conversation(server_wapikit, "Active", assigned=False)["uniqueId"]
    first = message(cid, minutes_ago=2)

    arrives(cid, first, message(cid, minutes_ago=1))

    planned = DBTaskResult.objects.filter(task_path__endswith="alerts.raise_due", args_kwargs__args=[cid, "response"])
    assert planned.count() == 1, "one plan for the waiting cycle, however many messages it holds"
    # The default targets: 15 minutes for a first response, a warning 5 minutes before it.
    assert abs(planned.get().run_after - (first.created_at + timedelta(minutes=10))) < timedelta(seconds=1)


def test_an_alert_is_raised_once_and_shown_only_to_whom_it_is_for(login_as, server_wapikit, client):
    conversation = answered_long_ago(server_wapikit)[0]
    cid = conversation["uniqueId"]
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON))

    alerts.raise_due.call(cid, "response")
    alerts.raise_due.call(cid, "response")

    raised = Alert.objects.get(conversation_id=cid)
    assert (raised.kind, raised.member_id) == ("response", "")  # nobody assigned: the managers'
    manager = login_as("manager").get(f"/alerts/{raised.pk}/")
    assert manager.status_code == 200
    assert html(conversation["contact"]["name"]) in body_of(manager)
    assert "a reply is due at" in body_of(manager)
    assert f'href="/conversations/{cid}/"' in body_of(manager)
    client.logout()
    agent = login_as("agent").get(f"/alerts/{raised.pk}/")
    assert agent.status_code == 204 and not agent.content


def test_no_alert_for_a_customer_already_answered_or_a_clock_already_breached(server_wapikit):
    answered, breached = [c["uniqueId"] for c in server_wapikit.get(
        "/conversations", page=1, per_page=2, status="Active")["conversations"]]
    arrives(answered, message(answered, minutes_ago=12), message(answered, minutes_ago=1, inbound=False))
    arrives(breached, message(breached, minutes_ago=30))

    alerts.raise_due.call(answered, "response")
    alerts.raise_due.call(breached, "response")

    assert not Alert.objects.filter(kind="response").exists()


def test_an_inbox_opened_after_the_alert_shows_it_until_the_customer_is_answered(login_as, server_wapikit):
    conversation = answered_long_ago(server_wapikit)[0]
    cid = conversation["uniqueId"]
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON))
    alerts.raise_due.call(cid, "response")
    client = login_as("manager")

    shown = body_of(client.get("/"))
    arrives(cid, message(cid, minutes_ago=0, inbound=False))
    after_answer = body_of(client.get("/"))

    assert re.search(rf'<li class="clock-alert" data-alert="\d+">\s*<a href="/conversations/{cid}/">', shown)
    assert 'class="clock-alert"' not in after_answer


def test_an_inbox_lists_the_five_soonest_alerts_and_says_how_many_more(login_as, server_wapikit):
    """Seven alerts raised for unassigned conversations (as `raise_due` records them: raising is
    the other tests' subject), each for the wait the timeline knows."""
    unassigned = [c["uniqueId"] for c in server_wapikit.get(
        "/conversations", page=1, per_page=50, status="Active")["conversations"] if not c.get("assignedTo")][:7]
    for n, cid in enumerate(unassigned):
        arrives(cid, message(cid, minutes_ago=10.5 + n / 2))  # the later in the list, the sooner due
        waiting_since = timeline.life_of(cid).first_inbound_at
        Alert.objects.create(
            conversation_id=cid, kind="response", cycle_at=waiting_since, due_at=waiting_since + timedelta(minutes=15),
            raised_at=timezone.now(), member_id="",
        )

    body = body_of(login_as("manager").get("/"))

    shown = re.findall(r'<li class="clock-alert" data-alert="\d+">\s*<a href="/conversations/([0-9a-f-]+)/">', body)
    assert shown == unassigned[::-1][:5]
    assert "And 2 more, due later." in body


def test_an_earlier_message_of_the_same_wait_learned_late_raises_no_second_alert(server_wapikit):
    """Found by `make bench-day`: an earlier message of the wait, read after the alert, moved the
    cycle's start and the alert was raised again."""
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON))
    alerts.raise_due.call(cid, "response")

    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON + 1))  # the wait began a minute earlier than known
    alerts.raise_due.call(cid, "response")

    assert Alert.objects.filter(conversation_id=cid, kind="response").count() == 1


def test_a_reply_made_in_wapikits_own_ui_is_read_before_the_alert_and_none_is_raised(
    login_as, server_wapikit, upstream_calls
):
    """Found by `make bench-day`: 238 of 612 alerts were raised for customers the team had
    answered in WapiKit's own UI, which sends no event."""
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON))
    sandbox_event(server_wapikit, type="Reply", conversation_id=cid, text="Sorted, all done")
    upstream_calls.clear()

    alerts.raise_due.call(cid, "response")

    assert not Alert.objects.filter(conversation_id=cid).exists()
    assert [call.route for call in upstream_calls] == ["/conversation/:id/messages"], "one read, then no alert"
    card = card_of(body_of(login_as("manager").get("/")), cid)
    assert re.search(r"answered (just now|\d+ min ago)", card) and not re.search(r"waiting \d", card)


def test_a_customer_who_wrote_again_after_a_reply_in_wapikits_ui_is_alerted_for_the_new_wait_at_its_own_moment(
    server_wapikit,
):
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON))
    sandbox_event(server_wapikit, type="Reply", conversation_id=cid, text="Sorted, all done")
    time.sleep(1.1)  # WapiKit stamps messages in whole seconds: the new message comes after the reply
    sandbox_event(server_wapikit, type="NewMessage", conversation_id=cid, text="One more question")

    alerts.raise_due.call(cid, "response")

    assert not Alert.objects.filter(conversation_id=cid).exists()
    waiting_since = timeline.life_of(cid).first_inbound_at
    assert timezone.now() - waiting_since < timedelta(seconds=10), "the new message starts the wait"
    planned = DBTaskResult.objects.filter(task_path__endswith="alerts.raise_due", args_kwargs__args=[cid, "response"])
    assert waiting_since + timedelta(minutes=55) - timedelta(seconds=1) <= max(p.run_after for p in planned)


def test_an_alert_whose_check_read_finds_the_share_spent_is_raised_at_once_on_what_is_known(server_wapikit):
    """Found by `make bench-day` (14 of 294 waits never alerted): the check waited for the share
    up to half the warning, and a reply made meanwhile in WapiKit's UI left the wait unalerted
    while it ran, then alerted as if still waiting. Waiting only shortens the team's warning."""
    cid, other = [c["uniqueId"] for c in answered_long_ago(server_wapikit, 2)]
    server_wapikit.control(rate_limits={"messages": {"limit": 8, "window_seconds": 60}})
    cache.clear()  # the dashboard knows WapiKit's budget only from the answers that follow
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON))
    newest.read(other, part=newest.check_share())  # the checks' part of the limit: 1 read a minute, spent

    alerts.raise_due.call(cid, "response")

    assert Alert.objects.filter(conversation_id=cid).exists()
    planned = DBTaskResult.objects.filter(
        task_path__endswith="alerts.raise_due", args_kwargs__args=[cid, "response"], run_after__gt=timezone.now()
    )
    assert not planned.exists(), "nothing left to wait for"


def test_a_customer_writing_again_after_an_unseen_reply_is_read_halfway_to_due_soon_and_alerted_at_its_moment(
    server_wapikit, clock
):
    """Found by `make bench-day` (114 waits never alerted): the dashboard believed a customer
    still waiting from a wait whose clock had run out, so their next message, sent after a reply
    made in WapiKit's own UI, planned nothing."""
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    arrives(cid, message(cid, minutes_ago=130))  # a wait whose next-response clock has run out
    sandbox_event(server_wapikit, type="Reply", conversation_id=cid, text="Sorted, all done")  # no event
    time.sleep(1.1)  # WapiKit stamps messages in whole seconds: the new message comes after the reply
    sandbox_event(server_wapikit, type="NewMessage", conversation_id=cid, text="One more question")
    written = max(get_client().list_messages(cid, per_page=50, order="desc").messages, key=lambda m: m.created_at)
    arrives(cid, written)  # its NewMessage event

    # Halfway to the moment a new wait would turn due soon: a read the share refuses then has
    # the other half to be made in (make bench-day: looks made at that moment came too late).
    rechecks = DBTaskResult.objects.filter(task_path__endswith="alerts.recheck", args_kwargs__args=[cid])
    assert abs(rechecks.get().run_after - (written.created_at + timedelta(minutes=27.5))) < timedelta(seconds=1)
    clock.advance(minutes=27, seconds=40)
    alerts.recheck.call(cid)
    assert timeline.life_of(cid).first_inbound_at == written.created_at, "the reply was read: a new wait"
    planned = DBTaskResult.objects.filter(task_path__endswith="alerts.raise_due", args_kwargs__args=[cid, "response"])
    assert abs(max(p.run_after for p in planned) - (written.created_at + timedelta(minutes=55))) < timedelta(seconds=1)

    clock.advance(minutes=28)
    alerts.raise_due.call(cid, "response")
    raised = Alert.objects.get(conversation_id=cid)
    assert raised.cycle_at == written.created_at


def test_a_wait_begun_unseen_is_not_read_again_when_a_read_since_its_message_told(
    server_wapikit, clock, upstream_calls
):
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    arrives(cid, message(cid, minutes_ago=130))  # a wait whose next-response clock has run out
    arrives(cid, message(cid, minutes_ago=1))  # the customer writes again: a look is planned
    upstream_calls.clear()
    alerts.recheck.call(cid)
    assert [call.route for call in upstream_calls] == ["/conversation/:id/messages"]

    clock.advance(minutes=5)
    alerts.recheck.call(cid)  # a second look for the same message, later (a task run twice)

    assert len(upstream_calls) == 1, "the read made since the message told already"


def test_a_look_the_share_refuses_stays_the_conversation_s_one_look_until_it_is_made(server_wapikit):
    """Found by `make bench-day`: 2,700 looks ran in one simulated half-hour. Each refused look
    planned itself again, and each message meanwhile planned one more beside it."""
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    server_wapikit.control(rate_limits={"messages": {"limit": 8, "window_seconds": 60}})
    cache.clear()  # the dashboard knows WapiKit's budget only from the answers that follow
    arrives(cid, message(cid, minutes_ago=130))  # a wait whose next-response clock has run out
    arrives(cid, message(cid, minutes_ago=30))  # the customer wrote again: its look is due now
    newest.read(cid, part=newest.recheck_share())
    newest.read(cid, part=newest.recheck_share())  # a quarter of 8: the share is spent

    alerts.recheck.call(cid)  # refused: planned again for when the share returns
    time.sleep(1.1)
    arrives(cid, message(cid, minutes_ago=0))  # and the customer writes once more meanwhile

    looks = DBTaskResult.objects.filter(
        task_path__endswith="alerts.recheck", args_kwargs__args=[cid], status="READY", run_after__gt=timezone.now()
    )
    assert looks.count() == 1


def test_a_wait_alerted_while_the_dashboard_still_counted_an_older_one_is_not_alerted_again(server_wapikit, clock):
    """Found by `make bench-day` (3 waits alerted twice): the alert went out for a wait the team
    had answered in WapiKit's own UI, while the customer was already waiting again; once the
    reply was read, the new wait got its own alert, and the customer two."""
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON), message(cid, minutes_ago=40))
    alerts.raise_due.call(cid, "response")  # for the wait since 56 minutes ago, as far as it knows
    assert Alert.objects.filter(conversation_id=cid).count() == 1

    now.messages_read(cid, [message(cid, minutes_ago=50, inbound=False)])  # the reply, read late
    assert timezone.now() - timeline.life_of(cid).first_inbound_at < timedelta(minutes=41), "a new wait"
    clock.advance(minutes=16)  # its clock turns due soon
    alerts.raise_due.call(cid, "response")

    assert Alert.objects.filter(conversation_id=cid).count() == 1


def test_when_the_messages_route_has_no_read_left_an_alert_s_look_reads_the_conversation_itself(
    server_wapikit, upstream_calls
):
    """Found by `make bench-day` (16 waits never alerted): once the background reads had spent the
    messages route down to its reserve, WapiKit's server kept it there for a whole hour, and no
    look could find a wait begun after a reply made in WapiKit's own UI."""
    cid = answered_long_ago(server_wapikit)[0]["uniqueId"]
    server_wapikit.control(rate_limits={"messages": {"limit": 8, "window_seconds": 60}})
    cache.clear()  # the dashboard knows WapiKit's budget only from the answers that follow
    arrives(cid, message(cid, minutes_ago=NEXT_DUE_SOON))
    sandbox_event(server_wapikit, type="Reply", conversation_id=cid, text="Sorted, all done")
    newest.read(cid, part=newest.recheck_share())
    newest.read(cid, part=newest.recheck_share())  # a quarter of 8: the share is spent
    upstream_calls.clear()

    alerts.raise_due.call(cid, "response")

    assert [call.route for call in upstream_calls] == ["/conversation/:id"]
    assert not Alert.objects.filter(conversation_id=cid).exists(), "the reply was read: no alert"
