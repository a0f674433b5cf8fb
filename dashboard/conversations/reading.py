"""What the background reads (`backfill`) have to do, kept in the database: which conversations
are due a read of their newest messages, why, and when; who is reading each now; when the next
run is planned. Nothing here asks WapiKit.

Three reasons to read a conversation, highest first (`Reading.Why`): a user's page shows it and
the timeline does not know its last message; the Active list holds it and the timeline does not
know its last message; the customer spoke last (it is waiting), so the team may have answered
outside the dashboard, which sends no event. A waiting conversation is read again 2, 4, 8 …
minutes after the last read, at most an hour apart; a new message starts the backoff again.

Each row is claimed by one worker before it is read (locked rows skipped, and the claim written
with a token), so two workers never read one conversation for the same due time, and after a
restart the work resumes from the rows: what was read is not read again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Subquery

from .models import ConversationLife, Reading, ReadingPlan

# The backoff's first wait and its longest (WAPIKIT_REREAD_FIRST_SECONDS, …_LONGEST_SECONDS:
# 2 minutes and an hour unless set), read when used.
# A conversation waiting longer than this is no longer re-read: the team knows it waits.
WAITING_HORIZON = timedelta(days=7)
# A claim not finished within this is taken to be a dead worker's, and the row due again.
LEASE = timedelta(minutes=5)
# A planned run this late has been lost (its worker died before running it): plan another.
LOST_RUN = timedelta(minutes=5)
CLOSED_STATUSES = ("Closed", "Deleted")

_RUNS = "reads"
_SWEEPS = "sweep"


def reread_after(attempts: int) -> timedelta:
    """The backoff: 2 minutes after a new message, doubling with each read that found none."""
    longest = timedelta(seconds=settings.WAPIKIT_REREAD_LONGEST_SECONDS)
    return min(_first_reread() * 2 ** min(attempts, 10), longest)


def _first_reread() -> timedelta:
    return timedelta(seconds=settings.WAPIKIT_REREAD_FIRST_SECONDS)


# Wishes


def wish(conversation_ids: Iterable[str], *, why: Reading.Why, now: datetime) -> int:
    """The conversations among `conversation_ids` whose last message the timeline does not know
    are due now, for `why`. Those already read once (a conversation may have no message), or
    already due for as good a reason, are left as they are. How many wishes are new.

    Two queries when nothing is new, which is what an inbox page asks again and again."""
    due = unwished(conversation_ids, why=why)
    new = [Reading(conversation_id=cid, why=why, next_read_at=now, wanted_at=now) for cid in due]
    if new:
        Reading.objects.bulk_create(
            new, update_conflicts=True, unique_fields=["conversation_id"], update_fields=["why", "next_read_at", "wanted_at"]
        )
    return len(new)


def unwished(conversation_ids: Iterable[str], *, why: Reading.Why) -> list[str]:
    """Those of `conversation_ids` that `wish` would make due: their last message unknown, never
    read, and not already due for as good a reason. Reads only (two queries at most)."""
    ids = list(dict.fromkeys(conversation_ids))
    if not ids:
        return []
    known = set(
        ConversationLife.objects.filter(conversation_id__in=ids, last_message_at__isnull=False).values_list(
            "conversation_id", flat=True
        )
    )
    unknown = [cid for cid in ids if cid not in known]
    if not unknown:
        return []
    settled = set(
        Reading.objects.filter(conversation_id__in=unknown)
        .filter(Q(last_read_at__isnull=False) | Q(why__gte=why, next_read_at__isnull=False))
        .values_list("conversation_id", flat=True)
    )
    return [cid for cid in unknown if cid not in settled]


def plan_waiting(*, now: datetime) -> None:
    """Waiting conversations get their re-reads: due the backoff's first wait after the timeline
    last learned a message of one (a new one restarts the backoff). Those no longer waiting (answered, closed,
    waiting beyond the horizon) are not re-read."""
    waiting = ConversationLife.objects.filter(
        first_inbound_at__isnull=False, last_inbound_at__gte=now - WAITING_HORIZON
    ).exclude(status__in=CLOSED_STATUSES)
    rows = Reading.objects.filter(conversation_id=OuterRef("conversation_id"))
    news = (
        waiting.annotate(planned=Exists(rows), as_of=Subquery(rows.values("messages_as_of")[:1]))
        .filter(Q(planned=False) | Q(as_of__isnull=True) | Q(as_of__lt=F("messages_learned_at")))
        .values_list("conversation_id", "messages_learned_at")
    )
    plans = [
        Reading(conversation_id=cid, messages_as_of=learned, attempts=0, next_read_at=(learned or now) + _first_reread())
        for cid, learned in news
    ]
    if plans:
        Reading.objects.bulk_create(
            plans,
            update_conflicts=True,
            unique_fields=["conversation_id"],
            update_fields=["messages_as_of", "attempts", "next_read_at"],
        )
    Reading.objects.filter(why=Reading.Why.WAITING, next_read_at__isnull=False).exclude(
        conversation_id__in=waiting.values("conversation_id")
    ).update(next_read_at=None, attempts=0)


# Claims


def claim(token: str, *, limit: int, now: datetime) -> list[Reading]:
    """Up to `limit` due rows, highest reason first, claimed for this run (`token`) until the
    lease ends. Rows another worker holds locked or claimed are skipped (PostgreSQL); SQLite
    runs one writing transaction at a time, so there the claims simply follow each other."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    with transaction.atomic():
        due = (
            Reading.objects.filter(free, next_read_at__lte=now)
            .order_by("-why", "next_read_at", "id")
            .select_for_update(skip_locked=True)
        )
        chosen = list(due.values_list("pk", flat=True)[:limit])
        if not chosen:
            return []
        Reading.objects.filter(free, pk__in=chosen).update(claim=token, claimed_until=now + LEASE)
    return list(Reading.objects.filter(claim=token, pk__in=chosen).order_by("-why", "next_read_at", "id"))


def release(rows: Iterable[Reading], token: str) -> None:
    """Claimed rows left unread (the budget ran out): due again as they were."""
    Reading.objects.filter(claim=token, pk__in=[row.pk for row in rows]).update(claim="", claimed_until=None)


def read(row: Reading, token: str, *, learned: int, now: datetime) -> None:
    """The row was read and the timeline took in `learned` new messages: the next read is
    planned if the conversation is waiting (the backoff restarted by news), else none."""
    life = ConversationLife.objects.filter(conversation_id=row.conversation_id).first()
    as_of = life.messages_learned_at if life is not None else None
    news = learned > 0 or (as_of is not None and (row.messages_as_of is None or as_of > row.messages_as_of))
    attempts = 0 if news else row.attempts + 1
    due = now + reread_after(attempts) if _waiting(life, now=now) else None
    Reading.objects.filter(pk=row.pk, claim=token).update(
        last_read_at=now, next_read_at=due, attempts=attempts, messages_as_of=as_of, why=Reading.Why.WAITING,
        claim="", claimed_until=None,
    )


def read_since(conversation_id: str, moment: datetime) -> bool:
    """Whether the conversation's newest messages were read at or after `moment`."""
    return Reading.objects.filter(conversation_id=conversation_id, last_read_at__gte=moment).exists()


def read_elsewhere(conversation_id: str, *, learned: int, now: datetime) -> None:
    """The conversation was read outside a run (an alert's check): its next re-read is planned
    as if a run had read it, unless a run holds it claimed now. A conversation no run has read
    yet gets its row, so that the read is remembered (`read_since`)."""
    row, _ = Reading.objects.get_or_create(conversation_id=conversation_id, defaults={"why": Reading.Why.WAITING})
    if not row.claim:
        read(row, "", learned=learned, now=now)


def failed(row: Reading, token: str, *, gone: bool, now: datetime) -> None:
    """The read failed: a conversation WapiKit no longer has is not read again; any other
    failure is tried again on the backoff."""
    if gone:
        fields = {"last_read_at": now, "next_read_at": None}
    else:
        fields = {"attempts": row.attempts + 1, "next_read_at": now + reread_after(row.attempts + 1)}
    Reading.objects.filter(pk=row.pk, claim=token).update(claim="", claimed_until=None, **fields)


def next_due() -> datetime | None:
    return Reading.objects.filter(next_read_at__isnull=False).aggregate(first=Min("next_read_at"))["first"]


def _waiting(life: ConversationLife | None, *, now: datetime) -> bool:
    return (
        life is not None
        and life.first_inbound_at is not None
        and life.status not in CLOSED_STATUSES
        and life.last_inbound_at is not None
        and life.last_inbound_at >= now - WAITING_HORIZON
    )


# Runs


def plan_run(at: datetime, *, now: datetime) -> bool:
    """Whether a run at `at` must be enqueued: none is planned at or before it (or the one
    planned is overdue, lost). One run is planned at a time, however many ask."""
    moved = (
        ReadingPlan.objects.filter(name=_RUNS)
        .filter(Q(run_at__isnull=True) | Q(run_at__gt=at) | Q(run_at__lt=now - LOST_RUN))
        .update(run_at=at)
    )
    if moved:
        return True
    _, created = ReadingPlan.objects.get_or_create(name=_RUNS, defaults={"run_at": at})
    return created


def run_began(*, now: datetime) -> None:
    """The planned run is this one: the next is planned afresh when it ends."""
    ReadingPlan.objects.filter(name=_RUNS, run_at__lte=now).update(run_at=None)


def sweep_due(*, every: timedelta, now: datetime, name: str = _SWEEPS) -> bool:
    """Whether this run sweeps the Active list (or does the work `name` says): one run in
    `every`, across the deployment."""
    if ReadingPlan.objects.filter(name=name).filter(Q(run_at__isnull=True) | Q(run_at__lte=now)).update(
        run_at=now + every
    ):
        return True
    _, created = ReadingPlan.objects.get_or_create(name=name, defaults={"run_at": now + every})
    return created


def next_sweep() -> datetime | None:
    return ReadingPlan.objects.filter(name=_SWEEPS).values_list("run_at", flat=True).first()
