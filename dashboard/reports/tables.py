"""The report's tables beyond the figures: per member, per role, the backlog, and one row per
conversation with its clocks; the same rows feed the page and its CSV."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlencode

from django.db.models import BooleanField, ExpressionWrapper, F, Max, Q, Value
from django.db.models.functions import Mod, TruncDate
from django.urls import reverse

from dashboard.conversations.models import ConversationLife
from dashboard.reporting import figures
from dashboard.reporting.access import Scope
from dashboard.reporting.models import BacklogSnapshot
from dashboard.reporting.periods import Bucket
from dashboard.wapikit.types import Member

from .shape import BACKLOG_SERIES, POINTS, Cell, cell, list_url


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    detail: str
    cells: list[tuple[str, Cell]]  # (the figure's heading, its cell)


def member_rows(report: figures.Report, members: list[Member], scope: Scope, query: dict) -> list[Row]:
    """One row per member the scope shows (the team: every listed member, and any other who
    held a conversation in the span)."""
    listed = {m.unique_id: m for m in members}
    ids = sorted(listed, key=lambda i: (listed[i].name or listed[i].email).lower())
    ids += sorted(i for i in report.by_member if i not in listed)
    rows = []
    for member_id in ids:
        if not scope.may_see_member(member_id):
            continue
        member = listed.get(member_id)
        name = (member.name or member.email) if member else f"Member {member_id} (not in WapiKit's list)"
        roles = ", ".join(role.name for role in member.roles) if member else ""
        tally = report.by_member.get(member_id)
        cells = [
            (figures.FIGURES[key][0], cell(tally, key, list_url(query, key, member=member_id)))
            for key in figures.MEMBER_FIGURES
        ]
        rows.append(Row(name, roles, cells))
    return rows


def role_tallies(report: figures.Report, members: list[Member]) -> dict[str, figures.Tally]:
    by_role: dict[str, figures.Tally] = {}
    for member in members:
        tally = report.by_member.get(member.unique_id)
        for role in member.roles:
            if tally is not None:
                by_role.setdefault(role.name, figures.Tally()).merge(tally)
            else:
                by_role.setdefault(role.name, figures.Tally())
    return by_role


def role_rows(report: figures.Report, members: list[Member], query: dict) -> list[Row]:
    """Per role, what its members were credited with (a member of two roles counts in both)."""
    rows = []
    for name, tally in sorted(role_tallies(report, members).items(), key=lambda pair: pair[0].lower()):
        holders = sum(1 for m in members if any(r.name == name for r in m.roles))
        cells = [
            (figures.FIGURES[key][0], cell(tally, key, list_url(query, key, role=name))) for key in figures.MEMBER_FIGURES
        ]
        rows.append(Row(name, f"{holders} member{'s' if holders != 1 else ''}", cells))
    return rows


class Snapshot(NamedTuple):
    at: datetime
    active: int
    unassigned: int
    waiting: int
    overdue: int


def snapshots_in(start: datetime, end: datetime, *, points: int = POINTS) -> list[Snapshot]:
    """The span's snapshots for its chart: about `points` of them, evenly taken in SQL (every
    n-th by id: snapshots are written one after the other, as time goes)."""
    found = BacklogSnapshot.objects.filter(at__gte=start, at__lt=end)
    stride = max(1, found.count() // points)
    if stride > 1:
        found = found.annotate(rest=Mod(F("id"), Value(stride))).filter(rest=0)
    columns = ("at", "active", "unassigned", "waiting", "overdue")
    return [Snapshot(*row) for row in found.order_by("at").values_list(*columns)]


def last_snapshots(buckets: list[Bucket], zone, query: dict) -> list[tuple[Bucket, dict | None]]:
    """Each day or week's last snapshot (None: no snapshot, not observed): the last of each day,
    in the team's time zone, found by one grouped query and read by another. Its `cells` link
    each count to the conversations counted, where the snapshot kept them."""
    if not buckets:
        return []
    columns = ("at", "active", "unassigned", "waiting", "overdue")
    days = (
        BacklogSnapshot.objects.filter(at__gte=buckets[0].start, at__lt=buckets[-1].end)
        .annotate(day=TruncDate("at", tzinfo=zone)).values("day").annotate(last=Max("at")).values_list("last", flat=True)
    )
    kept = ExpressionWrapper(Q(conversations__isnull=False), output_field=BooleanField())
    lasts = (BacklogSnapshot.objects.filter(at__in=list(days)).annotate(kept=kept).order_by("at")
             .values_list("pk", "kept", *columns))
    starts = [bucket.start for bucket in buckets]
    by_bucket: dict = {}
    for pk, linked, *counts in lasts:
        snapshot = Snapshot(*counts)
        by_bucket[buckets[bisect.bisect_right(starts, snapshot.at) - 1].key] = (pk, linked, snapshot)
    base = f"{reverse('report_backlog')}?{urlencode(query)}"
    found = []
    for bucket in buckets:
        if bucket.key not in by_bucket:
            found.append((bucket, None))
            continue
        pk, linked, snapshot = by_bucket[bucket.key]
        cells = [
            (label, Cell(value, str(value), f"{base}&snapshot={pk}&series={name}" if linked and value else ""))
            for (name, label), value in zip(BACKLOG_SERIES, snapshot[1:], strict=True)
        ]
        found.append((bucket, {**snapshot._asdict(), "time": f"{snapshot.at.astimezone(zone):%H:%M}", "cells": cells}))
    return found


# Ids per query: well under every database's limit on a query's parameters.
_CHUNK = 500
CONVERSATION_COLUMNS = (
    "conversation_id", "began_at", "first_response_at", "first_response_minutes", "first_response_met",
    "next_responses", "next_responses_met", "next_response_minutes_longest", "first_assigned_at",
    "minutes_to_first_assignment", "assigned_by_hand", "assigned_by_routing", "closes", "windows_lost",
    "status_now", "waiting_since_now",
)


def conversation_rows(tally: figures.Tally, zone) -> list[dict]:
    """One row per conversation the tally counts, with its clocks in the span (times in the
    team's time zone; minutes as the response clocks count)."""
    found: dict[str, dict] = defaultdict(lambda: {"next_responses": 0, "next_responses_met": 0, "closes": 0,
                                                  "assigned_by_hand": 0, "assigned_by_routing": 0, "windows_lost": 0})
    stamp = lambda moment: moment.astimezone(zone).isoformat(timespec="minutes")  # noqa: E731
    for item in tally.lists.get("new", []):
        found[item.conversation_id]["began_at"] = stamp(item.at)
    for item in tally.lists.get("first_responses", []):
        row = found[item.conversation_id]
        row.update(first_response_at=stamp(item.at), first_response_minutes=item.minutes,
                   first_response_met="yes" if item.met else "no")
    for item in tally.lists.get("next_responses", []):
        row = found[item.conversation_id]
        row["next_responses"] += 1
        row["next_responses_met"] += bool(item.met)
        row["next_response_minutes_longest"] = max(row.get("next_response_minutes_longest") or 0, item.minutes or 0)
    for item in tally.lists.get("assignments", []):
        found[item.conversation_id].update(first_assigned_at=stamp(item.at), minutes_to_first_assignment=item.minutes)
    for name, column in (("assigned_by_hand",) * 2, ("assigned_by_routing",) * 2, ("closed", "closes"),
                         ("windows_lost",) * 2):
        for item in tally.lists.get(name, []):
            found[item.conversation_id][column] += 1
    ids, lives = list(found), {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ConversationLife.objects.filter(conversation_id__in=ids[start : start + _CHUNK])
        lives.update((life.conversation_id, life) for life in chunk.only("conversation_id", "status", "first_inbound_at"))
    rows = []
    for cid in sorted(found):
        life = lives.get(cid)
        row = {column: found[cid].get(column, "") for column in CONVERSATION_COLUMNS}
        row["conversation_id"] = cid
        row["status_now"] = life.status if life else ""
        row["waiting_since_now"] = stamp(life.first_inbound_at) if life and life.first_inbound_at else ""
        rows.append(row)
    return rows

