"""The background reads teach the timeline the last message of conversations whose list answer
carries none (WapiKit's server never sends messages in a list), over real HTTP to the sandbox
answering as the server does. The task runs here synchronously (`read_due.call()`); a real
worker process runs it in tests/shared_state/test_backfill_worker.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dashboard.conversations import backfill, newest, now, reading, timeline
from dashboard.conversations.models import LifeEvent, Reading, ReadingPlan, Source
from dashboard.wapikit import errors, get_client
from dashboard.wapikit.types import Message
from tests.integration.conftest import sandbox_event

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MESSAGES = "/conversation/:id/messages"


@pytest.fixture
def no_sweep(db):
    """The Active list's sweep is not due: only what a test asks for is read."""
    ReadingPlan.objects.create(name="sweep", run_at=timezone.now() + timedelta(days=1))


def active_ids(count: int | None = None) -> list[str]:
    page = get_client().list_conversations(status="Active", per_page=50)
    ids = [c.unique_id for c in page.conversations]
    return ids[:count] if count else ids


def newest_message(conversation_id: str):
    page = get_client().list_messages(conversation_id, per_page=50, order="desc")
    return max(page.messages, key=lambda m: (m.created_at, not m.inbound))


def messages_read(calls) -> list[str]:
    return [call.path.split("/")[2] for call in calls if call.route == MESSAGES]


def test_a_conversation_whose_last_message_is_unknown_is_read_once_and_its_timeline_learns_it(
    server_wapikit, no_sweep, upstream_calls
):
    cid = active_ids(1)[0]
    newest = newest_message(cid)
    assert timeline.life_of(cid) is None
    upstream_calls.clear()

    backfill.wanted([cid])
    result = backfill.read_due.call()

    assert messages_read(upstream_calls) == [cid]
    life = timeline.life_of(cid)
    assert life.last_message_at == newest.created_at
    assert life.last_message_id == newest.unique_id
    assert life.messages_source == "read"
    assert result["read"] == 1 and result["learned"] >= 1


def test_wanting_cards_enqueues_a_run_and_asks_nothing_of_wapikit(server_wapikit, no_sweep, upstream_calls):
    ids = active_ids(5)
    upstream_calls.clear()

    backfill.wanted(ids)
    backfill.wanted(ids)  # the page drawn again: no second run

    assert upstream_calls == []
    pending = DBTaskResult.objects.filter(task_path="dashboard.conversations.backfill.read_due", status="READY")
    assert pending.count() == 1


def test_what_a_user_is_looking_at_is_read_before_the_rest_of_the_active_list(
    server_wapikit, upstream_calls, monkeypatch
):
    monkeypatch.setattr(backfill, "BATCH", 3)
    ids = active_ids()
    assert len(ids) > 9
    first = backfill.read_due.call()  # sweeps the Active list: every unknown conversation is due
    assert first["swept"] >= len(ids) and len(messages_read(upstream_calls)) == 3
    read_first = set(messages_read(upstream_calls))
    # The oldest of the list, not read yet: nothing but the user's wish puts them first.
    on_screen = [cid for cid in reversed(ids) if cid not in read_first][:3]
    upstream_calls.clear()

    backfill.wanted(on_screen)  # due after the swept ones, but a user is looking at them
    backfill.read_due.call()

    assert sorted(messages_read(upstream_calls)) == sorted(on_screen)
    upstream_calls.clear()
    backfill.read_due.call()
    later = messages_read(upstream_calls)
    assert len(later) == 3 and not set(later) & (set(on_screen) | read_first)


def test_a_second_run_reads_nothing_already_known(server_wapikit, no_sweep, upstream_calls):
    ids = active_ids(4)
    backfill.wanted(ids)
    backfill.read_due.call()
    assert sorted(messages_read(upstream_calls)) == sorted(ids)
    upstream_calls.clear()

    backfill.wanted(ids)  # the same cards shown again
    again = backfill.read_due.call()

    assert messages_read(upstream_calls) == []
    assert again["read"] == 0


def test_background_reads_spend_only_their_share_of_the_messages_budget_and_wait_for_the_reset(
    server_wapikit, no_sweep, upstream_calls, settings
):
    settings.WAPIKIT_BACKGROUND_READ_SHARE = 0.25
    server_wapikit.control(rate_limits={"messages": {"limit": 20, "window_seconds": 60}})
    ids = active_ids(6)
    upstream_calls.clear()

    backfill.wanted(ids)
    backfill.read_due.call()
    backfill.read_due.call()  # a run too early reads nothing more

    read = messages_read(upstream_calls)
    # A quarter of 20 is 5; the routine reads leave 40 % of it to alerts' reads, and of that, the
    # last read (20 % of the share) to the look for a wait begun unseen.
    assert len(read) == 3
    assert all(call.status != 429 for call in upstream_calls)
    unknown = [cid for cid in ids if (life := timeline.life_of(cid)) is None or life.last_message_at is None]
    assert len(unknown) == 3
    assert newest.read(unknown[0], part=newest.check_share()), "an alert's check still reads"
    with pytest.raises(errors.BudgetExhausted):
        newest.read(unknown[1], part=newest.check_share())
    assert newest.read(unknown[1], part=newest.recheck_share()), "a look for a wait begun unseen still reads"
    with pytest.raises(errors.BudgetExhausted):
        newest.read(unknown[2], part=newest.recheck_share())
    # The next run waits for the window's reset, not spinning meanwhile.
    planned = DBTaskResult.objects.filter(status="READY", run_after__year__lt=9999).order_by("-enqueued_at").first()
    assert timezone.now() + timedelta(seconds=30) < planned.run_after <= timezone.now() + timedelta(seconds=62)


def test_a_read_the_reserve_refuses_leaves_the_background_share_unspent(server_wapikit, upstream_calls, settings):
    """Found by `make bench-day`: each read the reserve refused still counted against the share,
    so refusals kept the share spent for a whole window and every background read stopped."""
    settings.WAPIKIT_BACKGROUND_READ_SHARE = 1.0
    settings.WAPIKIT_BUDGET_RESERVE = 0.5
    server_wapikit.control(rate_limits={"messages": {"limit": 10, "window_seconds": 60}})
    cid = active_ids(1)[0]
    upstream_calls.clear()
    with pytest.raises(errors.BudgetReserved):
        for _ in range(10):
            newest.read(cid, part=1.0)
    sent = len(messages_read(upstream_calls))

    refusals = []
    for _ in range(10):
        with pytest.raises(errors.BudgetExhausted) as refused:
            newest.read(cid, part=1.0)
        refusals.append(type(refused.value))

    assert sent == 6, "down to the reserve: half of 10 kept"
    assert refusals == [errors.BudgetReserved] * 10, "the reserve refuses; the share was never spent"
    assert len(messages_read(upstream_calls)) == sent


def test_a_waiting_conversation_is_re_read_on_its_backoff_and_learns_a_reply_sent_outside_the_dashboard(
    server_wapikit, no_sweep, upstream_calls, clock
):
    cid = active_ids(1)[0]
    sandbox_event(server_wapikit, type="NewMessage", conversation_id=cid, text="Anyone?")
    try:
        backfill.wanted([cid])
        backfill.read_due.call()
        assert timeline.life_of(cid).waiting
        upstream_calls.clear()

        # Nothing new: re-read after 2 minutes, then 4, then 8.
        for minutes in (2, 4, 8):
            clock.advance(minutes=minutes, seconds=-5)
            backfill.read_due.call()
            assert messages_read(upstream_calls) == [], f"read before {minutes} minutes had passed"
            clock.advance(seconds=10)
            backfill.read_due.call()
            assert messages_read(upstream_calls) == [cid]
            upstream_calls.clear()
            clock.advance(seconds=-5)

        sandbox_event(server_wapikit, type="Reply", conversation_id=cid, text="On it")
        clock.advance(minutes=16, seconds=5)
        backfill.read_due.call()

        life = timeline.life_of(cid)
        assert messages_read(upstream_calls) == [cid]
        assert not life.waiting and life.last_message_inbound is False
        # Answered: no more re-reads.
        upstream_calls.clear()
        clock.advance(minutes=120)
        backfill.read_due.call()
        assert messages_read(upstream_calls) == []
    finally:
        server_wapikit.reseed()


def test_a_new_message_the_dashboard_hears_of_restarts_the_backoff(server_wapikit, no_sweep, upstream_calls, clock):
    cid = active_ids(1)[0]
    sandbox_event(server_wapikit, type="NewMessage", conversation_id=cid, text="Hello?")
    try:
        backfill.wanted([cid])
        backfill.read_due.call()
        for minutes in (2, 4, 8, 16):  # a long wait built up: the next re-read 32 minutes away
            clock.advance(minutes=minutes, seconds=1)
            backfill.read_due.call()
        stored = sandbox_event(server_wapikit, type="NewMessage", conversation_id=cid, text="Still there?")
        message = next(m for m in get_client().list_messages(cid).messages if m.unique_id == stored["message_id"])
        now.message_arrived(get_client().get_conversation(cid), message)  # as the event listener does
        upstream_calls.clear()

        clock.advance(minutes=1, seconds=55)
        backfill.read_due.call()
        assert messages_read(upstream_calls) == []
        clock.advance(seconds=10)
        backfill.read_due.call()  # 2 minutes after the news: due again, not 32 minutes on

        assert messages_read(upstream_calls) == [cid]
    finally:
        server_wapikit.reseed()


def test_a_conversation_claimed_by_one_worker_is_not_read_by_another_until_its_claim_lapses(db):
    moment = timezone.now()
    reading.wish(["c-1", "c-2", "c-3"], why=Reading.Why.WANTED, now=moment)

    first = reading.claim("worker-a", limit=10, now=moment)
    second = reading.claim("worker-b", limit=10, now=moment)
    after_a_crash = reading.claim("worker-b", limit=10, now=moment + reading.LEASE + timedelta(seconds=1))

    assert sorted(r.conversation_id for r in first) == ["c-1", "c-2", "c-3"]
    assert second == []
    assert sorted(r.conversation_id for r in after_a_crash) == ["c-1", "c-2", "c-3"]


def test_a_run_applies_the_timeline_s_retention_once_a_day(server_wapikit, no_sweep, settings):
    settings.TIMELINE_RETENTION_DAYS = 30
    cid = server_wapikit.get("/conversations", page=1, per_page=1, status="Active")["conversations"][0]["uniqueId"]
    old = timezone.now() - timedelta(days=31)

    def logged(n: int) -> None:
        timeline.learn_messages(cid, [Message(
            unique_id=f"00000000-0000-4000-8000-{n:012d}", conversation_id=cid, direction="InBound", created_at=old,
            type_camel="Text",
        )], source=Source.READ)

    logged(1)
    first = backfill.read_due.call()
    logged(2)
    second = backfill.read_due.call()

    assert first["expired"] == 1
    assert second["expired"] == 0, "once a day"
    assert LifeEvent.objects.filter(conversation_id=cid).count() == 1
