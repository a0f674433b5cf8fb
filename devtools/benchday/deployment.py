"""The deployment a simulated day runs against, time compressed: a `server` sandbox with its
rate limits on (their windows compressed) that nobody else calls, and the dashboard as
production runs it (production settings, gunicorn's uvicorn worker, `listen_events`, and
`db_worker` for the background reads and timed alerts, handing over as `make run`'s does) on a
fresh database of its own. What the bench reads of it: the dashboard's database (SQLite,
read-only, beside the processes) and the upstream calls /metrics counts."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from django.conf import settings

from dashboard.conversations.models import Alert, ConversationLife, Reading
from devtools.benchlive import deployment as live
from devtools.benchmarks import benchkit
from devtools.sandbox import ratelimit
from devtools.sandbox.serve import sandbox_command

MANAGE = Path(settings.BASE_DIR) / "manage.py"
API_KEY = "bench-day-sandbox-key"
EMAIL = "manager@example.com"
MESSAGES_ROUTE = "/conversation/:id/messages"


@dataclass(frozen=True)
class Compression:
    """`scale` simulated seconds pass in each real second."""

    scale: float

    def real(self, simulated_minutes: float) -> float:
        """Real seconds standing for these simulated minutes."""
        return simulated_minutes * 60 / self.scale

    def minutes(self, real_seconds: float) -> float:
        """Simulated minutes these real seconds stand for."""
        return real_seconds * self.scale / 60

    def rate_limits(self) -> dict[str, dict[str, int]]:
        """WapiKit's limits with their windows compressed alike (at least a second)."""
        return {
            bucket: {"limit": limit.requests, "window_seconds": max(1, round(limit.window_seconds / self.scale))}
            for bucket, limit in ratelimit.DEFAULT_LIMITS.items()
        }

    def dashboard_settings(self) -> dict[str, str]:
        """The dashboard's timers in minutes and hours, compressed (dashboard/settings.py): the
        response targets (the bench's own settings, simulated minutes), the re-reads' backoff and
        the Active list's sweep. Cache lifetimes of a few seconds are left as they are."""
        targets = {
            name: repr(getattr(settings, name) / self.scale)
            for name in ("FIRST_RESPONSE_TARGET_MINUTES", "NEXT_RESPONSE_TARGET_MINUTES", "DUE_SOON_WARNING_MINUTES")
        }
        timers = {
            name: repr(getattr(settings, name) / self.scale)
            for name in ("WAPIKIT_REREAD_FIRST_SECONDS", "WAPIKIT_REREAD_LONGEST_SECONDS", "WAPIKIT_SWEEP_SECONDS")
        }
        return {**targets, **timers}

    def worker_interval(self) -> float:
        """db_worker's idle poll: its default second, compressed, but no busier than 5 a second."""
        return max(0.2, 1 / self.scale)


@contextlib.contextmanager
def server_sandbox(directory: Path, compression: Compression) -> Iterator[benchkit.SandboxApi]:
    """A `server` sandbox with no conversations yet (its members seeded), its rate limits on
    and compressed. Unlike `make bench`'s it caches no answer: the day writes to it."""
    port = benchkit.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'day-sandbox.sqlite3'}",
        "SANDBOX_API_KEY": API_KEY,
        "SANDBOX_PROFILE": "server",
        "SANDBOX_CACHE_GETS": "false",
        "SANDBOX_LATENCY_MS": "0",
    }
    manage = [sys.executable, str(MANAGE)]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "seed_sandbox", "--conversations", "0"], env=env, check=True, capture_output=True)
    with open(directory / "day-sandbox.log", "w") as log:
        process = subprocess.Popen(
            sandbox_command("127.0.0.1", port, threads=16), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            benchkit.wait_for_port(port, process)
            api = benchkit.SandboxApi(f"http://127.0.0.1:{port}/api", API_KEY)
            api.session.headers["Connection"] = "close"
            api.control(rate_limits=compression.rate_limits())
            yield api
        finally:
            process.terminate()
            process.wait(timeout=10)


@dataclass
class Dashboard:
    url: str
    metrics_token: str
    database: Path
    cookie: str


def dashboard_env(directory: Path, base_url: str, compression: Compression, redis_url: str | None) -> dict:
    env = live.dashboard_env(base_url=base_url, api_key=API_KEY, redis_url=redis_url,
                             extra=compression.dashboard_settings())
    env["DATABASE_URL"] = f"sqlite:///{directory / 'day-dashboard.sqlite3'}"
    # One metrics directory for the three processes, so that /metrics counts the worker's
    # background reads too (gunicorn empties it as it starts, before the other two).
    (directory / "metrics").mkdir(exist_ok=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory / "metrics")
    return env


@contextlib.contextmanager
def day_dashboard(directory: Path, env: dict, compression: Compression) -> Iterator[Dashboard]:
    """A fresh database (migrated, a signed-in session for EMAIL), then the web server, the
    events listener and the tasks worker, as `make run` starts them but with production settings."""
    manage = [sys.executable, str(MANAGE)]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)
    key = subprocess.run([*manage, "shell", "-c", live.SESSION_SNIPPET.format(email=EMAIL)], env=env,
                         check=True, capture_output=True, text=True).stdout.split()[-1]
    database = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    with benchkit.gunicorn_processes((env, directory / "day-web.log", 1), streams=True) as (url,):
        hands_over = {**env, "LIVE_INGEST_URL": f"{url}/live/ingest/"}
        started: list[subprocess.Popen] = []
        try:
            for name, command, extra in (
                ("listener", ["listen_events"], {}),
                ("worker", ["db_worker", "--no-reload", "--interval", f"{compression.worker_interval():g}"],
                 {"LIVE_HANDS_OVER": "true"}),
            ):
                log = open(directory / f"day-{name}.log", "w")  # noqa: SIM115 - closed with the process
                started.append(subprocess.Popen([*manage, *command], env={**hands_over, **extra},
                                                stdout=log, stderr=subprocess.STDOUT))
                log.close()
            yield Dashboard(url, env["METRICS_TOKEN"], database, f"{settings.SESSION_COOKIE_NAME}={key}")
        finally:
            for process in started:
                process.terminate()
            for process in started:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


# What the bench reads of the dashboard


def upstream_calls(dashboard: Dashboard) -> dict[tuple[str, str, str], int]:
    """dashboard_upstream_requests_total as /metrics adds it up: (method, route, status) → calls."""
    answer = requests.get(f"{dashboard.url}/metrics", headers={"Authorization": f"Bearer {dashboard.metrics_token}"},
                          timeout=10)
    answer.raise_for_status()
    counts: dict[tuple[str, str, str], int] = {}
    for labels, value in re.findall(r"^dashboard_upstream_requests_total\{([^}]*)\}\s+(\S+)$", answer.text, re.M):
        found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        key = (found.get("method", ""), found.get("route", ""), found.get("status", ""))
        counts[key] = counts.get(key, 0) + int(float(value))
    return counts


def messages_reads(calls: dict[tuple[str, str, str], int]) -> int:
    return sum(n for (method, route, _), n in calls.items() if method == "GET" and route == MESSAGES_ROUTE)


def refused(calls: dict[tuple[str, str, str], int]) -> int:
    return sum(n for (_, _, status), n in calls.items() if status == "429")


class DashboardDatabase:
    """The day dashboard's SQLite database, read-only, beside the processes writing it (WAL)."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)

    def close(self) -> None:
        self.connection.close()

    def lives(self) -> dict[str, tuple[bool, bool]]:
        """Each conversation the timeline knows: (waiting: first_inbound_at set, last message known)."""
        table = ConversationLife._meta.db_table
        rows = self.connection.execute(
            f"SELECT conversation_id, first_inbound_at IS NOT NULL, last_message_at IS NOT NULL FROM {table}"  # noqa: S608
        )
        return {cid: (bool(waiting), bool(known)) for cid, waiting, known in rows}

    def overdue_reads(self, *, before: float) -> int:
        """Conversations whose background read was due before `before` (Unix seconds) and not made."""
        table = Reading._meta.db_table
        moment = datetime.fromtimestamp(before, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        (count,) = self.connection.execute(
            f"SELECT COUNT(*) FROM {table} WHERE next_read_at IS NOT NULL AND next_read_at < ?",  # noqa: S608
            (moment,),
        ).fetchone()
        return count

    def response_alerts(self) -> list[tuple[str, float, float, float]]:
        """The response clocks' alerts: (conversation, cycle_at, due_at, raised_at), Unix seconds."""
        table = Alert._meta.db_table
        rows = self.connection.execute(
            f"SELECT conversation_id, cycle_at, due_at, raised_at FROM {table} WHERE kind = ?",  # noqa: S608
            (Alert.Kind.RESPONSE.value,),
        )
        return [(cid, _unix(cycle), _unix(due), _unix(raised)) for cid, cycle, due, raised in rows]


def _unix(stored: str) -> float:
    moment = datetime.fromisoformat(stored)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def clear_up(directory: Path, shared, progress: Callable[[str], None]) -> None:
    """What a day leaves behind: the shared Redis database emptied, and its directory (the logs and
    the sandbox's and the dashboard's databases) removed, unless BENCH_DAY_KEEP asks to keep it."""
    if shared is not None:
        shared.flushdb()
    if os.environ.get("BENCH_DAY_KEEP"):
        progress(f"  kept: {directory} (logs, the sandbox's and the dashboard's databases)")
    else:
        shutil.rmtree(directory, ignore_errors=True)
