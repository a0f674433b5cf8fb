"""`make bench-day` keeps working: a tiny day (six conversations, two members, 24 simulated
minutes in 24 seconds, short response targets so that some waits turn due soon) prints every row
with its figures. Its shares and `· met` marks are not checked: a machine's speed is no test."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

# Its own Redis database: `make bench` flushes 12, the day's default 13, bench-live's smoke test 15.
REDIS = "redis://127.0.0.1:6379/14"


def test_a_tiny_day_prints_every_row_with_figures(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench-day.sqlite3'}",
        "SECRET_KEY": "bench-day-smoke-test-secret-key-not-for-production-0123456789",
        "BENCH_DAY_REDIS_URL": REDIS,
        # Simulated minutes, which the bench compresses for its dashboard.
        "FIRST_RESPONSE_TARGET_MINUTES": "6",
        "NEXT_RESPONSE_TARGET_MINUTES": "8",
        "DUE_SOON_WARNING_MINUTES": "3",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=120)
    run = subprocess.run(
        [*manage, "bench_day", "--conversations", "6", "--messages", "24", "--members", "2", "--hours", "0.4",
         "--reply-minutes", "3"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    table = dict(re.findall(r"^(\S.*?)\s{2,}(\S.*)$", run.stdout, re.M))
    verdict = r" · (met|MISSED)$"

    day = table["the day: server sandbox with rate limits, time ×60"]
    assert re.match(r"6 Active conversations · 24 inbound messages \(NewMessage events\) · \d+ replies by 2 members "
                    r"in WapiKit's UI \(no event\) · \d+ waits · 0\.4 simulated h in \d+ s", day), day
    for grace in (1, 5, 15):
        right = table[f"waiting state right on the dashboard, {grace} simulated min after the truth changed"]
        assert re.match(r"[\d.]+% of [\d,]+ \(conversation, instant\) pairs.* · target ≥ \d+%" + verdict, right), right
    reads = table["messages-route reads per simulated hour (the day, background reads)"]
    assert re.match(r"\d+ in the 24 min day, \d+ an hour at that pace · mean \d+ an hour · \d+ reads overdue at the "
                    r"day's end · share 150 "
                    r"\(0\.25 × 600 per window\) · target ≤ share" + verdict, reads), reads
    assert re.match(r"\d+ · target 0" + verdict, table["429s received by the dashboard (every route, cold start and day)"])
    alerted = table["response alerts raised before their deadline"]
    assert re.match(r"\d+ of \d+ waits past their due-soon moment \(targets 6/8 min, warned 3 before\) · \d+ late, "
                    r"\d+ never · \d+ more answered within a simulated minute of that moment, not counted · "
                    r"target all" + verdict, alerted), alerted
    whole = table["single-conversation reads (alerts' looks while the messages route had none left)"]
    assert re.match(r"\d+ in the day · \d+ an hour on average · within that route's share$", whole), whole
    repeated = table["response alerts repeated (a wait alerted twice)"]
    assert re.match(r"\d+ of \d+ alerts · \d+ raised before their wait's due-soon moment \(counted from a wait already "
                    r"answered\) · \d+ raised while the team had answered · target 0" + verdict, repeated), repeated
    cold = table["messages-route reads, a cold start's default view (fresh database, inbox opened once)"]
    assert re.match(r"\d+ until the backfill settled \(6 of 6 Active known, [\d.]+ s\) · its \d+ cards known after "
                    r"[\d.]+ s \(\d+ reads by then\) · target ≤ 1 a conversation" + verdict, cold), cold
