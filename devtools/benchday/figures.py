"""The day's rows, each with its definition and target beside it (`· met` or `· MISSED`).

- Waiting state right: at each sample (once a simulated minute), a conversation whose truth (who
  spoke last, as the sandbox stored it) last changed at least 1, 5 or 15 simulated minutes ago is
  judged: right when the dashboard's database says waiting (ConversationLife.first_inbound_at
  set) exactly when the customer spoke last. Targets: 90 %, 95 % and 99 % of the pairs judged.
- Messages-route reads per simulated hour: the most in any hour of the day (from /metrics, once a
  simulated minute), against the background reads' share of the route's limit per window
  (WAPIKIT_BACKGROUND_READ_SHARE × the limit): at most the share. Beside it, the conversations
  whose read was due (a simulated minute or more) and not made when the day ended.
- 429s: every route, the whole run (cold start and day): none.
- Alerts: a wait is expected to raise a response alert when it lasted a simulated minute past its
  clock's due-soon moment (its target less DUE_SOON_WARNING_MINUTES, from the message's stamp)
  before the day ended. The minute is the sandbox's stamp: whole seconds, a simulated minute at
  ×60, so a reply stamped in the due-soon second may already be what the alert's check reads (and
  rightly no alert is raised); such waits are counted beside the row. Each alert in the dashboard's Alert table is put to the wait the customer was in when it
  was raised (none: raised while the team had answered; early: before that wait's due-soon
  moment, the dashboard counting from an earlier wait whose answer it had not read yet).
  Targets: every expected wait alerted before its deadline; no wait alerted twice.
- Cold start: a fresh database, the inbox opened once; messages-route reads until every Active
  conversation's last message was known and the reads stopped (and how soon the default view's
  cards were known): at most one read a conversation."""

from __future__ import annotations

import math

from django.conf import settings

from devtools.benchday.day import GRACES, Day
from devtools.benchday.deployment import Compression
from devtools.benchmarks.benchkit import met

ACCURACY_TARGETS = {1: 0.90, 5: 0.95, 15: 0.99}


def day_row(day: Day, compression: Compression, members: int, hours: float) -> tuple[str, str]:
    lag = sorted(day.lag) or [0.0]
    p95 = lag[min(len(lag) - 1, int(len(lag) * 0.95))]
    return (
        f"the day: server sandbox with rate limits, time ×{compression.scale:g}",
        f"{len(day.conversations)} Active conversations · {day.inbound:,} inbound messages (NewMessage events) · "
        f"{day.replies:,} replies by {members} members in WapiKit's UI (no event) · {len(day.truth.cycles):,} waits · "
        f"{hours:g} simulated h in {day.ended - day.began:.0f} s · sends late p95 {p95 * 1000:.0f} ms",
    )


def accuracy_rows(day: Day) -> list[tuple[str, str]]:
    rows = []
    for grace in GRACES:
        judged, right = day.accuracy.judged[grace], day.accuracy.right[grace]
        share = right / judged if judged else math.nan
        target = ACCURACY_TARGETS[grace]
        extra = ""
        if grace == GRACES[-1]:
            extra = (f" · wrong: {day.accuracy.stale_waiting:,} shown waiting though answered, "
                     f"{day.accuracy.missed_waiting:,} shown answered though waiting")
        rows.append((
            f"waiting state right on the dashboard, {grace} simulated min after the truth changed",
            f"{share:.1%} of {judged:,} (conversation, instant) pairs{extra} · target ≥ {target:.0%}"
            f"{met(judged > 0 and share >= target)}",
        ))
    return rows


def reads_row(day: Day, compression: Compression, limit: int) -> tuple[str, str]:
    share = settings.WAPIKIT_BACKGROUND_READ_SHARE
    allowed = math.floor(share * limit)
    hour = compression.real(60)
    total = day.reads[-1][1] - day.reads[0][1]
    span_hours = compression.minutes(day.reads[-1][0] - day.reads[0][0]) / 60
    if span_hours >= 1:
        most = max(
            later - earlier
            for start, earlier in day.reads
            for end, later in day.reads
            if start <= end <= start + hour + 1e-6
        )
        most_text = f"most in any hour {most:,}"
    else:
        most = round(total / span_hours) if span_hours else 0
        most_text = f"{total:,} in the {span_hours * 60:.0f} min day, {most:,} an hour at that pace"
    mean = total / span_hours if span_hours else 0
    return (
        "messages-route reads per simulated hour (the day, background reads)",
        f"{most_text} · mean {mean:,.0f} an hour · {day.overdue:,} reads overdue at the day's end"
        f" · share {allowed:,} ({share:g} × {limit:,} per window) · target ≤ share{met(most <= allowed)}",
    )


def whole_reads_row(calls: dict[tuple[str, str, str], int], hours: float) -> tuple[str, str]:
    """Alerts' looks that read the conversation itself (GET /conversation/{id}) because the
    messages route had no background read left: no target, counted against that route's share."""
    reads = sum(n for (method, route, _), n in calls.items() if method == "GET" and route == "/conversation/:id")
    return (
        "single-conversation reads (alerts' looks while the messages route had none left)",
        f"{reads:,} in the day · {reads / hours:,.0f} an hour on average · within that route's share",
    )


def refused_row(refused: int) -> tuple[str, str]:
    return ("429s received by the dashboard (every route, cold start and day)", f"{refused:,} · target 0{met(refused == 0)}")


def alert_rows(day: Day, alerts: list[tuple[str, float, float, float]], compression: Compression) -> list[tuple[str, str]]:
    first = settings.FIRST_RESPONSE_TARGET_MINUTES
    following = settings.NEXT_RESPONSE_TARGET_MINUTES
    soon = settings.DUE_SOON_WARNING_MINUTES
    by_conversation: dict[str, list] = {}
    for cycle in day.truth.cycles:
        by_conversation.setdefault(cycle.conversation, []).append(cycle)

    def moments(cycle) -> tuple[float, float]:
        """When the wait's clock turns due soon and when it is due, from its message's stamp."""
        target = first if cycle.first_response else following
        stamp = math.floor(cycle.stored)
        return stamp + compression.real(max(target - soon, 0)), stamp + compression.real(target)

    def wait_of(cid: str, raised: float):
        for cycle in by_conversation.get(cid, []):
            if cycle.sent <= raised and (cycle.replied is None or raised < cycle.replied):
                return cycle
        return None

    alerted: dict[int, list[float]] = {}
    spurious = early = 0
    for cid, _cycle_at, _due_at, raised in alerts:
        cycle = wait_of(cid, raised)
        if cycle is None:
            spurious += 1
            continue
        alerted.setdefault(id(cycle), []).append(raised)
        # A second's slack: the stamp's rounding.
        early += raised < moments(cycle)[0] - 1
    expected = on_time = late = at_the_moment = 0
    for cycle in day.truth.cycles:
        warn_at, due_at = moments(cycle)
        if warn_at > day.ended or (cycle.replied is not None and cycle.replied <= warn_at):
            continue
        if cycle.replied is not None and cycle.replied <= warn_at + compression.real(1):
            at_the_moment += 1
            continue
        expected += 1
        raised = alerted.get(id(cycle))
        if raised and min(raised) < due_at:
            on_time += 1
        elif raised:
            late += 1
    repeated = sum(len(times) - 1 for times in alerted.values())
    return [
        (
            "response alerts raised before their deadline",
            f"{on_time:,} of {expected:,} waits past their due-soon moment (targets {first}/{following} min, warned {soon} before)"
            f" · {late:,} late, {expected - on_time - late:,} never · {at_the_moment:,} more answered within a simulated"
            f" minute of that moment, not counted · target all{met(on_time == expected)}",
        ),
        (
            "response alerts repeated (a wait alerted twice)",
            f"{repeated:,} of {len(alerts):,} alerts · {early:,} raised before their wait's due-soon moment (counted from"
            f" a wait already answered) · {spurious:,} raised while the team had answered · target 0{met(repeated == 0)}",
        ),
    ]


def cold_start_row(found: dict[str, float], conversations: int) -> tuple[str, str]:
    settled = found["settled_reads"]
    done = not math.isnan(found["settled_seconds"])
    view = (f"its {found['view']:,.0f} cards known after {found['view_seconds']:.1f} s ({found['view_reads']:,.0f} reads by then)"
            if not math.isnan(found["view_seconds"]) else f"its {found['view']:,.0f} cards never all known")
    if done:
        spent = (f"{settled:,.0f} until the backfill settled ({found['known']:,.0f} of {conversations:,} Active known,"
                 f" {found['settled_seconds']:.1f} s)")
    else:
        spent = f"{settled:,.0f} and not settled ({found['known']:,.0f} of {conversations:,} known)"
    return (
        "messages-route reads, a cold start's default view (fresh database, inbox opened once)",
        f"{spent} · {view} · target ≤ 1 a conversation{met(done and settled <= conversations)}",
    )
