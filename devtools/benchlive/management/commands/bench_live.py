"""`make bench-live`: issue 11's figures (one WapiKit budget for the whole team, live updates),
measured in one run against a live deployment of three processes: a `server` sandbox, the
dashboard under gunicorn's uvicorn workers, and `manage.py listen_events`, sharing Redis when
there is one (`BENCH_REDIS_URL`, flushed).

- Upstream list calls while 1, 10 and 50 inboxes stay open on the same view, ten minutes
  compressed into `--window` seconds (cache lifetimes and polling intervals scaled alike), and
  the same against the code before issue 11 in a git worktree (`--before`).
- From WapiKit publishing a NewMessage to its text on the open cards of real Chromium tabs,
  with hundreds of bare stream clients connected; and to those clients' `changed` frames.
- One streams worker with `--streams` browser streams open: memory per stream, threads and
  database connections added, and how soon all is back to idle once the clients vanish
  (dashboard/live/streams.py).
- Upstream calls to a route between WapiKit's 429 and its reset.
- With `--compare-bench`, `manage.py bench`'s render medians and load run on this code and on
  the code before, side by side.

Rows with a target say `· met` or `· MISSED`.

Tooling, not the product, and over 300 lines on purpose: one method per figure of one benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError
from playwright.async_api import async_playwright

from dashboard.wapikit.client import MAX_PAGE
from devtools.benchlive import browsers, deployment, streams
from devtools.benchlive.browsers import SimulatedInbox
from devtools.benchlive.deployment import Served
from devtools.benchmarks import benchkit
from devtools.benchmarks.served import load_run
from devtools.sandbox.demo import ensure_demo_logins

API_KEY = "bench-live-sandbox-key"
EMAIL = "manager@example.com"
REAL_WINDOW = 600  # the ten minutes
LATENCY_TARGET_S = 2.0
BENCH_RATIO_TARGET = 0.9
# The lifetimes and intervals row 1 scales, as settings has them.
SCALED = {
    "WAPIKIT_LIST_CACHE_SECONDS": 15,
    "WAPIKIT_CONVERSATION_CACHE_SECONDS": 15,
    "WAPIKIT_MEMBERS_CACHE_SECONDS": 60,
    "WAPIKIT_SCAN_CACHE_SECONDS": 30,
    "INBOX_REFRESH_SECONDS": 20,
    "INBOX_LIVE_REFRESH_SECONDS": 120,
}


class Command(BaseCommand):
    help = "Measure issue 11's figures (upstream calls per open inbox, event-to-card latency, streams' cost, 429s); print one table."

    def add_arguments(self, parser):
        parser.add_argument("--window", type=float, default=40, help="seconds standing for ten minutes in row 1")
        parser.add_argument("--inboxes", default="1,10,50", help="open inboxes on one view, comma-separated")
        parser.add_argument("--window-events", type=int, default=10, help="NewMessage events during the window")
        parser.add_argument("--tabs", type=int, default=3, help="Chromium tabs timed from event to card")
        parser.add_argument("--clients", type=int, default=200, help="bare stream clients connected meanwhile")
        parser.add_argument("--events", type=int, default=20, help="timed events")
        parser.add_argument("--streams", type=int, default=1000, help="streams open on one streams worker")
        parser.add_argument("--only-streams", action="store_true", help="measure only the streams rows")
        parser.add_argument("--limit-window", type=int, default=10, help="seconds of the small conversations limit")
        parser.add_argument("--before", default="543a28e", help="the commit before issue 11")
        parser.add_argument("--no-before", action="store_true", help="leave the code before out")
        parser.add_argument("--compare-bench", action="store_true", help="run manage.py bench on both codes")
        parser.add_argument("--bench-load-seconds", type=int, default=15)
        parser.add_argument("--bench-runs", type=int, default=100)

    def handle(self, *args, **options):
        counts = [int(n) for n in options["inboxes"].split(",") if n.strip()]
        if options["tabs"] and not browsers.CHROMIUM.exists():
            raise CommandError(f"Chromium is needed at {browsers.CHROMIUM} (make chromium), or --tabs 0")
        deployment.raise_open_files(options["streams"] + options["clients"] + 1000)
        rows: list[tuple[str, str]] = []
        directory = Path(tempfile.mkdtemp(prefix="wapikit-bench-live-"))
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
        shared, no_redis = deployment.shared_redis(redis_url)
        redis_url = redis_url if shared is not None else None
        ensure_demo_logins()
        cookie = f"{settings.SESSION_COOKIE_NAME}={self._session()}"
        before_commit = None if options["no_before"] or options["only_streams"] else options["before"]
        try:
            with contextlib.ExitStack() as stack:
                code = stack.enter_context(deployment.worktree(before_commit)) if before_commit else None
                with contextlib.ExitStack() as running:
                    with _environ(SANDBOX_PROFILE="server"):
                        base_url, _ = running.enter_context(benchkit.sandbox_process(directory, API_KEY))
                    api = benchkit.SandboxApi(base_url, API_KEY)
                    # A connection each: gunicorn closes idle ones after 2 s, which a POST
                    # reusing one would meet as a reset.
                    api.session.headers["Connection"] = "close"
                    env = deployment.dashboard_env(base_url=base_url, api_key=API_KEY, redis_url=redis_url)
                    subprocess.run([sys.executable, str(deployment.MANAGE), "collectstatic", "--noinput", "-v0"],
                                   env=env, check=True)
                    deployed = "2 uvicorn workers, Redis" if redis_url else f"1 uvicorn worker, {no_redis}"
                    rows += streams.rows(directory, env, options["streams"])
                    if not options["only_streams"]:
                        rows += self._upstream_lists(directory, api, base_url, redis_url, cookie, counts, code,
                                                     before_commit, options["window"], options["window_events"])
                        workers = 2 if redis_url else 1
                        with deployment.live_dashboard(directory, "live", env, workers=workers) as served:
                            self._wait_live(api, served, cookie)
                            rows += asyncio.run(self._event_latency(api, served, cookie, options, deployed))
                            rows.append(self._between_429_and_reset(api, served, cookie, options["limit_window"]))
                # The sandbox and the dashboards have stopped: the bench runs start their own.
                if options["compare_bench"] and not options["only_streams"]:
                    if code is None:
                        raise CommandError("--compare-bench needs the code before (drop --no-before)")
                    rows += self._compare_bench(directory, code, before_commit, options)
        finally:
            if shared is not None:
                shared.flushdb()
            shutil.rmtree(directory, ignore_errors=True)

        for line in benchkit.table_lines(rows):
            self.stdout.write(line)

    # Set-up

    @staticmethod
    def _session() -> str:
        user = get_user_model().objects.get(email=EMAIL)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return session.session_key

    @staticmethod
    def _wait_live(api: benchkit.SandboxApi, served: Served, cookie: str) -> None:
        """Until the listener is subscribed and the dashboard's streams say live updates flow."""
        deployment.wait_until(lambda: api.control()["event_subscribers"] >= 1, "the listener subscribed to /api/events")

        async def flowing() -> bool:
            client = browsers.StreamClient(served.port, cookie)
            task = asyncio.create_task(client.run())
            await asyncio.wait_for(client.opened.wait(), 10)
            client.close()
            await asyncio.gather(task, return_exceptions=True)
            return bool(client.live)

        deployment.wait_until(lambda: asyncio.run(flowing()), "a stream said live updates flow")

    # Row 1

    def _upstream_lists(
        self, directory: Path, api: benchkit.SandboxApi, base_url: str, redis_url: str | None, cookie: str,
        counts: list[int], code: Path | None, commit: str | None, window: float, window_events: int,
    ) -> list[tuple[str, str]]:
        factor = REAL_WINDOW / window
        scaled = {name: max(1, round(seconds / factor)) for name, seconds in SCALED.items()}
        poll, live_poll = SCALED["INBOX_REFRESH_SECONDS"] / factor, SCALED["INBOX_LIVE_REFRESH_SECONDS"] / factor
        lifetime = scaled["WAPIKIT_LIST_CACHE_SECONDS"]
        bound = int(window // lifetime)
        env = deployment.dashboard_env(base_url=base_url, api_key=API_KEY, redis_url=redis_url,
                                      extra={k: str(v) for k, v in scaled.items()})
        ids = [c["uniqueId"] for c in api.conversations("Active")[:10]]
        # WapiKit's 600 an hour would cut the code before short; both run unlimited here.
        api.control(rate_limits={"conversations": {"limit": 1_000_000, "window_seconds": 3600}})
        try:
            now: dict[int, tuple[int, int, int]] = {}
            with deployment.live_dashboard(directory, "lists", env, workers=2 if redis_url else 1) as served:
                self._wait_live(api, served, cookie)
                for n in counts:
                    now[n] = asyncio.run(self._open_inboxes(api, served, cookie, n, poll, live_poll, True, window,
                                                            window_events, ids))
            before: dict[int, tuple[int, int, int]] = {}
            if code is not None:
                with deployment.before_dashboard(code, directory, env, email=EMAIL) as old:
                    old_cookie = f"{settings.SESSION_COOKIE_NAME}={old.session_key}"
                    for n in counts:
                        before[n] = asyncio.run(self._open_inboxes(api, old, old_cookie, n, poll, live_poll, False,
                                                                   window, window_events, ids))
        finally:
            api.control(reset=True)
        scope = (f"10 min as {window:g} s (×{factor:g}: list cache {lifetime} s, polls {poll:.2g} s,"
                 f" {live_poll:.2g} s while live), {window_events} NewMessage events")
        met = all(calls <= bound for calls, _, _ in now.values())
        rows = [(
            f"upstream GET /conversations, inboxes open on one view, {scope}",
            " · ".join(f"{n} inbox{'es' if n > 1 else ''} {calls} ({asked} asked, {failed} failed)" for n, (calls, asked, failed) in now.items())
            + f", target ≤ {bound} each (one per cache lifetime, whatever the number){benchkit_met(met)}",
        )]
        if code is not None:
            rows.append((
                f"  the same before issue 11 ({commit}: polling every {poll:.2g} s, no stream)",
                " · ".join(f"{n} inbox{'es' if n > 1 else ''} {calls} ({asked} asked, {failed} failed)" for n, (calls, asked, failed) in before.items()),
            ))
        return rows

    async def _open_inboxes(
        self, api: benchkit.SandboxApi, served: Served, cookie: str, n: int, poll: float, live_poll: float,
        stream: bool, window: float, events: int, ids: list[str],
    ) -> tuple[int, int, int]:
        """`n` inboxes open on the default view; the upstream list calls they cost in `window`
        seconds (after every page and its tabs loaded), and the requests they made meanwhile."""
        rng = random.Random(n)
        inboxes = [SimulatedInbox(served.port, cookie, "", poll, live_poll, stream, rng) for _ in range(n)]
        tasks = [asyncio.create_task(inbox.run()) for inbox in inboxes]
        try:
            loaded = asyncio.gather(*(inbox.loaded.wait() for inbox in inboxes))
            done, _ = await asyncio.wait([loaded, *tasks], timeout=60, return_when=asyncio.FIRST_COMPLETED)
            if loaded not in done:
                failed = next((t for t in tasks if t.done()), None)
                raise CommandError(f"the inboxes did not load: {failed.exception() if failed else 'timed out'}")
            await asyncio.sleep(1)  # the tabs' scans answered
            start = sum((await asyncio.to_thread(deployment.upstream_calls, served)).values())
            asked = sum(inbox.requests for inbox in inboxes)
            for inbox in inboxes:
                inbox.failed = 0

            async def publish() -> None:
                for k in range(events):
                    await asyncio.sleep(window / (events + 1))
                    await asyncio.to_thread(deployment.publish_message, api, ids[k % len(ids)], f"window {n}-{k}")

            publisher = asyncio.create_task(publish())
            await asyncio.sleep(window)
            end = sum((await asyncio.to_thread(deployment.upstream_calls, served)).values())
            await publisher
            failed = sum(inbox.failed for inbox in inboxes)
            return end - start, sum(inbox.requests for inbox in inboxes) - asked, failed
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # Rows 2 and 3

    async def _event_latency(self, api: benchkit.SandboxApi, served: Served, cookie: str, options: dict,
                             deployed: str) -> list[tuple[str, str]]:
        tabs, events = options["tabs"], options["events"]
        clients, tasks = await browsers.open_streams(served.port, cookie, options["clients"])
        try:
            async with async_playwright() as playwright:
                pages = []
                if tabs:
                    browser = await playwright.chromium.launch(executable_path=str(browsers.CHROMIUM),
                                                               args=browsers.CHROMIUM_ARGS, headless=True)
                    session_key = cookie.split("=", 1)[1]
                    for _ in range(tabs):
                        context = await browser.new_context()
                        await context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key,
                                                    "url": served.url}])
                        page = await context.new_page()
                        await page.goto(f"{served.url}/")
                        await page.wait_for_selector("#cards .card")
                        # Open once its stream is: a tab still connecting would only poll.
                        await page.wait_for_selector('body[data-live="1"]', timeout=30_000)
                        pages.append(page)
                    ids = await pages[0].eval_on_selector_all("#cards .card", "cards => cards.slice(0, 5).map(c => c.id.slice(2))")
                else:
                    ids = [c["uniqueId"] for c in api.conversations("Active")[:5]]
                # One untimed event: the whole path works before anything is timed.
                await self._one_event(api, pages, clients, ids[0], f"warm-up {secrets.token_hex(3)}", timeout=15)
                card_times: list[float] = []
                frame_times: list[float] = []
                missed_cards = missed_frames = 0
                for k in range(events):
                    shown, framed, misses = await self._one_event(
                        api, pages, clients, ids[k % len(ids)], f"live {k} {secrets.token_hex(3)}", timeout=10
                    )
                    card_times += shown
                    frame_times += framed
                    missed_cards += len(pages) - len(shown)
                    missed_frames += misses
                    await asyncio.sleep(0.2)
        finally:
            await browsers.close_streams(clients, tasks)
        rows = []
        label = f"event to card latency, POST /_sandbox/events to the text on the card ({deployed})"
        if card_times:
            p95 = browsers.percentile(card_times, 0.95)
            rows.append((
                label,
                f"{browsers.spread_ms(card_times)} · {tabs} Chromium tabs × {events} events, {missed_cards} missed,"
                f" {len(clients)} stream clients open, target p95 ≤ {LATENCY_TARGET_S:.0f} s"
                f"{benchkit_met(p95 <= LATENCY_TARGET_S and missed_cards == 0)}",
            ))
        else:
            rows.append((label, "left out: no tabs (--tabs 0)"))
        rows.append((
            f"event to `changed` frame, {len(clients)} stream clients",
            f"{browsers.spread_ms(frame_times)} · {len(frame_times)} frames, {missed_frames} missed",
        ))
        return rows

    @staticmethod
    async def _one_event(api, pages, clients, conversation_id: str, text: str, *, timeout: float):
        """Publish one NewMessage; the seconds until each tab's card showed its text, until each
        stream client's `changed` frame, and the clients that never got it."""
        watches = [asyncio.create_task(page.evaluate(browsers.CARD_SHOWS, {"id": conversation_id, "text": text}))
                   for page in pages]
        await asyncio.sleep(0.05)
        t0 = await asyncio.to_thread(deployment.publish_message, api, conversation_id, text)
        done, pending = await asyncio.wait(watches, timeout=timeout) if watches else (set(), set())
        for task in pending:
            task.cancel()
        if timeout > 10 and pending:
            raise CommandError(
                f"a pushed NewMessage did not reach the open card #c-{conversation_id} within {timeout:.0f} s"
                f" in {len(pending)} of {len(pages)} tabs"
            )
        shown = [task.result() / 1000 - t0 for task in done if not task.exception()]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(c.arrived(conversation_id, t0) is None for c in clients):
            await asyncio.sleep(0.02)
        arrivals = [c.arrived(conversation_id, t0) for c in clients]
        framed = [t - t0 for t in arrivals if t is not None]
        return shown, framed, len(arrivals) - len(framed)

    # Row 4

    def _between_429_and_reset(self, api: benchkit.SandboxApi, served: Served, cookie: str, window: int) -> tuple[str, str]:
        """A small limit on the conversations route; another client of the same address spends
        what remains, so the dashboard's next fresh list read gets WapiKit's 429. Then pages,
        polls and tab counts until the reset: what reaches that route meanwhile."""
        browser = requests.Session()
        browser.headers["Cookie"] = cookie
        limit = 10
        # Pages nobody read yet, so each is a fresh list read; within the pages the dashboard
        # asks WapiKit for (it refuses a page past MAX_PAGE before sending anything).
        fresh = iter(range(random.randint(1_000, MAX_PAGE // 2), MAX_PAGE + 1))

        def page() -> int:
            return browser.get(f"{served.url}/?status=all&per_page=10&page={next(fresh)}", timeout=15).status_code

        def calls() -> dict[str, int]:
            return deployment.upstream_calls(served)

        api.control(rate_limits={"conversations": {"limit": limit, "window_seconds": window}})
        try:
            if page() != 200:
                raise CommandError("the dashboard did not serve a page under the small limit")
            last_counted = time.time()
            url = api.base_url + "/conversations"
            for _ in range(limit):  # another client of WapiKit, from the same address
                answer = api.session.get(url, params={"page": 1, "per_page": 1, "status": "Active"}, timeout=10)
                if answer.status_code == 429:
                    break
                last_counted = time.time()
            reset_at = last_counted + window
            for _ in range(5):
                page()
                if calls().get("429"):
                    break
            else:
                raise CommandError("the dashboard never got WapiKit's 429")
            at_429, started = sum(calls().values()), time.time()
            answered: dict[int, int] = {}
            asked = 0
            changes = "/inbox/changes/?status=all&per_page=10&v=&busy="
            while time.time() < reset_at - 0.5:
                for path in (None, changes, "/inbox/tabs/?status=all", "/"):
                    status = page() if path is None else browser.get(served.url + path, timeout=15).status_code
                    answered[status] = answered.get(status, 0) + 1
                    asked += 1
                time.sleep(0.1)
            after = sum(calls().values()) - at_429
            held = time.time() - started
            time.sleep(max(0.0, reset_at + 1.5 - time.time()))
            resumed_from = sum(calls().values())
            resumed_status = page()
            resumed = sum(calls().values()) - resumed_from
        finally:
            api.control(reset=True)
        statuses = ", ".join(f"{n}× {s}" for s, n in sorted(answered.items()))
        return (
            f"upstream GET /conversations between WapiKit's 429 and its reset (limit {limit} per {window} s)",
            f"{after} in the {held:.1f} s after the 429 ({asked} pages, polls and tab counts asked: {statuses})"
            f" · after the reset {resumed} again, page {resumed_status}, target 0{benchkit_met(after == 0)}",
        )

    # Row 5

    def _compare_bench(self, directory: Path, code: Path, commit: str, options: dict) -> list[tuple[str, str]]:
        args = ["bench", "--runs", str(options["bench_runs"]), "--load-seconds", str(options["bench_load_seconds"]),
                "--faults", "none", "--timed-bulk", "0"]
        tables = {}
        failures = []
        for name, cwd in (("now", Path(settings.BASE_DIR)), ("before", code)):
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / f'bench-{name}.sqlite3'}"}
            env["DJANGO_SETTINGS_MODULE"], _ = deployment.tools_of(cwd)
            env.pop("REDIS_URL", None)
            manage = [sys.executable, str(cwd / "manage.py")]
            subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=cwd, check=True)
            run = subprocess.run([*manage, *args], env=env, cwd=cwd, capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{name}: {(run.stderr.strip().splitlines() or ['?'])[-1]}")
            tables[name] = dict(re.findall(r"^(\S.*?)\s{2,}(\S.*)$", run.stdout, re.M))
        rows = []
        how = "manage.py bench"
        if failures:
            # Its render medians and its load run, measured as it measures them.
            rows.append((f"manage.py {' '.join(args)}", "failed, " + "; ".join(failures)))
            tables = self._as_bench_does(directory, code, options)
            how = "measure_render + wrk as manage.py bench runs them"
        now, before = tables["now"], tables["before"]
        for name, value in now.items():
            if not name.startswith("server time, ") or name not in before:
                continue
            ours, theirs = _number(value, "ms median"), _number(before[name], "ms median")
            ratio = theirs / ours
            rows.append((
                f"{name}, now vs {commit} ({how})",
                f"{ours:.2f} vs {theirs:.2f} ms · ratio {ratio:.2f}, target ≥ {BENCH_RATIO_TARGET}"
                f" (no worse: within 10%){benchkit_met(ratio >= BENCH_RATIO_TARGET)}",
            ))
        load_now = next(((k, v) for k, v in now.items() if k.startswith("load: inbox")), None)
        load_before = next(((k, v) for k, v in before.items() if k.startswith("load: inbox")), None)
        if load_now and load_before:
            ours, theirs = _number(load_now[1], "req/s"), _number(load_before[1], "req/s")
            ratio = ours / theirs
            rows.append((
                f"load run, {options['bench_load_seconds']} s, now vs {commit} (both gthread pages), req/s",
                f"{ours:.0f} vs {theirs:.0f} · ratio {ratio:.2f} · p50 {_after(load_now[1], 'p50')} vs"
                f" {_after(load_before[1], 'p50')}, target ≥ {BENCH_RATIO_TARGET}{benchkit_met(ratio >= BENCH_RATIO_TARGET)}",
            ))
        return rows


    def _as_bench_does(self, directory: Path, code: Path, options: dict) -> dict[str, dict[str, str]]:
        """`manage.py bench`'s render medians (`measure_render`, owner and manager) and its load
        run (gunicorn with production settings, 2 workers, the sandbox answering in 50 ms, wrk at
        32 connections) for this code and the code in `code`, in its table's words."""
        wrk = shutil.which("wrk")
        if wrk is None:
            raise CommandError("wrk is needed for the load run: apt-get install wrk (make bench-live does this)")
        seconds, runs = options["bench_load_seconds"], options["bench_runs"]
        tables: dict[str, dict[str, str]] = {}
        here = directory / "bench"
        here.mkdir()
        databases = {name: {"DATABASE_URL": f"sqlite:///{here / f'{name}.sqlite3'}"} for name in ("now", "before")}
        plain = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        for name, cwd in (("now", Path(settings.BASE_DIR)), ("before", code)):
            settings_module, render_module = deployment.tools_of(cwd)
            env = {**plain, **databases[name], "DJANGO_SETTINGS_MODULE": settings_module}
            manage = [sys.executable, str(cwd / "manage.py")]
            subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=cwd, check=True)
            snippet = RENDER_SNIPPET.format(module=render_module, runs=runs)
            out = subprocess.run([*manage, "shell", "-c", snippet], env=env, cwd=cwd,
                                 check=True, capture_output=True, text=True).stdout
            tables[name] = {k: f"{v:.2f} ms median" for k, v in json.loads(out.strip().splitlines()[-1])}
        with benchkit.sandbox_process(here, API_KEY) as (base_url, _):
            benchkit.SandboxApi(base_url, API_KEY).control(latency_ms=50)
            env = deployment.dashboard_env(base_url=base_url, api_key=API_KEY, redis_url=None)
            now_env = {**env, **databases["now"]}
            key = subprocess.run([sys.executable, str(deployment.MANAGE), "shell", "-c",
                                  deployment.SESSION_SNIPPET.format(email=EMAIL)],
                                 env=now_env, check=True, capture_output=True, text=True).stdout.split()[-1]
            with benchkit.gunicorn_processes((now_env, here / "now.log", 2)) as (url,):
                cookie = f"Cookie: {settings.SESSION_COOKIE_NAME}={key}"
                (label, value), _ = load_run(wrk, f"{url}/", cookie, seconds, 32, "load: inbox")
                tables["now"][label] = value
            with deployment.before_dashboard(code, here, env, email=EMAIL) as old:
                cookie = f"Cookie: {settings.SESSION_COOKIE_NAME}={old.session_key}"
                (label, value), _ = load_run(wrk, f"{old.url}/", cookie, seconds, 32, "load: inbox")
                tables["before"][label] = value
        return tables


RENDER_SNIPPET = """
import json
from {module} import measure_render
print(json.dumps([[f"server time, {{n}} ({{k}})", m] for k in ("owner", "manager") for n, m, _ in measure_render({runs}, kind=k)]))
"""


def benchkit_met(met: bool) -> str:
    return " · met" if met else " · MISSED"


def _number(value: str, unit: str) -> float:
    return float(re.search(rf"([\d.]+) {re.escape(unit)}", value).group(1))


def _after(value: str, word: str) -> str:
    found = re.search(rf"{word} (\S+)", value)
    return found.group(1) if found else "?"


@contextlib.contextmanager
def _environ(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
