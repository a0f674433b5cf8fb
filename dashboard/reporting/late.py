"""Facts learned late: a message the events stream missed and a read found days later, for a day
already rolled up. Each look reads only the log's rows added since the last one (their ids are
past `LogCursor`), so any day of the retention can be marked, not only the recent ones.

A late fact changes more than its own day: its conversation's later items (whether a team message
answered a waiting customer, who held it, the first assignment's time) and the reply windows its
customer messages of the 24 hours before had open (counted on the day they closed). Every rolled
day holding one of those, computed before the fact was learned, is marked stale (its
fingerprint emptied), so the next `rollup.roll_due` rolls it up again."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import F, Max

from dashboard.conversations.clocks import REPLY_WINDOW
from dashboard.conversations.models import LifeEvent

from .models import LogCursor, RolledDay
from .periods import FINAL_AFTER

STALE = ""  # the fingerprint of a day to roll up again
_CHUNK = 500  # conversations per query, well under every database's limit on parameters


def mark_stale(zone) -> set[date]:
    """The rolled days that facts learned since the last look change, marked stale. A fact
    learned less than FINAL_AFTER after it happened was in its day's rollup (a day is rolled up
    once it has been over that long), so only the later ones are followed."""
    with transaction.atomic():
        cursor, _ = LogCursor.objects.select_for_update().get_or_create(pk=1)
        newest = LifeEvent.objects.aggregate(newest=Max("id"))["newest"] or 0
        if newest <= cursor.checked_through:
            return set()
        late = LifeEvent.objects.filter(
            id__gt=cursor.checked_through, id__lte=newest, learned_at__gt=F("at") + FINAL_AFTER
        ).values_list("conversation_id", "at", "learned_at")
        changed = _days_changed(list(late), zone)
        stale = {
            day for day, computed_at in RolledDay.objects.filter(day__in=changed).values_list("day", "computed_at")
            if computed_at < changed[day]
        }
        RolledDay.objects.filter(day__in=stale).update(fingerprint=STALE)
        LogCursor.objects.filter(pk=cursor.pk).update(checked_through=newest)
    return stale


def _days_changed(late: list[tuple[str, datetime, datetime]], zone) -> dict[date, datetime]:
    """Each day whose items the late facts may change → when the last of them was learned."""
    since: dict[str, tuple[datetime, datetime]] = {}  # conversation → (its earliest late fact, last learned)
    for cid, at, learned_at in late:
        earliest, learned = since.get(cid, (at, learned_at))
        since[cid] = (min(earliest, at), max(learned, learned_at))
    changed: dict[date, datetime] = {}

    def touch(moment: datetime, learned: datetime) -> None:
        day = moment.astimezone(zone).date()
        changed[day] = max(changed.get(day, learned), learned)

    ids = sorted(since)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        first = min(since[cid][0] for cid in chunk)
        facts = LifeEvent.objects.filter(conversation_id__in=chunk, at__gte=first - REPLY_WINDOW)
        for cid, kind, at in facts.values_list("conversation_id", "kind", "at"):
            earliest, learned = since[cid]
            if at >= earliest:
                touch(at, learned)
            if kind == LifeEvent.Kind.INBOUND and at + REPLY_WINDOW >= earliest:
                touch(at + REPLY_WINDOW, learned)
    return changed
