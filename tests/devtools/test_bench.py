"""`make bench` keeps working: a short run of the same command (no load run, few repetitions, a
small timed bulk, two fault-matrix failures) prints the whole table, and what it measures still
meets issue 5's budgets. Its times are not checked: a machine's speed is no test."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from devtools.benchmarks import served
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


# The reports' rows on two days of ten conversations a day (the whole bench seeds 90 of 230).
SMALL_REPORTS = ("--reports-runs", "1", "--reports-days", "2", "--reports-per-day", "10")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def bench(tmp_path, *options: str) -> subprocess.CompletedProcess:
    """`manage.py bench` as `make bench` runs it, on a database in tmp_path that outlives a run."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-smoke-test-secret-key-not-for-production-0123456789",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=120)
    return subprocess.run([*manage, "bench", *options], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def table_of(run: subprocess.CompletedProcess) -> dict[str, str]:
    return dict(re.findall(r"^(\S.*?)\s{2,}(\S.*)$", run.stdout, re.M))


def test_a_short_bench_run_prints_every_measure_within_budget(tmp_path):
    run = bench(
        tmp_path, "--runs", "8", "--load-seconds", "0", "--bulk", "5", "--no-day",
        "--timed-bulk", "10", "--timed-bulk-runs", "1", "--faults", "connection_refused,500", *SMALL_REPORTS,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    table = table_of(run)

    assert re.match(r"1 \(GET /conversations\)$", table["upstream calls, one inbox view (warm cache)"])
    assert table["upstream calls, one action (close)"].startswith("2 ")
    assert table["upstream calls, the same inbox by a 2nd user (shared reads)"] == "0"
    # A script's list call costs what the inbox's does; its Close its role read afresh, a read and a write.
    assert re.match(r"1 upstream \(GET /conversations\) · [\d.]+ ms median", table["API: one list call (GET /api/v1/conversations, 25)"])
    assert re.match(
        r"3 upstream \(GET /organization/members, GET /conversation/\{id\}, POST /conversation/\{id\}\) · [\d.]+ ms median",
        table["API: one action (POST …/status Closed)"],
    )
    assert table["upstream calls, scanned view + its tabs (warm)"] == "0"
    assert table["upstream calls, bulk close of 5"].startswith("11 ")  # 6 list reads + 5 POSTs
    # Page weight is what a browser pays: gzip bytes on the wire and the elements it builds,
    # not the HTML's raw size (the templates are written for the reader; the page is served gzipped).
    wire_row = table["inbox page, 50 cards, on the wire (gunicorn, production settings)"]
    wire = re.match(r"([\d,]+) B gzip \([\d,]+ B raw\), budget ≤ 16,000 B · met$", wire_row)
    assert wire and number(wire[1]) <= 16_000, wire_row
    dom_row = table["inbox page, 50 cards, DOM elements"]
    dom = re.match(r"([\d,]+) elements, budget ≤ 2,250 · met$", dom_row)
    assert dom and number(dom[1]) <= 2_250, dom_row
    assert re.match(r"[\d.]+ ms median · [\d,]+ B$", table["server time, inbox, 50 cards (owner)"])
    label, first_visit = next((k, v) for k, v in table.items() if k.startswith("JS + CSS a first visit loads"))
    assert label.endswith("(htmx-2.min.js, hx-sse-2.min.js, app.js, desk.js, app.css)"), "no script beyond htmx, its SSE extension and our own"
    # What a first visit pays, as the page: gzip bytes on the wire (the sources are written for the reader).
    loads = re.match(r"[\d,]+ B raw · ([\d,]+) B on the wire, budget ≤ 36,000 B · met$", first_visit)
    assert loads and number(loads[1]) <= 36_000, first_visit
    served = table["how they are served (gunicorn, production settings)"]
    assert served == "Content-Encoding gzip; Cache-Control max-age=315360000, public, immutable"
    assert not any(k.startswith("load:") for k in table), "--load-seconds 0 leaves the load run out"

    # The figures with a time target are printed with it; only what they count is checked here.
    assert re.match(r"[\d.]+ ms / [\d.]+ ms \(medians\), target < 150 ms / ≥ 150 ms",
                    table["sandbox list call, latency knob 0 / 150 ms"])
    assert re.match(r"[\d.]+ ms median of 8 · 0 upstream calls, target < 100 ms",
                    table["inbox with the circuit open (this process)"])
    assert re.match(r"[\d.]+ s \((connection_refused|500), .+\) · median [\d.]+ s, target < 5 s",
                    table["slowest answer while WapiKit fails (10 fault-matrix cells, its timeouts)"])
    bulk = re.match(r"[\d.]+ s median of 1 · all 10 closed · (\d+) upstream calls, target < 5 s \(the target is for 200\)",
                    table["bulk close of 10 at 100 ms latency"])
    assert bulk and int(bulk[1]) > 10, "the reads, then 10 POSTs"
    # The reports' rows, on a copy of a small seeded history in PostgreSQL, or left out without it.
    left_out = table.get("reports page and CSV (PostgreSQL, 2 days of a 50-member team)", "")
    if not left_out:
        for span in ("30 days by day", "90 days by day", "90 days by week"):
            page = next(v for k, v in table.items() if re.match(rf"reports page, {span} \(50 members, [\d,]+ facts, postgresql\)$", k))
            assert re.match(r"\d+ ms median of 1 · [\d,]+ B, target < 300 ms · (met|MISSED)$", page), page
        assert re.match(r"\d+ ms median of 1 · [\d,]+ B$", table["reports CSV, a row per conversation, 90 days"])
    else:
        assert left_out.startswith("left out: PostgreSQL unreachable at "), left_out
    shared = table["inbox on a 2nd process, circuit opened by the 1st (gunicorn + Redis)"]
    assert shared.startswith("left out: no Redis") or re.match(
        r"[\d.]+ ms median of 8 · 0 requests reached the sandbox, target < 100 ms", shared
    ), shared


def test_the_bench_runs_twice_on_one_database_each_row_from_a_known_state(tmp_path):
    # A 429 row holds its route off for 30 s and the rows after it must not inherit that; the
    # second run meets the API token the first one created.
    options = ("--runs", "3", "--load-seconds", "0", "--bulk", "5", "--timed-bulk", "5",
               "--timed-bulk-runs", "1", "--faults", "429,500", "--no-day", *SMALL_REPORTS)
    first = bench(tmp_path, *options)
    second = bench(tmp_path, *options)

    for run in (first, second):
        assert run.returncode == 0, run.stderr[-2000:]
        # Nothing failed that the bench did not fail on purpose (its fault rows are quiet): the
        # render rows do not reach WapiKit, so they open no circuit and log no missing names.
        assert "WapiKit failed" not in run.stderr and "No campaign names" not in run.stderr, run.stderr[-2000:]
    assert table_of(first).keys() == table_of(second).keys()
    assert re.match(r"[\d.]+ s \((429|500), .+\) · median [\d.]+ s, target < 5 s",
                    table_of(second)["slowest answer while WapiKit fails (10 fault-matrix cells, its timeouts)"])
    assert "· all 5 closed ·" in table_of(second)["bulk close of 5 at 100 ms latency"]


@pytest.mark.parametrize(
    ("out", "verdict"),
    [
        ("Requests/sec:    354.10", "met"),
        ("Requests/sec:     42.69", "MISSED"),  # too few
    ],
)
def test_the_load_row_says_whether_its_target_was_met(monkeypatch, out, verdict):
    """wrk's report is read for its figures, and its p99 is compared in milliseconds whatever
    unit wrk chose ("3.91s" is over 300 ms, "167.30ms" under)."""
    report = (
        "  Latency Distribution\n     50%   85.80ms\n     99%  167.30ms\n"
        f"  21000 requests in 60.00s, 1.00GB read\n{out}\n"
    )
    slow = report.replace("167.30ms", "3.91s")
    runs = iter([report, report, slow, slow])
    monkeypatch.setattr(
        served.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=next(runs), stderr="")
    )
    (row, _errors) = served.load_run("wrk", "http://127.0.0.1:1/", "Cookie: x", 60, 32, "load")
    assert row[1].endswith(f"target ≥ 150 req/s, p99 < 300 ms, 0 errors · {verdict}")
    (row, _errors) = served.load_run("wrk", "http://127.0.0.1:1/", "Cookie: x", 60, 32, "load")
    assert row[1].endswith("· MISSED"), "a p99 of 3.91 s misses whatever the rate"
