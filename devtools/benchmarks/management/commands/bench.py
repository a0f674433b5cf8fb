"""`make bench`: one table, from one run, of what the dashboard costs.

Render times and bytes come from the whole Django stack in this process (`render`, `costs`);
upstream calls are counted at the client; the load run serves the dashboard with gunicorn
(production settings) against a sandbox answering in 50 ms, and drives it with wrk (`served`).
Then the reports page on PostgreSQL, 90 days of a 50-member team (`reports_pg`: a copy of a
seeded template database, timed in a process of its own; "left out: …" without PostgreSQL).
Last, unless `--no-day`, `manage.py bench_day` with its defaults: a short simulated day against
a live deployment, its table printed below this one (its rows: `devtools/benchday/figures.py`);
then routing's day, shortened (`manage.py bench_routing_day`, rows: `devtools/benchday/routing_day.py`).

The figures with a time target (`target < …`) are the ones the test suite checks only by
counting calls, since a machine's speed varies: the fault matrix's slowest answer, the bulk
close at 100 ms of latency, an open circuit in this process and across two gunicorn processes
sharing Redis, and the sandbox's latency knob (`targets`, `served`). Each row says whether its
target was met."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from dashboard.wapikit import WapiKitClient, get_client
from devtools.benchmarks import benchkit, costs, reports_pg, served, targets
from devtools.benchmarks.render import measure_render

API_KEY = "bench-sandbox-key"


class Command(BaseCommand):
    help = "Measure render times, upstream calls, bytes, the proxy overhead and a load run; print one table."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=200, help="repetitions behind each median")
        parser.add_argument("--load-seconds", type=int, default=60, help="0 leaves the load run out")
        parser.add_argument("--users", type=int, default=32)
        parser.add_argument("--bulk", type=int, default=50, help="conversations in the measured bulk action")
        parser.add_argument(
            "--timed-bulk", type=int, default=targets.BULK_TARGET[0],
            help=f"conversations in the bulk close timed at 100 ms latency (target for {targets.BULK_TARGET[0]}); 0 leaves it out",
        )
        parser.add_argument("--timed-bulk-runs", type=int, default=3, help="repetitions behind its median")
        parser.add_argument(
            "--faults", default="all",
            help=f"fault-matrix failures to time, comma-separated, 'all' or 'none': {', '.join(targets.FAULTS)}",
        )
        parser.add_argument("--no-day", action="store_true", help="leave the short simulated day out (make bench-day runs it)")
        parser.add_argument("--reports-runs", type=int, default=7, help="repetitions behind each reports median; 0 leaves them out")
        parser.add_argument("--reports-days", type=int, default=90, help="days of the reports' seeded history")
        parser.add_argument("--reports-per-day", type=int, default=230, help="conversations a day of it")

    def handle(
        self, *args, runs: int, load_seconds: int, users: int, bulk: int,
        timed_bulk: int, timed_bulk_runs: int, faults: str, no_day: bool, reports_runs: int, reports_days: int,
        reports_per_day: int, **options,
    ):
        if faults == "all":
            fault_ids = list(targets.FAULTS)
        elif faults == "none":
            fault_ids = []
        else:
            fault_ids = [f.strip() for f in faults.split(",") if f.strip()]
            unknown = [f for f in fault_ids if f not in targets.FAULTS]
            if unknown:
                raise CommandError(f"unknown fault {', '.join(unknown)}; one of {', '.join(targets.FAULTS)}")
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
                    costs.calls_and_bytes(add, bulk)
                    sandbox = WapiKitClient(base_url=base_url, api_key=API_KEY)
                    for latency in (0, 50):
                        benchkit.fresh_state(api)
                        api.control(latency_ms=latency)
                        add(f"inbox time ÷ direct upstream call, sandbox {latency} ms", costs.ratio(sandbox, max(runs // 4, 3)))
                    benchkit.fresh_state(api)
                    add(*targets.latency_knob(api, max(runs // 4, 3)))
                    with benchkit.quiet_logs():  # the failures below are on purpose
                        benchkit.fresh_state(api)
                        add(*targets.open_circuit(runs))
                        if fault_ids:
                            add(*targets.fault_answers(api, base_url, fault_ids))  # each cell starts afresh
                    if timed_bulk:
                        benchkit.fresh_state(api)
                        add(*targets.timed_bulk(api, timed_bulk, max(timed_bulk_runs, 1)))
                    benchkit.fresh_state(api)
                    api.control(latency_ms=50)
                    for name, value in served.rows(directory, base_url, API_KEY, api, load_seconds, users, runs):
                        add(name, value)
        finally:
            get_client.cache_clear()
            shutil.rmtree(directory, ignore_errors=True)
        if reports_runs:
            for name, value in reports_pg.rows(runs=reports_runs, days=reports_days, per_day=reports_per_day,
                                               say=self.stderr.write):
                add(name, value)

        for line in benchkit.table_lines(rows):
            self.stdout.write(line)
        if not no_day:
            self.stdout.write("")
            call_command("bench_day", stdout=self.stdout, stderr=self.stderr)
            self.stdout.write("")
            # Routing's day, shortened (`make bench-routing` runs the whole day).
            call_command("bench_routing_day", conversations=75, hours=2, stdout=self.stdout, stderr=self.stderr)
