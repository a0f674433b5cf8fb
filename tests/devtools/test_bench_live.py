"""`make bench-live` keeps working: a tiny run of the same command (a few seconds standing for ten
minutes, one Chromium tab, ten stream clients, three events, no code before) prints every row
with its figures. Its times and `· met` marks are not checked: a machine's speed is no test."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from devtools.benchlive.browsers import CHROMIUM
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

# Its own Redis database: `make bench`'s short run in the suite flushes database 12.
REDIS = "redis://127.0.0.1:6379/15"


def test_a_tiny_bench_live_run_prints_every_row_with_figures(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench-live.sqlite3'}",
        "SECRET_KEY": "bench-live-smoke-test-secret-key-not-for-production-0123456789",
        "BENCH_REDIS_URL": REDIS,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    tabs = "1" if CHROMIUM.exists() else "0"
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=120)
    run = subprocess.run(
        [*manage, "bench_live", "--window", "4", "--inboxes", "1,3", "--window-events", "2", "--tabs", tabs,
         "--clients", "10", "--events", "3", "--streams", "20", "--limit-window", "3", "--no-before"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=150,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    table = dict(re.findall(r"^(\S.*?)\s{2,}(\S.*)$", run.stdout, re.M))

    lists = next(v for k, v in table.items() if k.startswith("upstream GET /conversations, inboxes open on one view"))
    assert re.match(r"1 inbox \d+ \(\d+ asked, \d+ failed\) · 3 inboxes \d+ \(\d+ asked, \d+ failed\), target ≤ 4 each", lists), lists
    assert not any("before issue 11" in k for k in table), "--no-before leaves the code before out"

    memory = next(v for k, v in table.items() if k.startswith("memory per open stream, 1 streams worker"))
    assert re.match(r"RSS [\d.]+ → [\d.]+ MB: -?[\d.]+ kB a stream \(target ≤ 50 kB\) · (met|MISSED)$", memory), memory
    threads = table["threads added by 20 open streams"]
    assert re.match(r"\d+ → \d+: [+-]\d+ \(target 0\) · (met|MISSED)$", threads), threads
    held = next(v for k, v in table.items() if k.startswith("database connections held by 20 open streams"))
    assert re.match(r"\d+ → \d+: [+-]\d+ \(target 0\) · (met|MISSED)$", held), held
    back = table["after 20 clients vanish without closing (sockets reset): back to idle"]
    assert re.match(r"sockets [\d.]+ s, threads [\d.]+ s, database connections [\d.]+ s \(target ≤ 30 s\)", back), back

    card = next(v for k, v in table.items() if k.startswith("event to card latency"))
    if tabs == "1":
        assert re.match(r"p50 \d+ ms · p95 \d+ ms · max \d+ ms · 1 Chromium tabs × 3 events, 0 missed, 10 stream clients open, "
                        r"target p95 ≤ 2 s", card), card
    else:
        assert card.startswith("left out"), card
    frames = table["event to `changed` frame, 10 stream clients"]
    assert re.match(r"p50 \d+ ms · p95 \d+ ms · max \d+ ms · 30 frames, 0 missed", frames), frames

    held = next(v for k, v in table.items() if k.startswith("upstream GET /conversations between WapiKit's 429 and its reset"))
    assert re.match(r"\d+ in the [\d.]+ s after the 429 \(\d+ pages, polls and tab counts asked", held), held
    assert re.search(r"after the reset [1-9]\d* again, page 200, target 0", held), held
