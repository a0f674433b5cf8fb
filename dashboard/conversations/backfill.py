"""The background reads that teach the timeline what WapiKit's list answers leave out: the
server's list carries no messages, so a conversation's last message is known only once an event
delivered one, or once its newest page of messages is read here.

Work, on Django's Tasks framework (`manage.py db_worker` runs it): `read_due` reads the
conversations that `reading` says are due (what users are looking at first, then the Active
list's, then the waiting conversations' re-reads) and gives what it read to the timeline through
`now.messages_read`. Every read is a background read (`newest.read`: never into the reserve kept
for what users open and do), and spends at most the routine part of WAPIKIT_BACKGROUND_READ_SHARE
of the messages route's limit in each of WapiKit's windows: past that, the run stops and plans the
next at the window's reset, so background reads never meet a 429.

One run is planned at a time (`reading.plan_run`); each plans the next when it ends: at once
while more is due, at the budget's return, at the next due re-read, and at least once a sweep
interval (WAPIKIT_SWEEP_SECONDS, 10 minutes unless set), when a run also looks through the Active
list for conversations it does not know."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.tasks import task
from django.utils import timezone

from dashboard.wapikit import budget, errors

from . import newest, now, reading, scan, timeline
from .models import Reading

logger = logging.getLogger("dashboard.conversations.backfill")

# Reads in one run; a run that reads as many plans the next at once.
BATCH = 20
# The timeline's retention (TIMELINE_RETENTION_DAYS) is applied once a day, by a run of the reads.
RETENTION_EVERY = timedelta(days=1)


def sweep_every() -> timedelta:
    return timedelta(seconds=settings.WAPIKIT_SWEEP_SECONDS)


def wanted(conversation_ids: Iterable[str]) -> None:
    """The conversations a user's page shows: those whose last message the timeline does not
    know are read before any other, by the worker. Cheap enough for every page view: no
    request to WapiKit, two queries when nothing is new."""
    moment = timezone.now()
    conversation_ids = list(conversation_ids)
    try:
        # Asked before the transaction: on SQLite every transaction takes the write lock at once,
        # and the pages whose conversations are all known (nearly all) must not queue for it.
        if not reading.unwished(conversation_ids, why=Reading.Why.WANTED):
            return
        with transaction.atomic():
            if reading.wish(conversation_ids, why=Reading.Why.WANTED, now=moment):
                _plan(moment, moment=moment)
    except DatabaseError as exc:
        # The page is shown whatever becomes of the wish.
        logger.warning("could not plan the reads a page wanted: %s", type(exc).__name__)


def start() -> None:
    """Plan a run now, unless one is planned (`make run` at its start)."""
    moment = timezone.now()
    _plan(moment, moment=moment)


@task
def read_due() -> dict[str, int]:
    """One run of the background reads: the due conversations read, up to BATCH, within the
    budget's share; then the next run planned. What it did, for the task's result."""
    moment = timezone.now()
    reading.run_began(now=moment)
    done = {"read": 0, "learned": 0, "failed": 0, "swept": 0, "expired": 0}
    next_at: datetime | None = None
    try:
        if reading.sweep_due(every=sweep_every(), now=moment):
            done["swept"] = sweep_active(moment=moment)
        if reading.sweep_due(every=RETENTION_EVERY, now=moment, name="retention"):
            done["expired"] = timeline.expire(before=moment - timedelta(days=settings.TIMELINE_RETENTION_DAYS))
        reading.plan_waiting(now=moment)
        stopped_until = _read(done, token=uuid.uuid4().hex, moment=moment)
        next_at = _next_run(stopped_until, full=done["read"] + done["failed"] >= BATCH)
    finally:
        # Whatever failed, the work goes on: at the latest with the next sweep.
        _plan(next_at or timezone.now() + sweep_every(), moment=timezone.now())
    return done


def sweep_active(*, moment: datetime) -> int:
    """The Active list's conversations whose last message the timeline does not know, due for
    a read. How many were new. The scan is a background read: below the reserve it is skipped."""
    try:
        with budget.background():
            found = scan.scan_conversations("Active")
    except errors.WapiKitError as exc:
        logger.info("the Active list could not be swept for unknown conversations: %s", exc.kind)
        return 0
    return reading.wish((c.unique_id for c in found.conversations), why=Reading.Why.SWEPT, now=moment)


def _read(done: dict[str, int], *, token: str, moment: datetime) -> float | None:
    """Read the rows this run claims. None when all were read; else when the budget returns
    (Unix seconds), the rows not read left due."""
    rows = reading.claim(token, limit=BATCH, now=moment)
    for index, row in enumerate(rows):
        try:
            messages = newest.read(row.conversation_id, part=newest.routine_share())
        except errors.RateLimited as exc:  # the share spent, the reserve reached, or a 429
            reading.release(rows[index:], token)
            return exc.reset_at or time.time() + budget.DEFAULT_HOLD_SECONDS
        except errors.WapiKitError as exc:
            done["failed"] += 1
            gone = isinstance(exc, errors.NotFound | errors.InvalidId)
            reading.failed(row, token, gone=gone, now=timezone.now())
            continue
        learned = now.messages_read(row.conversation_id, messages)
        reading.read(row, token, learned=learned, now=timezone.now())
        done["read"] += 1
        done["learned"] += learned
    return None


def _next_run(stopped_until: float | None, *, full: bool) -> datetime:
    """When the next run goes: at the budget's return, at once when this one had more than it
    could read, else at the next due read, and at least every sweep interval."""
    moment = timezone.now()
    if stopped_until is not None:
        return max(datetime.fromtimestamp(stopped_until, tz=UTC), moment)
    if full:
        return moment
    candidates = [at for at in (reading.next_due(), reading.next_sweep()) if at is not None]
    return max(min(candidates, default=moment + sweep_every()), moment)


def _plan(at: datetime, *, moment: datetime) -> None:
    if reading.plan_run(at, now=moment):
        read_due.using(run_after=at if at > moment else None).enqueue()
