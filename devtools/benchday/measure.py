"""One simulated day, start to end, as rows: the deployment started (`deployment`), the
conversations set up and a cold start timed, the day run (`day`), its figures (`figures`).
`manage.py bench_day` prints them (`manage.py bench` runs it with its defaults, a short day)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from devtools.benchday import day, deployment, figures
from devtools.benchlive import deployment as live

# Its own Redis database (flushed): `make bench` flushes 12, the bench-live smoke test 15.
REDIS_URL = "redis://127.0.0.1:6379/13"


def day_rows(*, conversations: int, messages: int, members: int, hours: float, scale: float,
             reply_minutes: float, seed: int = 7, progress: Callable[[str], None] = lambda line: None,
             ) -> list[tuple[str, str]]:
    compression = deployment.Compression(scale)
    directory = Path(tempfile.mkdtemp(prefix="wapikit-bench-day-"))
    redis_url = os.environ.get("BENCH_DAY_REDIS_URL", REDIS_URL)
    shared, _ = live.shared_redis(redis_url)
    truth = day.Truth()
    try:
        with deployment.server_sandbox(directory, compression) as api:
            sandbox = day.Sandbox(api)
            progress(f"  setting up {conversations} conversations")
            ids = day.set_up(sandbox, conversations, truth)
            env = deployment.dashboard_env(directory, api.base_url, compression, redis_url if shared else None)
            with deployment.day_dashboard(directory, env, compression) as dashboard:
                live.wait_until(lambda: api.control()["event_subscribers"] >= 1, "the listener subscribed", 60)
                database = deployment.DashboardDatabase(dashboard.database)
                try:
                    progress("  cold start: the inbox opened once on a fresh database")
                    # Long enough for the background share of a few windows.
                    found = day.cold_start(dashboard, database, ids,
                                           timeout=30 + compression.real(60) * (1 + conversations // 100))
                    progress("  the day begins")
                    the_day = day.run_day(sandbox, dashboard, database, conversations=ids, truth=truth,
                                          compression=compression, hours=hours, messages=messages, members=members,
                                          reply_minutes=reply_minutes, seed=seed, progress=progress)
                    # Alerts due at the day's last moments are raised by the worker's next poll.
                    time.sleep(compression.worker_interval() + compression.real(1) + 1)
                    calls = deployment.upstream_calls(dashboard)
                    alerts = database.response_alerts()
                    if os.environ.get("BENCH_DAY_KEEP"):
                        # Beside the kept databases: the waits as the day drove them, to put alerts to.
                        (directory / "truth.json").write_text(json.dumps([asdict(c) for c in truth.cycles]))
                    limit = api.control()["rate_limits"]["messages"]["limit"]
                finally:
                    database.close()
    finally:
        deployment.clear_up(directory, shared, progress)
    return [
        figures.day_row(the_day, compression, members, hours),
        *figures.accuracy_rows(the_day),
        figures.reads_row(the_day, compression, limit),
        figures.whole_reads_row(calls, hours),
        figures.refused_row(deployment.refused(calls)),
        *figures.alert_rows(the_day, alerts, compression),
        figures.cold_start_row(found, len(ids)),
    ]
