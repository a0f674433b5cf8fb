"""Routing's simulated day (issue 21), time compressed, against a live deployment (a `server`
sandbox with its rate limits on, the dashboard with production settings, its events listener and
two tasks workers): new conversations published through WapiKit's webhook over the day, eight
members going online and offline (the live streams' presence, written as the streams write it),
one without the permission, two who never answer; the others answer in WapiKit's own UI a few
simulated minutes after a conversation becomes theirs. Each figure is computed from the
dashboard's own records (routing's claims and take-backs), the sandbox's true assignments and
/metrics, against the schedule the day kept."""

from __future__ import annotations

import heapq
import math
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from devtools.benchday import deployment
from devtools.benchday.day import Sandbox
from devtools.benchday.deployment import MANAGE, Compression
from devtools.benchlive import deployment as live

# Its own Redis database (flushed): bench-day's is 13.
REDIS_URL = "redis://127.0.0.1:6379/14"

ASSIGN_ROUTE = "/conversation/:id/assign"
CAPACITY = 60
# The rule's minutes are whole real minutes: one is an hour of a day compressed 60 times.
UNANSWERED_MINUTES = 1
NEW_MEMBER = ("Noor Haddad", "noor.haddad@example.com")
# Who never answers, and who may not see conversations (the seed gives Tomás no role).
SILENT = ("jonas.becker@example.com", "manager@example.com")
UNPERMITTED = "norole@example.com"
# A claim this close to a member's change of presence is not judged: routing read it just before.
PRESENCE_TOLERANCE = 1.0

_ADD_MEMBER = """
from django.utils import timezone
from devtools.sandbox.models import Member, Role
member = Member.objects.create(name={name!r}, email={email!r}, created_at=timezone.now())
member.roles.set(Role.objects.filter(name="Support agent"))
"""
_RULE = """
from dashboard.routing.models import Rule
Rule.objects.create(name="Everyone", member_ids={member_ids!r}, capacity={capacity}, presence="online",
    online_minutes=1, grace_minutes=0, unanswered_minutes={unanswered}, take_back_to="rule")
"""


@dataclass
class Schedule:
    """Who is online when (real Unix seconds): each member's (from, to) spans."""

    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def online(self, member_id: str, at: float) -> bool:
        return any(start <= at < end for start, end in self.spans.get(member_id, ()))

    def near_change(self, member_id: str, at: float) -> bool:
        return any(abs(at - edge) < PRESENCE_TOLERANCE for span in self.spans.get(member_id, ()) for edge in span)


def plan_presence(members: dict[str, str], began: float, length: float, rng: random.Random) -> Schedule:
    """Most members online all day; one leaves at midday; one comes late and flickers; the Owner
    is online in the morning only."""
    end = began + length + 3600
    spans = {mid: [(began, end)] for mid in members.values()}
    spans[members["owner@example.com"]] = [(began, began + length / 2)]
    spans[members["fatima.elamrani@example.com"]] = [(began, began + length * 0.5), (began + length * 0.75, end)]
    late = began + length / 4
    flickers = sorted(rng.uniform(late, began + length) for _ in range(6))
    spans[members["manager@example.com"]] = [(late, flickers[0]), *zip(flickers[1::2], flickers[2::2] + [end])]
    return Schedule(spans)


class Presence:
    """Writes routing's presence rows as the live streams do: a check about once a (real)
    second while a member is online, the stream's end when they leave."""

    def __init__(self, database: Path, schedule: Schedule) -> None:
        self.db = sqlite3.connect(database, timeout=10, isolation_level=None)
        self.schedule = schedule
        self.was: dict[str, bool] = {}

    def tick(self, now: float) -> None:
        stamp = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        for member_id in self.schedule.spans:
            online = self.schedule.online(member_id, now)
            if online:
                self.db.execute(
                    "INSERT INTO routing_seen (member_id, seen_at, left_at) VALUES (?, ?, NULL)"
                    " ON CONFLICT (member_id) DO UPDATE SET seen_at = excluded.seen_at", (member_id, stamp))
            elif self.was.get(member_id):
                self.db.execute("UPDATE routing_seen SET left_at = ? WHERE member_id = ?", (stamp, member_id))
            self.was[member_id] = online

    def close(self) -> None:
        self.db.close()


def add_member_and_rule(sandbox_env: dict, dashboard_env: dict, api) -> dict[str, str]:
    """The eighth member, in the sandbox's database; the rule naming all eight, in the dashboard's
    (straight to the database: the page would refuse the member without the permission)."""
    manage = [sys.executable, str(MANAGE), "shell", "-c"]
    name, email = NEW_MEMBER
    subprocess.run([*manage, _ADD_MEMBER.format(name=name, email=email)], env=sandbox_env, check=True,
                   capture_output=True)
    answer = api.session.get(f"{api.base_url}/organization/members", params={"page": 1, "per_page": 50}, timeout=10)
    answer.raise_for_status()
    members = {m["email"]: m["uniqueId"] for m in answer.json()["members"]}
    script = _RULE.format(member_ids=sorted(members.values()), capacity=CAPACITY, unanswered=UNANSWERED_MINUTES)
    subprocess.run([*manage, script], env=dashboard_env, check=True, capture_output=True)
    return members


@dataclass
class Record:
    posted: dict[str, float]
    claims: list[tuple]  # (conversation, trigger, member, state, claimed_at, assigned_at) in Unix seconds
    take_backs: list[tuple[str, str, float, float]]  # (conversation, from member, deadline, taken_at)
    active_assignments: dict[str, list[str]]  # the sandbox's active assignments, per conversation


def run(api, sandbox: Sandbox, database: Path, members: dict[str, str], *, conversations: int, hours: float,
        compression: Compression, reply_minutes: float, seed: int, progress) -> tuple[Record, Schedule, float]:
    rng = random.Random(seed)
    length = compression.real(hours * 60)
    began = time.time()
    schedule = plan_presence(members, began, length, rng)
    presence = Presence(database, schedule)
    arrivals = sorted(began + rng.uniform(0, length) for _ in range(conversations))
    answering = {mid for email, mid in members.items() if email not in SILENT}
    replies: list[tuple[float, str]] = []
    replied: set[tuple[str, str]] = set()
    posted: dict[str, float] = {}
    reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    next_beat = 0.0
    try:
        while arrivals or time.time() < began + length:
            now = time.time()
            if now >= next_beat:
                presence.tick(now)
                next_beat = now + 1
            while arrivals and arrivals[0] <= now:
                arrivals.pop(0)
                sent = time.time()
                posted[sandbox.new_conversation(len(posted))] = sent
                if len(posted) % 50 == 0:
                    progress(f"  {len(posted)} new conversations")
            for cid, member in reader.execute("SELECT conversation_id, member_id FROM routing_claim WHERE state = 'assigned'"):
                if member in answering and (cid, member) not in replied:
                    replied.add((cid, member))
                    delay = compression.real(rng.expovariate(1 / reply_minutes))
                    heapq.heappush(replies, (now + delay, cid))
            while replies and replies[0][0] <= now:
                _, cid = heapq.heappop(replies)
                sandbox.reply(cid, "On it")
            time.sleep(0.05)
        # What is due at the day's end is made by the workers' next polls.
        time.sleep(compression.worker_interval() * 2 + 2)
        claims = [
            (cid, trigger, member, state, _unix(claimed), _unix(assigned) if assigned else None)
            for cid, trigger, member, state, claimed, assigned in reader.execute(
                "SELECT conversation_id, trigger, member_id, state, claimed_at, assigned_at FROM routing_claim")
        ]
        take_backs = [(cid, member, _unix(deadline), _unix(taken)) for cid, member, deadline, taken in reader.execute(
            "SELECT conversation_id, from_member_id, deadline, taken_at FROM routing_takeback")]
    finally:
        reader.close()
        presence.close()
    states = {}
    for cid in posted:
        answer = api.session.get(api.base_url.removesuffix("/api") + f"/_sandbox/state/{cid}", timeout=10)
        answer.raise_for_status()
        states[cid] = answer.json()["assignee_ids"]
    return Record(posted, claims, take_backs, states), schedule, began


def _unix(stored: str) -> float:
    moment = datetime.fromisoformat(stored)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


# The figures


def rows(record: Record, schedule: Schedule, members: dict[str, str], compression: Compression,
         assign_calls: int) -> list[tuple[str, str]]:
    names = {mid: email for email, mid in members.items()}
    assigned = [c for c in record.claims if c[5] is not None]
    return [
        _balance(assigned, schedule, members, names),
        _wrong_members(assigned, record, schedule, members),
        _latency(assigned, record),
        _take_backs(record, compression),
        (
            "upstream assign calls per assignment (target 1)",
            f"{assign_calls / len(assigned):.2f} ({assign_calls} calls, {len(assigned)} assignments)" if assigned else "none",
        ),
        _doubles(record),
    ]


def _balance(assigned, schedule, members, names) -> tuple[str, str]:
    """Members online all day who answer, all of one capacity: assignments each received."""
    steady = [mid for email, mid in members.items() if email not in SILENT and email != UNPERMITTED
              and len(schedule.spans[mid]) == 1 and email != "owner@example.com"]
    counts = {mid: sum(1 for c in assigned if c[2] == mid) for mid in steady}
    low, high = min(counts.values()), max(counts.values())
    ratio = high / low if low else math.inf
    shares = ", ".join(f"{names[mid]} {n}" for mid, n in counts.items())
    return "max ÷ min assigned among online members of equal capacity (target ≤ 1.25)", f"{ratio:.2f} ({shares})"


def _wrong_members(assigned, record, schedule, members) -> tuple[str, str]:
    unpermitted_id = members[UNPERMITTED]
    released = {(cid, member): taken for cid, member, _, taken in record.take_backs}
    offline = unpermitted = full = 0
    for cid, _, member, _, claimed_at, assigned_at in assigned:
        if member == unpermitted_id:
            unpermitted += 1
        if not schedule.online(member, claimed_at) and not schedule.near_change(member, claimed_at):
            offline += 1
        holding = sum(1 for other in assigned if other[2] == member and other[5] < assigned_at
                      and released.get((other[0], member), math.inf) > claimed_at)
        if holding >= CAPACITY:
            full += 1
    return ("assignments to offline, unpermitted or full members (target 0)",
            f"{offline + unpermitted + full} ({offline} offline, {unpermitted} unpermitted, {full} full)")


def _latency(assigned, record) -> tuple[str, str]:
    waits = sorted(c[5] - record.posted[c[0]] for c in assigned if c[1] == "new conversation" and c[0] in record.posted)
    if not waits:
        return "new conversation → assigned, p95 (target ≤ 5 s)", "none assigned by its event"
    p95 = waits[min(len(waits) - 1, math.ceil(0.95 * len(waits)) - 1)]
    return ("new conversation → assigned, p95 (target ≤ 5 s)",
            f"{p95:.2f} s real ({len(waits)} of {len(record.posted)} assigned by their own event; the rest by a sweep)")


def _take_backs(record, compression) -> tuple[str, str]:
    if not record.take_backs:
        return "take-backs made within 1 minute of their deadline (target all)", "none made"
    late = [compression.minutes(taken - deadline) for _, _, deadline, taken in record.take_backs]
    within = sum(1 for minutes in late if minutes <= 1)
    return ("take-backs made within 1 minute of their deadline (target all)",
            f"{within} of {len(late)} (latest {max(late):.2f} simulated min after its deadline)")


def _doubles(record) -> tuple[str, str]:
    doubles = sum(1 for active in record.active_assignments.values() if len(active) > 1)
    return ("double assignments, two worker processes on Redis (target 0)",
            f"{doubles} of {len(record.active_assignments)} conversations hold two active assignments")


def routing_rows(*, conversations: int, hours: float, scale: float, reply_minutes: float, seed: int = 7,
                 progress=lambda line: None) -> list[tuple[str, str]]:
    """The deployment started, the eighth member and the rule set up, the day run, its rows."""
    compression = Compression(scale)
    directory = Path(tempfile.mkdtemp(prefix="wapikit-bench-routing-"))
    redis_url = os.environ.get("BENCH_ROUTING_REDIS_URL", REDIS_URL)
    shared, _ = live.shared_redis(redis_url)
    try:
        with deployment.server_sandbox(directory, compression) as api:
            sandbox_env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / 'day-sandbox.sqlite3'}",
                           "SANDBOX_PROFILE": "server", "SANDBOX_API_KEY": deployment.API_KEY}
            env = deployment.dashboard_env(directory, api.base_url, compression, redis_url if shared else None)
            env["ROUTING_SWEEP_SECONDS"] = repr(180 / scale)
            with deployment.day_dashboard(directory, env, compression) as dashboard:
                members = add_member_and_rule(sandbox_env, env, api)
                second = _second_worker(directory, env, dashboard.url, compression)
                try:
                    live.wait_until(lambda: api.control()["event_subscribers"] >= 1, "the listener subscribed", 60)
                    progress(f"  the day begins: {conversations} new conversations over {hours:g} hours")
                    record, schedule, _ = run(api, Sandbox(api), dashboard.database, members,
                                              conversations=conversations, hours=hours, compression=compression,
                                              reply_minutes=reply_minutes, seed=seed, progress=progress)
                    calls = deployment.upstream_calls(dashboard)
                finally:
                    second.terminate()
                    second.wait(timeout=10)
    finally:
        deployment.clear_up(directory, shared, progress)
    assign_calls = sum(n for (_, route, _), n in calls.items() if route == ASSIGN_ROUTE)
    return rows(record, schedule, members, compression, assign_calls)


def _second_worker(directory: Path, env: dict, url: str, compression: Compression) -> subprocess.Popen:
    """Another `db_worker` beside the deployment's: routing's claims keep two from assigning twice."""
    with open(directory / "day-worker-2.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, str(MANAGE), "db_worker", "--no-reload", "--interval", f"{compression.worker_interval():g}"],
            env={**env, "LIVE_INGEST_URL": f"{url}/live/ingest/", "LIVE_HANDS_OVER": "true"},
            stdout=log, stderr=subprocess.STDOUT,
        )
