"""The simulated day: the conversations set up, a cold start timed, then inbound messages spread
over the day as WapiKit's webhook delivers them (stored, and a NewMessage event published) and
members answering in WapiKit's own UI (stored, no event: the dashboard learns of it only by
reading). Who spoke last in each conversation, the truth, is kept here as the sandbox is told;
what the dashboard believes is sampled from its database once a simulated minute, and its
upstream calls from /metrics.

One thread drives it all, so no message is in flight while a sample is taken. The sandbox stamps
messages in whole seconds; two messages of one conversation are never sent within the same
second, so their order on the dashboard is never a tie."""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from devtools.benchday import deployment
from devtools.benchday.deployment import Compression, Dashboard, DashboardDatabase
from devtools.benchmarks import benchkit

# The accuracy rows: how long after the truth changed (simulated minutes) the dashboard is judged.
GRACES = (1, 5, 15)


@dataclass
class Cycle:
    """One wait of a customer: from the inbound message that made them wait to the team's reply."""

    conversation: str
    sent: float  # when its first message was asked of the sandbox (Unix seconds)
    stored: float  # when the sandbox had stored it (its answer)
    first_response: bool  # the team never wrote before: the first-response target applies
    replied: float | None = None  # when the reply was asked of the sandbox


@dataclass
class Truth:
    """Who spoke last in each conversation, as the sandbox stored it, and since when."""

    waiting: dict[str, bool] = field(default_factory=dict)
    changed_at: dict[str, float] = field(default_factory=dict)
    answered_ever: set[str] = field(default_factory=set)
    cycles: list[Cycle] = field(default_factory=list)
    open: dict[str, Cycle] = field(default_factory=dict)

    def inbound(self, cid: str, *, sent: float, stored: float) -> None:
        if not self.waiting.get(cid):
            cycle = Cycle(cid, sent, stored, first_response=cid not in self.answered_ever)
            self.cycles.append(cycle)
            self.open[cid] = cycle
            self.waiting[cid], self.changed_at[cid] = True, stored

    def reply(self, cid: str, *, sent: float, stored: float) -> None:
        self.answered_ever.add(cid)
        if self.waiting.get(cid):
            self.open.pop(cid).replied = sent
            self.waiting[cid], self.changed_at[cid] = False, stored


@dataclass
class Accuracy:
    """(conversation, instant) pairs judged, and those the dashboard had right, per grace."""

    judged: dict[int, int] = field(default_factory=lambda: dict.fromkeys(GRACES, 0))
    right: dict[int, int] = field(default_factory=lambda: dict.fromkeys(GRACES, 0))
    # Wrong pairs at the longest grace: shown waiting though answered, shown answered though waiting.
    stale_waiting: int = 0
    missed_waiting: int = 0


@dataclass
class Day:
    conversations: list[str]
    truth: Truth
    accuracy: Accuracy
    began: float
    ended: float
    replies: int
    inbound: int
    # (Unix seconds, messages-route reads so far), about once a simulated minute.
    reads: list[tuple[float, int]]
    lag: list[float]
    # Conversations whose background read was due a simulated minute before the day ended, unmade.
    overdue: int = 0


class Sandbox:
    """The sandbox's webhook hooks: a contact writing (NewMessage), a member answering in WapiKit's UI."""

    def __init__(self, api: benchkit.SandboxApi) -> None:
        self.url = api.base_url.removesuffix("/api") + "/_sandbox/events"
        self.session = requests.Session()
        self.session.headers.update(api.session.headers)
        # A connection each: gunicorn closes idle ones after 2 s, which a POST reusing one would
        # meet as a reset.
        self.session.headers["Connection"] = "close"

    def post(self, body: dict) -> dict:
        answer = self.session.post(self.url, json=body, timeout=15)
        answer.raise_for_status()
        return answer.json()

    def new_conversation(self, index: int) -> str:
        return self.post({"type": "NewConversation", "text": f"Hello, customer {index} here",
                          "name": f"Customer {index}", "phone": f"+4477009{index:05d}"})["conversation_id"]

    def inbound(self, cid: str, text: str) -> None:
        self.post({"type": "NewMessage", "conversation_id": cid, "text": text})

    def reply(self, cid: str, text: str) -> None:
        self.post({"type": "Reply", "conversation_id": cid, "text": text})


def set_up(sandbox: Sandbox, count: int, truth: Truth) -> list[str]:
    """`count` Active conversations, each opened by its contact and answered once by the team
    (before the dashboard starts: no one hears of it)."""
    ids = []
    for index in range(count):
        sent = time.time()
        cid = sandbox.new_conversation(index)
        truth.inbound(cid, sent=sent, stored=time.time())
        ids.append(cid)
    # A second later, so that the answer is stamped after the question.
    time.sleep(max(0.0, math.floor(time.time()) + 1.05 - time.time()))
    for cid in ids:
        sent = time.time()
        sandbox.reply(cid, "Thanks, we are on it")
        truth.reply(cid, sent=sent, stored=time.time())
    truth.cycles.clear()  # the day's cycles are what the rows judge
    return ids


def cold_start(dashboard: Dashboard, database: DashboardDatabase, conversations: list[str], *,
               timeout: float) -> dict[str, float]:
    """Open the inbox once on the fresh dashboard and wait until the background reads settle:
    every conversation's last message known and no read for two seconds. The messages-route
    reads spent until the view's conversations were known, and until it settled."""
    before = deployment.messages_reads(deployment.upstream_calls(dashboard))
    started = time.time()
    page = requests.get(f"{dashboard.url}/", headers={"Cookie": dashboard.cookie}, timeout=30)
    if page.status_code != 200:
        raise RuntimeError(f"the inbox answered {page.status_code}")
    view = {cid for cid in conversations if cid in page.text}  # the cards the default view shows
    if not view:
        raise RuntimeError("the inbox showed none of the day's conversations")
    found: dict[str, float] = {}
    last_reads, still_since = -1, time.time()
    while True:
        reads = deployment.messages_reads(deployment.upstream_calls(dashboard)) - before
        known = {cid for cid, (_, known) in database.lives().items() if known}
        if "view" not in found and view <= known:
            found.update(view=len(view), view_reads=reads, view_seconds=time.time() - started)
        if reads != last_reads:
            last_reads, still_since = reads, time.time()
        if "view" in found and set(conversations) <= known and time.time() - still_since >= 2:
            found.update(settled_reads=reads, settled_seconds=still_since - started, known=len(known))
            return found
        if time.time() - started > timeout:
            found.update(settled_reads=reads, settled_seconds=math.nan, known=len(known), view=len(view))
            found.setdefault("view_reads", math.nan)
            found.setdefault("view_seconds", math.nan)
            return found
        time.sleep(0.25)


def run_day(sandbox: Sandbox, dashboard: Dashboard, database: DashboardDatabase, *, conversations: list[str],
            truth: Truth, compression: Compression, hours: float, messages: int, members: int,
            reply_minutes: float, seed: int, progress: Callable[[str], None]) -> Day:
    """The day: `messages` inbound messages at random moments, to conversations some busier than
    others; `members` members each answering a waiting conversation (the longest waiting half of
    the time, any other the rest), taking about `reply_minutes` each; the dashboard sampled."""
    rng = random.Random(seed)
    length = compression.real(hours * 60)
    began = time.time() + 0.5
    queue: list[tuple[float, int, str, object]] = []
    order = itertools.count()

    def at(moment: float, kind: str, what: object = None) -> None:
        heapq.heappush(queue, (moment, next(order), kind, what))

    weights = [1 / math.sqrt(rank + 1) for rank in range(len(conversations))]
    rng.shuffle(weights)
    for moment in sorted(rng.uniform(0, length) for _ in range(messages)):
        at(began + moment, "inbound", rng.choices(conversations, weights)[0])
    for member in range(members):
        at(began + rng.uniform(0, compression.real(1)), "member", member)
    minute = compression.real(1)
    at(began, "sample")
    reads: list[tuple[float, int]] = []
    accuracy = Accuracy()
    claimed: dict[int, str] = {}
    last_second: dict[str, int] = {}
    lag: list[float] = []
    inbound = replies = 0
    reported = began

    while queue:
        moment, _, kind, what = heapq.heappop(queue)
        if moment >= began + length and kind != "inbound":
            continue  # the day is over: members go home (an answer not sent by then is not), the samples stop
        wait = moment - time.time()
        if wait > 0:
            time.sleep(wait)
        now = time.time()
        if kind in ("inbound", "reply"):
            cid = what if kind == "inbound" else what[1]
            if math.floor(now) <= last_second.get(cid, -1):
                at(last_second[cid] + 1.02, kind, what)  # never two stamps of one conversation alike
                continue
            lag.append(now - moment)
            if kind == "inbound":
                sandbox.inbound(cid, f"Message {inbound} of the day")
                truth.inbound(cid, sent=now, stored=time.time())
                inbound += 1
            else:
                sandbox.reply(cid, f"Answer {replies} of the day")
                truth.reply(cid, sent=now, stored=time.time())
                del claimed[what[0]]
                replies += 1
                at(time.time(), "member", what[0])
            last_second[cid] = math.floor(time.time())
        elif kind == "member":
            waiting = [c for c, w in truth.waiting.items() if w and c not in claimed.values()]
            if not waiting:
                at(now + minute, "member", what)
                continue
            if rng.random() < 0.5:
                chosen = min(waiting, key=lambda c: truth.open[c].sent)
            else:
                chosen = rng.choice(waiting)
            claimed[what] = chosen
            at(now + compression.real(rng.uniform(0.5, 1.5) * reply_minutes), "reply", (what, chosen))
        elif kind == "sample":
            _sample(database, truth, conversations, compression, accuracy, now)
            reads.append((now, deployment.messages_reads(deployment.upstream_calls(dashboard))))
            at(moment + minute, "sample")
            if now - reported >= 30:
                reported = now
                progress(f"  day: {compression.minutes(now - began) / 60:.1f} of {hours:g} simulated hours, "
                         f"{inbound} inbound, {replies} replies")
    ended = max(time.time(), began + length)
    reads.append((ended, deployment.messages_reads(deployment.upstream_calls(dashboard))))
    overdue = database.overdue_reads(before=ended - minute)
    return Day(conversations, truth, accuracy, began, ended, replies, inbound, reads, lag, overdue)


def _sample(database: DashboardDatabase, truth: Truth, conversations: list[str], compression: Compression,
            accuracy: Accuracy, now: float) -> None:
    lives = database.lives()
    for cid in conversations:
        shown = lives.get(cid, (False, False))[0]
        true = truth.waiting.get(cid, False)
        since = now - truth.changed_at.get(cid, 0.0)
        for grace in GRACES:
            if since >= compression.real(grace):
                accuracy.judged[grace] += 1
                accuracy.right[grace] += shown == true
        if since >= compression.real(GRACES[-1]) and shown != true:
            if shown:
                accuracy.stale_waiting += 1
            else:
                accuracy.missed_waiting += 1
