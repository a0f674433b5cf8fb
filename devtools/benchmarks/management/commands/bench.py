"""`make bench`: one table, from one run, of what the dashboard costs.

Render times and bytes come from the whole Django stack in this process; upstream calls are
counted at the client; the load run serves the dashboard with gunicorn (production settings)
against a sandbox answering in 50 ms, and drives it with wrk.

The figures with a time target (`target < …`) are the ones the test suite checks only by
counting calls, since a machine's speed varies: the fault matrix's slowest answer, the bulk
close at 100 ms of latency, an open circuit in this process and across two gunicorn processes
sharing Redis, and the sandbox's latency knob. Each row says whether its target was met.

Tooling, not the product, and over 300 lines on purpose: one method per figure of one benchmark table."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import redis
import requests

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.test.utils import override_settings

from dashboard.api.tokens import token_create, token_revoke
from dashboard.inbox import selectors
from dashboard.wapikit import WapiKitClient, get_client
from devtools.benchmarks import benchkit
from devtools.benchmarks.management.commands.bench_render import measure_render

API_KEY = "bench-sandbox-key"
BULK_TARGET = (200, 5.0)  # conversations, seconds at 100 ms of upstream latency
FAIL_FAST_TARGET_MS = 100
FAULT_TARGET_S = 5.0
LATENCY_MS = 150
# What the inbox of 50 cards may weigh: gzip bytes as gunicorn sends them, and elements once parsed.
# About 30% above what the readable templates measure (12.4 KB, 1,731 elements).
PAGE_CARDS = 50
PAGE_GZIP_BUDGET = 16_000
PAGE_DOM_BUDGET = 2_250

# The fault matrix's failures (tests/integration/test_fault_matrix.py) with its timeouts:
# id: (a sandbox fault, or "refused" / "blackhole" for the transport; WAPIKIT_TIMEOUT; more knobs).
FAULTS: dict[str, tuple[str, str, dict]] = {
    "connection_refused": ("refused", "1,1", {}),
    "connect_timeout": ("blackhole", "0.5,0.5", {}),
    "read_timeout": ("hang", "1,0.5", {"fault_seconds": 2}),
    "500": ("status_500", "1,1", {}),
    "502": ("status_502", "1,1", {}),
    "503": ("status_503", "1,1", {"retry_after": 30}),
    "429": ("status_429", "1,1", {"retry_after": 30}),
    "401": ("status_401", "1,1", {}),
    "404": ("status_404", "1,1", {}),
    "not_json": ("not_json", "1,1", {}),
    "wrong_shape": ("wrong_shape", "1,1", {}),
    "slow_body": ("slow_body", "1,0.3", {"fault_seconds": 4}),
}
SURFACES = ("inbox", "conversation page", "action (htmx)", "action (no JS)", "bulk (htmx)")


class Command(BaseCommand):
    help = "Measure render times, upstream calls, bytes, the proxy overhead and a load run; print one table."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=200, help="repetitions behind each median")
        parser.add_argument("--load-seconds", type=int, default=60, help="0 leaves the load run out")
        parser.add_argument("--users", type=int, default=32)
        parser.add_argument("--bulk", type=int, default=50, help="conversations in the measured bulk action")
        parser.add_argument(
            "--timed-bulk", type=int, default=BULK_TARGET[0],
            help=f"conversations in the bulk close timed at 100 ms latency (target for {BULK_TARGET[0]}); 0 leaves it out",
        )
        parser.add_argument("--timed-bulk-runs", type=int, default=3, help="repetitions behind its median")
        parser.add_argument(
            "--faults", default="all",
            help=f"fault-matrix failures to time, comma-separated, 'all' or 'none': {', '.join(FAULTS)}",
        )

    def handle(
        self, *args, runs: int, load_seconds: int, users: int, bulk: int,
        timed_bulk: int, timed_bulk_runs: int, faults: str, **options,
    ):
        if faults == "all":
            fault_ids = list(FAULTS)
        elif faults == "none":
            fault_ids = []
        else:
            fault_ids = [f.strip() for f in faults.split(",") if f.strip()]
            unknown = [f for f in fault_ids if f not in FAULTS]
            if unknown:
                raise CommandError(f"unknown fault {', '.join(unknown)}; one of {', '.join(FAULTS)}")
        rows: list[tuple[str, str]] = []
        add = lambda name, value: rows.append((name, value))  # noqa: E731

        for kind in ("owner", "manager"):
            for name, median, size in measure_render(runs, kind=kind):
                add(f"server time, {name} ({kind})", f"{median:.2f} ms median · {size:,} B")

        directory = Path(tempfile.mkdtemp(prefix="wapikit-bench-"))
        try:
            with benchkit.sandbox_process(directory, API_KEY) as (base_url, port):
                api = benchkit.SandboxApi(base_url, API_KEY)
                # The rows measured in this process count what a page costs WapiKit before its
                # reads are shared (lists and conversations not cached); the shared reads have a
                # row of their own, and the load run below serves the production defaults.
                with override_settings(
                    WAPIKIT_BASE_URL=base_url, WAPIKIT_API_KEY=API_KEY, ALLOWED_HOSTS=["testserver"],
                    WAPIKIT_LIST_CACHE_SECONDS=0, WAPIKIT_CONVERSATION_CACHE_SECONDS=0,
                ):
                    # Each row starts from the same state, whatever the row before it left (a
                    # fault row leaves an open circuit or a route held off after a 429).
                    benchkit.fresh_state(api)
                    self._calls_and_bytes(add, bulk)
                    sandbox = WapiKitClient(base_url=base_url, api_key=API_KEY)
                    for latency in (0, 50):
                        benchkit.fresh_state(api)
                        api.control(latency_ms=latency)
                        add(f"inbox time ÷ direct upstream call, sandbox {latency} ms", self._ratio(sandbox, max(runs // 4, 3)))
                    benchkit.fresh_state(api)
                    add(*self._latency_knob(api, max(runs // 4, 3)))
                    with benchkit.quiet_logs():  # the failures below are on purpose
                        benchkit.fresh_state(api)
                        add(*self._open_circuit(runs))
                        if fault_ids:
                            add(*self._fault_answers(api, base_url, fault_ids))  # each cell starts afresh
                    if timed_bulk:
                        benchkit.fresh_state(api)
                        add(*self._timed_bulk(api, timed_bulk, max(timed_bulk_runs, 1)))
                    benchkit.fresh_state(api)
                    api.control(latency_ms=50)
                    for name, value in self._served(directory, base_url, api, load_seconds, users, runs):
                        add(name, value)
        finally:
            get_client.cache_clear()
            shutil.rmtree(directory, ignore_errors=True)

        for line in benchkit.table_lines(rows):
            self.stdout.write(line)

    # Pieces

    def _login(self, email: str) -> Client:
        user, _ = get_user_model().objects.get_or_create(email=email)
        client = Client(headers={"accept-encoding": "gzip"})
        client.force_login(user)
        return client

    def _calls_and_bytes(self, add, bulk: int) -> None:
        manager = self._login("manager@example.com")
        cache.clear()
        with benchkit.counting_calls() as calls:
            manager.get("/")
        add("upstream calls, one inbox view (cold cache)", f"{len(calls)} ({_paths(calls)})")
        with benchkit.counting_calls() as calls:
            manager.get("/")
        add("upstream calls, one inbox view (warm cache)", f"{len(calls)} ({_paths(calls)})")
        with override_settings(WAPIKIT_LIST_CACHE_SECONDS=15):
            manager.get("/")
            owner = self._login("owner@example.com")
            with benchkit.counting_calls() as calls:
                owner.get("/")
        add("upstream calls, the same inbox by a 2nd user (shared reads)", f"{len(calls)}")
        for name, value in self._api(runs=5):
            add(name, value)
        page = _raw(manager.get("/?per_page=50"))
        first = re.search(rb'id="c-([0-9a-f-]{36})"', page).group(1).decode()
        seen = re.search(rb'name="seen" value="([^"]*)"', page).group(1).decode()
        # What the dashboard learns of a WapiKit once a day (does a single answer name the
        # assignee?), so that the action below is counted as every later one is.
        with benchkit.counting_calls() as calls:
            selectors.single_answer_has_assignee()
        add("upstream calls, learning this WapiKit (once a day)", f"{len(calls)} ({_paths(calls)})")
        with benchkit.counting_calls() as calls:
            fragment = manager.post(
                f"/conversations/{first}/close/", {"next": "/", "seen": seen}, headers={"HX-Request": "true"}
            )
        add("upstream calls, one action (close)", f"{len(calls)} ({_paths(calls)})")
        cache.clear()
        manager.get("/")  # members cached, as on any second page
        with benchkit.counting_calls() as calls:
            manager.get("/?view=mine")
        add("upstream calls, one scanned view (cold)", f"{len(calls)} ({_paths(calls)})")
        with benchkit.counting_calls() as calls:
            manager.get("/?view=unassigned")
            manager.get("/inbox/tabs/?view=unassigned")
        add("upstream calls, scanned view + its tabs (warm)", f"{len(calls)}")
        ids = re.findall(rb'name="ids" value="([0-9a-f-]{36})', _raw(manager.get("/?per_page=50")))[:bulk]
        with benchkit.counting_calls() as calls:
            manager.post("/bulk/", {"action": "close", "ids": [i.decode() for i in ids], "next": "/"})
        add(f"upstream calls, bulk close of {len(ids)}", f"{len(calls)} ({_paths(calls)})")

        page = manager.get("/?status=closed&per_page=50")
        raw = _raw(page)
        add("inbox page, 50 cards (manager)", f"{len(raw):,} B raw · {len(gzip.compress(raw)):,} B gzip")
        add("card fragment after an action", f"{len(_raw(fragment)):,} B raw")

    def _api(self, *, runs: int) -> list[tuple[str, str]]:
        """One API list call and one API action (a script's Close), as scripts send them: a
        Bearer token, members cached as on any later call (a write reads its role afresh)."""
        user, _ = get_user_model().objects.get_or_create(email="manager@example.com")
        # The bench's database outlives a run: revoke the token an earlier run (or one stopped
        # half-way) left, as a person replaces a token, since a name is held by one live token.
        for earlier in user.api_tokens.usable().filter(name="bench"):
            token_revoke(user=user, token_id=earlier.pk)
        token, secret = token_create(user=user, name="bench", scopes="read,close", lifetime="1d")
        script = Client(headers={"authorization": f"Bearer {secret}"})
        script.get("/api/v1/conversations?per_page=25")  # members cached
        with benchkit.counting_calls() as calls:
            listed = script.get("/api/v1/conversations?per_page=25")
        list_ms = benchkit.median_ms(lambda: script.get("/api/v1/conversations?per_page=25"), runs)
        ids = [c["id"] for c in listed.json()["conversations"] if c["status"] == "Active"]
        rows = [(
            "API: one list call (GET /api/v1/conversations, 25)",
            f"{len(calls)} upstream ({_paths(calls)}) · {list_ms:.1f} ms median of {runs}",
        )]
        timings: list[float] = []
        counted = None
        for conversation_id in ids[: runs + 1]:
            with benchkit.counting_calls() as calls:
                seconds, _ = benchkit.seconds(
                    lambda: script.post(
                        f"/api/v1/conversations/{conversation_id}/status", {"status": "Closed"},
                        content_type="application/json",
                    )
                )
            # The last one, as every action after the first contact with a WapiKit costs.
            counted = list(calls)
            timings.append(seconds * 1000)
        token_revoke(user=user, token_id=token.pk)
        timings.sort()
        rows.append((
            "API: one action (POST …/status Closed)",
            f"{len(counted or [])} upstream ({_paths(counted or [])}) · {timings[len(timings) // 2]:.1f} ms median of {len(timings)}",
        ))
        return rows

    def _ratio(self, sandbox: WapiKitClient, runs: int) -> str:
        manager = self._login("manager@example.com")
        manager.get("/")
        dashboard = benchkit.median_ms(lambda: manager.get("/"), runs)
        direct = benchkit.median_ms(
            lambda: sandbox.list_conversations(page=1, per_page=25, status="Active"), runs
        )
        return f"{dashboard / direct:.2f} ({dashboard:.1f} ms vs {direct:.1f} ms, medians of {runs})"

    # Figures with a time target

    @staticmethod
    def _latency_knob(api: benchkit.SandboxApi, runs: int) -> tuple[str, str]:
        """One list call straight to the sandbox, with its latency knob off and at 150 ms."""
        fast = benchkit.median_ms(lambda: api.list_page(status="Active", per_page=1), runs)
        api.control(latency_ms=LATENCY_MS)
        try:
            slow = benchkit.median_ms(lambda: api.list_page(status="Active", per_page=1), max(runs // 5, 3), warmup=1)
        finally:
            api.control(latency_ms=0)
        met = fast < LATENCY_MS <= slow
        return (
            f"sandbox list call, latency knob 0 / {LATENCY_MS} ms",
            f"{fast:.1f} ms / {slow:.1f} ms (medians), target < {LATENCY_MS} ms / ≥ {LATENCY_MS} ms{_met(met)}",
        )

    def _open_circuit(self, runs: int) -> tuple[str, str]:
        """The inbox while the circuit is open (WapiKit on a closed port, three failures in)."""
        manager = self._login("manager@example.com")
        manager.get("/")  # members cached: each inbox view is one upstream call
        with override_settings(
            WAPIKIT_BASE_URL=f"http://127.0.0.1:{benchkit.free_port()}/api", WAPIKIT_GET_RETRIES=0,
            WAPIKIT_BREAKER_THRESHOLD=3, WAPIKIT_BREAKER_COOLDOWN=600,
        ):
            get_client.cache_clear()
            try:
                for _ in range(3):
                    manager.get("/")
                if not get_client().breaker.is_open:
                    raise CommandError("three refused calls did not open the circuit")
                with benchkit.counting_calls() as calls:
                    ms = benchkit.median_ms(lambda: manager.get("/"), runs)
                answer = manager.get("/")
                if answer.status_code != 502 or b"WapiKit is unreachable" not in _raw(answer):
                    raise CommandError(f"the open circuit answered {answer.status_code}, not the unreachable page")
            finally:
                get_client().breaker.reset()
                get_client.cache_clear()
        return (
            "inbox with the circuit open (this process)",
            f"{ms:.2f} ms median of {runs} · {len(calls)} upstream calls, target < {FAIL_FAST_TARGET_MS} ms"
            f"{_met(ms < FAIL_FAST_TARGET_MS)}",
        )

    def _fault_answers(self, api: benchkit.SandboxApi, base_url: str, fault_ids: list[str]) -> tuple[str, str]:
        """How long a manager waits for each surface of the fault matrix while WapiKit fails,
        with the matrix's timeouts and no retries; the slowest cell against the target."""
        manager = self._login("manager@example.com")
        manager.raise_request_exception = False
        conversation = api.conversations("Active")[0]
        cid = conversation["uniqueId"]
        assignee = (conversation.get("assignedTo") or {}).get("uniqueId", "")
        timings: list[tuple[float, str, str]] = []
        skipped: list[str] = []
        with benchkit.blackhole_port() as blackhole, override_settings(
            WAPIKIT_GET_RETRIES=0, WAPIKIT_BREAKER_THRESHOLD=1000
        ):
            for name in fault_ids:
                how, timeout, knobs = FAULTS[name]
                if how == "blackhole" and blackhole is None:
                    skipped.append(name)  # this kernel completes loopback connects past a full backlog
                    continue
                for surface in SURFACES:
                    # As each cell of the fault matrix starts: a 429 in the cell before holds
                    # its route off for 30 s, and the bulk would refuse before sending anything.
                    benchkit.fresh_state(api)
                    manager.get("/")  # members cached: the failure hits conversation calls
                    url = {"refused": f"http://127.0.0.1:{benchkit.free_port()}/api",
                           "blackhole": f"http://127.0.0.1:{blackhole}/api"}.get(how, base_url)
                    if url == base_url:
                        api.control(fault=how, fault_path="/conversation/" if surface.startswith("action") else "", **knobs)
                    try:
                        with override_settings(WAPIKIT_BASE_URL=url, WAPIKIT_TIMEOUT=timeout):
                            get_client.cache_clear()
                            took, answer = benchkit.seconds(lambda: _fault_surface(manager, surface, cid, assignee))
                    finally:
                        api.control(reset=True, latency_ms=0)
                        get_client.cache_clear()
                    if not answer:
                        raise CommandError(f"{surface} under {name} did not answer with its failure")
                    timings.append((took, name, surface))
        worst, name, surface = max(timings)
        median = statistics.median(t for t, _, _ in timings)
        left_out = f" ({', '.join(skipped)} left out: connects do not hang here)" if skipped else ""
        return (
            f"slowest answer while WapiKit fails ({len(timings)} fault-matrix cells, its timeouts){left_out}",
            f"{worst:.2f} s ({name}, {surface}) · median {median:.2f} s, target < {FAULT_TARGET_S:.0f} s"
            f"{_met(worst < FAULT_TARGET_S)}",
        )

    def _timed_bulk(self, api: benchkit.SandboxApi, size: int, repeats: int) -> tuple[str, str]:
        """A bulk close of `size` Active conversations with the sandbox answering in 100 ms;
        closed ones are reopened first when too few are Active, and the Active set is put back
        afterwards."""
        manager = self._login("manager@example.com")
        active = [c["uniqueId"] for c in api.conversations("Active")]
        reopened = [c["uniqueId"] for c in api.conversations("Closed")][: max(size - len(active), 0)]
        ids = (active + reopened)[:size]
        if len(ids) < size:
            raise CommandError(f"the sandbox has only {len(ids)} Active and Closed conversations, not {size}")
        api.set_status(reopened, "Active")
        was_active = set(active)
        timings, calls = [], []
        try:
            for _ in range(repeats):
                if timings:
                    api.set_status(ids, "Active")
                manager.get("/")  # members cached
                api.control(latency_ms=100)
                try:
                    with benchkit.counting_calls() as sent:
                        took, answer = benchkit.seconds(
                            lambda: manager.post("/bulk/", {"action": "close", "ids": ids, "next": "/"})
                        )
                finally:
                    api.control(latency_ms=0)
                if f"Close: {size} succeeded".encode() not in _raw(answer):
                    raise CommandError(f"the timed bulk close did not close all {size}: {answer.status_code}")
                timings.append(took)
                calls.append(len(sent))
        finally:
            api.set_status([i for i in ids if i in was_active], "Active")
        median = statistics.median(timings)
        count, target = BULK_TARGET
        scope = "" if size == count else f" (the target is for {count})"
        return (
            f"bulk close of {size} at 100 ms latency",
            f"{median:.2f} s median of {repeats} · all {size} closed · {calls[-1]} upstream calls, "
            f"target < {target:.0f} s{scope}{_met(median < target) if size == count else ''}",
        )

    # Served by gunicorn

    def _served(
        self, directory: Path, base_url: str, api: benchkit.SandboxApi, seconds: int, users: int, runs: int
    ) -> list[tuple[str, str]]:
        """Serve the dashboard with gunicorn and production settings: an open circuit across two
        processes sharing Redis, what a first visit loads, then (unless seconds is 0) drive the
        inbox with wrk."""
        wrk = shutil.which("wrk")
        if wrk is None and seconds > 0:
            raise CommandError("wrk is needed for the load run: apt-get install wrk (make bench does this)")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": benchkit.PRODUCTION_SETTINGS,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "WAPIKIT_BASE_URL": base_url,
            "WAPIKIT_API_KEY": API_KEY,
        }
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)
        user, _ = get_user_model().objects.get_or_create(email="manager@example.com")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        workers = 2
        servers = [(env, directory / "gunicorn.log", workers)]
        label = "inbox on a 2nd process, circuit opened by the 1st (gunicorn + Redis)"
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
        try:
            shared = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
            shared.ping()
            shared.flushdb()
            pair_env = {**env, "REDIS_URL": redis_url, "WAPIKIT_GET_RETRIES": "0",
                        # The open circuit is measured on pages whose reads are not shared.
                        "WAPIKIT_LIST_CACHE_SECONDS": "0",
                        "WAPIKIT_BREAKER_THRESHOLD": "3", "WAPIKIT_BREAKER_COOLDOWN": "600"}
            servers += [(pair_env, directory / f"shared-{n}.log", 1) for n in (1, 2)]
        except Exception as exc:  # noqa: BLE001 - any failure means no Redis to share
            shared, no_redis = None, f"left out: no Redis at {redis_url} ({type(exc).__name__}); BENCH_REDIS_URL names one"
        try:
            with benchkit.gunicorn_processes(*servers) as (served, *pair):
                if pair:
                    rows = [(label, self._shared_circuit(api, *pair, session.session_key, runs))]
                else:
                    rows = [(label, no_redis)]
                url = f"{served}/"
                rows += self._first_visit(url, session.session_key)
                rows += _page_weight_rows(url, session.session_key)
                if seconds > 0:
                    cookie = f"Cookie: {settings.SESSION_COOKIE_NAME}={session.session_key}"
                    label = f"load: inbox, gunicorn {workers}×16 threads, sandbox 50 ms, {users} users"
                    rows += self._wrk(wrk, url, cookie, seconds, users, label)
        finally:
            if shared is not None:
                shared.flushdb()
        return rows

    @staticmethod
    def _shared_circuit(api: benchkit.SandboxApi, first: str, second: str, session_key: str, runs: int) -> str:
        """Two dashboard processes sharing Redis: the first opens the circuit (three 503s), and
        the second's inbox is timed, with the sandbox counting the requests that reach it."""
        browser = requests.Session()
        browser.headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        if browser.get(f"{first}/", timeout=10).status_code != 200:  # members cached, in Redis
            raise CommandError("the first dashboard process did not serve the inbox")
        api.control(fault="status_503", retry_after=30)
        try:
            for _ in range(3):
                browser.get(f"{first}/", timeout=10)
            reached = api.control()["faulted"]
            ms = benchkit.median_ms(lambda: browser.get(f"{second}/", timeout=10), runs)
            reached = api.control()["faulted"] - reached
            answer = browser.get(f"{second}/", timeout=10)
            if "WapiKit is unreachable" not in answer.text:
                raise CommandError(f"the second process answered {answer.status_code}, not the unreachable page")
        finally:
            api.control(reset=True, latency_ms=50)
        return (
            f"{ms:.2f} ms median of {runs} · {reached} requests reached the sandbox, target < {FAIL_FAST_TARGET_MS} ms"
            f"{_met(ms < FAIL_FAST_TARGET_MS)}"
        )

    @staticmethod
    def _wrk(wrk: str, url: str, cookie: str, seconds: int, users: int, label: str) -> list[tuple[str, str]]:
        warm = subprocess.run([wrk, "-t2", "-c4", "-d3s", "-H", cookie, url], capture_output=True, text=True, check=True)
        if "Non-2xx" in warm.stdout:
            raise CommandError(f"the dashboard did not answer 200 to the load run:\n{warm.stdout}")
        started = time.monotonic()
        out = subprocess.run(
            [wrk, "-t2", f"-c{users}", f"-d{seconds}s", "--latency", "--timeout", "5s", "-H", cookie, url],
            capture_output=True, text=True, check=True,
        ).stdout
        elapsed = time.monotonic() - started
        rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
        p50 = re.search(r"50%\s+(\S+)", out).group(1)
        p99 = re.search(r"99%\s+(\S+)", out).group(1)
        total = re.search(r"(\d+) requests in", out).group(1)
        errors = re.search(r"Socket errors: (.*)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        error_text = []
        if errors:
            error_text.append(errors.group(1))
        if non2xx:
            error_text.append(f"{non2xx.group(1)} non-2xx")
        return [
            (f"{label}, {elapsed:.0f} s", f"{rps} req/s · p50 {p50} · p99 {p99} · {total} requests"),
            ("load: errors", ", ".join(error_text) or "0"),
        ]

    @staticmethod
    def _first_visit(url: str, session_key: str) -> list[tuple[str, str]]:
        """Every script and stylesheet the inbox page links to, as gunicorn serves them with
        production settings: their bytes, and how they are compressed and cached."""
        request = urllib.request.Request(url, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            page = response.read().decode()
        assets = re.findall(r'<script[^>]* src="([^"]+)"', page) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
        raw = wire = 0
        served = set()
        for path in assets:
            request = urllib.request.Request(url.rstrip("/") + path, headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=10) as response:
                body = response.read()
                encoding = response.headers.get("Content-Encoding", "none")
                served.add(f"Content-Encoding {encoding}; Cache-Control {response.headers.get('Cache-Control', 'none')}")
            wire += len(body)
            raw += len(gzip.decompress(body) if encoding == "gzip" else body)
        names = ", ".join(re.sub(r"\.[0-9a-f]{12}\.", ".", Path(p).name) for p in assets)  # without hashes
        return [
            (f"JS + CSS a first visit loads ({names})", f"{raw:,} B raw · {wire:,} B on the wire"),
            ("how they are served (gunicorn, production settings)", " | ".join(sorted(served))),
        ]


def _page_weight_rows(url: str, session_key: str) -> list[tuple[str, str]]:
    """The inbox of PAGE_CARDS cards as gunicorn sends it to a browser that accepts gzip: the
    bytes on the wire, and the elements a browser builds from it (counted by html.parser)."""
    request = urllib.request.Request(
        f"{url}?per_page={PAGE_CARDS}",
        headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}", "Accept-Encoding": "gzip"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        wire = response.read()
        encoding = response.headers.get("Content-Encoding", "none")
    page = (gzip.decompress(wire) if encoding == "gzip" else wire).decode()
    counter = _ElementCounter()
    counter.feed(page)
    counter.close()
    cards = page.count('<article class="card ')
    if cards != PAGE_CARDS:
        raise CommandError(f"the inbox showed {cards} cards, not {PAGE_CARDS}")
    return [
        (
            f"inbox page, {PAGE_CARDS} cards, on the wire (gunicorn, production settings)",
            f"{len(wire):,} B {encoding} ({len(page.encode()):,} B raw), budget ≤ {PAGE_GZIP_BUDGET:,} B"
            f"{_met(encoding == 'gzip' and len(wire) <= PAGE_GZIP_BUDGET)}",
        ),
        (
            f"inbox page, {PAGE_CARDS} cards, DOM elements",
            f"{counter.elements:,} elements, budget ≤ {PAGE_DOM_BUDGET:,}{_met(counter.elements <= PAGE_DOM_BUDGET)}",
        ),
    ]


class _ElementCounter(HTMLParser):
    elements = 0

    def handle_starttag(self, tag, attrs):
        self.elements += 1


def _met(met: bool) -> str:
    return " · met" if met else " · MISSED"


def _fault_surface(manager: Client, surface: str, cid: str, assignee: str) -> bool:
    """One fault-matrix surface; whether the answer is the failure a user should see."""
    form = {"next": "/", "seen": f"Active:{assignee}"}
    if surface == "inbox":
        return manager.get("/").status_code >= 400
    if surface == "conversation page":
        return manager.get(f"/conversations/{cid}/").status_code >= 400
    if surface == "action (htmx)":
        return manager.post(f"/conversations/{cid}/close/", form, headers={"HX-Request": "true"}).status_code >= 400
    if surface == "action (no JS)":
        answer = manager.post(f"/conversations/{cid}/close/", form)
        # The page it leads to shows the flash; under a transport failure, with the error banner.
        return answer.status_code == 302 and manager.get(answer["Location"]).status_code != 500
    answer = manager.post(
        "/bulk/", {"action": "close", "ids": f"{cid}:Active:{assignee}", "next": "/"}, headers={"HX-Request": "true"}
    )
    return answer.status_code == 200 and b"1 failed" in _raw(answer)


def _paths(calls: list[tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for method, path in calls:
        name = f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path)}"
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in counts.items()) or "none"


def _raw(response) -> bytes:
    body = response.content
    return gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body
