"""`make bench-live`: issue 11's figures (one WapiKit budget for the whole team, live updates),
measured in one run against a live deployment of three processes: a `server` sandbox, the
dashboard under gunicorn's uvicorn workers, and `manage.py listen_events`, sharing Redis when
there is one (`BENCH_REDIS_URL`, flushed).

- Upstream list calls while 1, 10 and 50 inboxes stay open on the same view, ten minutes
  compressed into `--window` seconds (cache lifetimes and polling intervals scaled alike), and
  the same against the code before issue 11 in a git worktree (`--before`): `lists`.
- From WapiKit publishing a NewMessage to its text on the open cards of real Chromium tabs,
  with hundreds of bare stream clients connected; and to those clients' `changed` frames:
  `latency`.
- One streams worker with `--streams` browser streams open: memory per stream, threads and
  database connections added, and how soon all is back to idle once the clients vanish:
  `streams`.
- Upstream calls to a route between WapiKit's 429 and its reset: `limits`.
- With `--compare-bench`, `manage.py bench`'s render medians and load run on this code and on
  the code before, side by side: `compare`.

The deployment they run against is `deployment`; the browsers they drive, `browsers`. Rows with
a target say `· met` or `· MISSED`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.benchlive import browsers, compare, deployment, latency, limits, lists, streams
from devtools.benchmarks import benchkit
from devtools.sandbox.demo import ensure_demo_logins


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
        cookie = f"{settings.SESSION_COOKIE_NAME}={deployment.session_key(deployment.EMAIL)}"
        before_commit = None if options["no_before"] or options["only_streams"] else options["before"]
        try:
            with contextlib.ExitStack() as stack:
                code = stack.enter_context(deployment.worktree(before_commit)) if before_commit else None
                with contextlib.ExitStack() as running:
                    with _environ(SANDBOX_PROFILE="server"):
                        base_url, _ = running.enter_context(benchkit.sandbox_process(directory, deployment.API_KEY))
                    api = benchkit.SandboxApi(base_url, deployment.API_KEY)
                    # A connection each: gunicorn closes idle ones after 2 s, which a POST
                    # reusing one would meet as a reset.
                    api.session.headers["Connection"] = "close"
                    env = deployment.dashboard_env(base_url=base_url, api_key=deployment.API_KEY, redis_url=redis_url)
                    subprocess.run([sys.executable, str(deployment.MANAGE), "collectstatic", "--noinput", "-v0"],
                                   env=env, check=True)
                    deployed = "2 uvicorn workers, Redis" if redis_url else f"1 uvicorn worker, {no_redis}"
                    rows += streams.rows(directory, env, options["streams"])
                    if not options["only_streams"]:
                        rows += lists.upstream_lists(directory, api, base_url, redis_url, cookie, counts, code,
                                                    before_commit, options["window"], options["window_events"])
                        workers = 2 if redis_url else 1
                        with deployment.live_dashboard(directory, "live", env, workers=workers) as served:
                            deployment.wait_live(api, served, cookie)
                            rows += asyncio.run(latency.event_latency(api, served, cookie, options, deployed))
                            rows.append(limits.between_429_and_reset(api, served, cookie, options["limit_window"]))
                # The sandbox and the dashboards have stopped: the bench runs start their own.
                if options["compare_bench"] and not options["only_streams"]:
                    if code is None:
                        raise CommandError("--compare-bench needs the code before (drop --no-before)")
                    rows += compare.compare_bench(directory, code, before_commit, options)
        finally:
            if shared is not None:
                shared.flushdb()
            shutil.rmtree(directory, ignore_errors=True)

        for line in benchkit.table_lines(rows):
            self.stdout.write(line)


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
