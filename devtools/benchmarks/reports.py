"""The reports page at a team's scale (`make bench-reports`, `make bench`: reports_pg.py runs
these steps). Seeds 90 days of a 50-member team (about 200,000 logged facts, with routing's audit
entries, the backlog's snapshots every five minutes and one unobserved afternoon) into the
database in use and rolls its days up, as the snapshot task does; then times the report page and
its per-conversation CSV in this process, as of the moment the history was seeded, the member
list served from memory (no WapiKit).

Seeding uses PostgreSQL's COPY when the database is PostgreSQL (seconds for 200,000 rows), else
bulk_create in batches."""

from __future__ import annotations

import io
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from dashboard.conversations import members as members_module
from dashboard.conversations import targets
from dashboard.conversations.models import AuditEntry, ConversationLife, LifeEvent
from dashboard.reporting import rollup
from dashboard.reporting.models import BacklogSnapshot, ObservedPeriod
from dashboard.wapikit.types import Member, Role

from .benchkit import met

TARGET_MS = 300
MEMBERS = 50
ROLES = (("Agent", ["Get:Conversation", "Update:Conversation"]),
         ("Lead", ["Get:Conversation", "Update:Conversation", "Assign:Conversation"]))


def team() -> list[Member]:
    found = [Member(unique_id=str(uuid.UUID(int=1)), access_level="Owner", name="Bench Owner", email="owner@bench.test")]
    for n in range(2, MEMBERS + 1):
        name, permissions = ROLES[n % 7 == 0]
        found.append(Member(
            unique_id=str(uuid.UUID(int=n)), access_level="Member", name=f"Member {n:02d}", email=f"m{n}@bench.test",
            role_list=[Role(unique_id=str(uuid.UUID(int=1000 + n % 7)), name=name, permission_list=permissions)],
        ))
    return found


def _story(rng: random.Random, cid: str, began: datetime, member_ids: list[str]) -> Iterator[tuple]:
    """One conversation's log: (kind, at, member_id), and whether routing assigned it."""
    at = began
    yield "new", at, ""
    yield "inbound", at, ""
    at += timedelta(minutes=rng.randint(1, 40))
    yield "assigned", at, rng.choice(member_ids)
    for _ in range(rng.randint(2, 4)):
        at += timedelta(minutes=rng.randint(2, 180))
        yield "outbound", at, ""
        at += timedelta(minutes=rng.randint(5, 300))
        yield "inbound", at, ""
    if rng.random() < 0.8:
        at += timedelta(minutes=rng.randint(1, 60))
        yield "outbound", at, ""
        at += timedelta(minutes=rng.randint(1, 30))
        yield "closed", at, ""


def seed(*, days: int = 90, per_day: int = 230, now: datetime | None = None, say: Callable[[str], None] = print) -> int:
    """The team's history up to `now`; how many facts were logged."""
    now = now or timezone.now()
    rng = random.Random(22)
    member_ids = [m.unique_id for m in team()]
    events, audits, lives = [], [], []
    start = now - timedelta(days=days)
    for day in range(days):
        for n in range(per_day):
            cid = str(uuid.UUID(int=(day << 20) + n + (1 << 100)))
            began = start + timedelta(days=day, seconds=rng.randint(0, 86_399))
            for index, (kind, at, member) in enumerate(_story(rng, cid, began, member_ids)):
                if at >= now:
                    break
                events.append((f"{cid}:{kind}:{index}", cid, kind, at, "", "", member, "event", at))
                if kind == "assigned" and rng.random() < 0.4:
                    audits.append((cid, member, at - timedelta(seconds=20)))
            lives.append(cid)
    say(f"seeding {len(events):,} logged facts, {len(audits):,} routing audit entries, {len(lives):,} conversations")
    started = time.perf_counter()
    with transaction.atomic():
        _copy(LifeEvent, ["key", "conversation_id", "kind", "at", "message_id", "message_type", "member_id", "source",
                          "learned_at"], events)
        AuditEntry.objects.bulk_create(
            [AuditEntry(started_at=at, completed_at=at, user_email="routing@dashboard", conversation_id=cid,
                        action="assign", via="routing", after_assignee_id=member, outcome="succeeded")
             for cid, member, at in audits], batch_size=5000,
        )
        ConversationLife.objects.bulk_create(
            [ConversationLife(conversation_id=cid, status="Closed") for cid in lives], batch_size=5000
        )
        # Observed all along but one afternoon, 30 days ago: the report shows it as a gap.
        hole = now - timedelta(days=30)
        ObservedPeriod.objects.bulk_create([ObservedPeriod(started_at=start, ended_at=hole),
                                            ObservedPeriod(started_at=hole + timedelta(hours=4), ended_at=now)])
        BacklogSnapshot.objects.bulk_create(_snapshots(rng, start, now, hole, lives), batch_size=5000)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    say(f"seeded in {time.perf_counter() - started:.1f} s")
    return len(events)


def _snapshots(rng: random.Random, start: datetime, now: datetime, hole: datetime, lives: list[str]) -> list:
    """A snapshot every five minutes but in the unobserved afternoon; each day's last keeps its
    conversations, as snapshots.take leaves them."""
    zone = rollup.team_zone()
    found, at = [], start
    while at < now:
        if not hole <= at < hole + timedelta(hours=4):
            active = rng.sample(lives, min(rng.randint(40, 90), len(lives)))
            waiting = active[: rng.randint(5, 40)]
            ids = {"active": active, "unassigned": active[len(active) - rng.randint(0, 10):], "waiting": waiting,
                   "overdue": waiting[: rng.randint(0, 8)]}
            last = (at + timedelta(minutes=5)).astimezone(zone).date() != at.astimezone(zone).date() or (
                at + timedelta(minutes=5) >= now)
            found.append(BacklogSnapshot(at=at, conversations=ids if last else None,
                                         **{name: len(found_ids) for name, found_ids in ids.items()}))
        at += timedelta(minutes=5)
    return found


def roll_up(*, now: datetime, say: Callable[[str], None] = print) -> tuple[int, float]:
    """What the snapshot task does over a day's runs: every day over rolled up. (Days, seconds.)"""
    started = time.perf_counter()
    days = rollup.roll_due(rollup.team_zone(), targets.current(), now=now, limit=1000)
    seconds = time.perf_counter() - started
    say(f"rolled up {days} days in {seconds:.1f} s")
    return days, seconds


def _copy(model, columns: list[str], rows: list[tuple]) -> None:
    table = model._meta.db_table
    if connection.vendor != "postgresql":
        fields = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(fields, batch_size=5000)
        return
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in row) + "\n")
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())


def _median_ms(call: Callable[[], object], runs: int) -> tuple[float, int]:
    response = call()
    assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), len(response.content)


def rows(*, runs: int, facts: int, now: datetime, rolled: tuple[int, float]) -> list[tuple[str, str]]:
    """The report page for 30 and 90 days and the per-conversation CSV for 90, as an Owner, at
    `now` (the moment the history was seeded: the clock is held there)."""
    listed = team()
    found = [("reports' daily rollup, every day over (the snapshot task's work, when seeded)",
              f"{rolled[0]} days in {rolled[1]:.1f} s" + (f" ({rolled[1] / rolled[0] * 1000:.0f} ms a day)" if rolled[0] else ""))]
    today = now.astimezone(UTC).date()
    with override_settings(ALLOWED_HOSTS=["testserver"]), mock.patch.object(
        members_module, "members_list", return_value=listed
    ), mock.patch.object(timezone, "now", return_value=now):
        user, _ = get_user_model().objects.get_or_create(email=listed[0].email)
        client = Client()
        client.force_login(user)
        for days, by in ((30, "day"), (90, "day"), (90, "week")):
            query = {"since": (today - timedelta(days=days - 1)).isoformat(), "until": today.isoformat(), "by": by}
            median, size = _median_ms(lambda q=query: client.get("/reports/", q), runs)
            found.append((
                f"reports page, {days} days by {by} ({MEMBERS} members, {facts:,} facts, {connection.vendor})",
                f"{median:.0f} ms median of {runs} · {size:,} B, target < {TARGET_MS} ms{met(median < TARGET_MS)}",
            ))
        query = {"since": (today - timedelta(days=89)).isoformat(), "until": today.isoformat(), "by": "day",
                 "format": "csv", "table": "conversations"}
        median, size = _median_ms(lambda: client.get("/reports/", query), runs)
        found.append(("reports CSV, a row per conversation, 90 days", f"{median:.0f} ms median of {runs} · {size:,} B"))
    return found
