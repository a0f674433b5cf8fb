"""Who has the dashboard open: the live streams say so (dashboard/live/access.py notes each
member's stream when it opens and at every check, about once a minute, and when it ends), and
routing reads it here. In the database, so every process of the deployment sees the same."""

from __future__ import annotations

from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone

from .engine import Visit
from .models import Seen


def seen(member_id: str, *, at: datetime | None = None) -> None:
    """The member's stream is open now. Never raises: presence is a hint, not a record."""
    if not member_id:
        return
    try:
        Seen.objects.update_or_create(member_id=member_id, defaults={"seen_at": at or timezone.now()})
    except DatabaseError:
        pass


def left(member_id: str, *, at: datetime | None = None) -> None:
    """One of the member's streams ended (a closed tab, a reload, a lost connection)."""
    if not member_id:
        return
    try:
        Seen.objects.filter(member_id=member_id).update(left_at=at or timezone.now())
    except DatabaseError:
        pass


def visits() -> dict[str, Visit]:
    return {row.member_id: Visit(row.seen_at, row.left_at) for row in Seen.objects.all()}
