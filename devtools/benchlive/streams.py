"""`make bench-live`'s streams rows: what open browsers cost one streams worker.

One gunicorn streams worker (dashboard/gunicorn_streams_conf.py) on PostgreSQL when it answers
on 127.0.0.1:5432 (else SQLite), with `count` browser streams open: its memory per stream, the
threads and database connections they add, and, once every client has vanished without closing
(each socket reset, no goodbye), how long until its sockets, threads and database connections
are back to their idle counts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings

from devtools.benchlive import browsers, deployment
from devtools.benchmarks import benchkit

POSTGRES = "postgres://postgres@127.0.0.1:5432"
DATABASE = "wapikit_bench_streams"
MEMORY_TARGET_KB = 50
BACK_TARGET_S = 30


@dataclass
class Reading:
    rss_kb: int
    threads: int
    sockets: int
    database: int


def rows(directory: Path, env: dict, count: int) -> list[tuple[str, str]]:
    database_url, kind = _database(directory)
    env = {**env, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(deployment.MANAGE)]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    snippet = deployment.SESSION_SNIPPET.format(email="manager@example.com")
    session = subprocess.run([*manage, "shell", "-c", snippet], env=env, check=True,
                             capture_output=True, text=True).stdout.split()[-1]
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}"
    with benchkit.gunicorn_processes((env, directory / "streams.log", 1), streams=True) as (url,):
        port = int(url.rsplit(":", 1)[1])
        (pid,) = deployment.worker_pids(port)
        probe = _Probe(pid, database_url)
        idle, busy, back = asyncio.run(_measure(port, cookie, count, probe))
    per_stream = (busy.rss_kb - idle.rss_kb) / count
    where = f"1 streams worker (uvicorn), {kind}, {count:,} streams of one signed-in manager"
    return [
        (f"memory per open stream, {where}",
         f"RSS {idle.rss_kb / 1024:.1f} → {busy.rss_kb / 1024:.1f} MB: {per_stream:.1f} kB a stream"
         f" (target ≤ {MEMORY_TARGET_KB} kB) · {_met(per_stream <= MEMORY_TARGET_KB)}"),
        (f"threads added by {count:,} open streams",
         f"{idle.threads} → {busy.threads}: {busy.threads - idle.threads:+d} (target 0) · {_met(busy.threads <= idle.threads)}"),
        (f"database connections held by {count:,} open streams ({kind})",
         f"{idle.database} → {busy.database}: {busy.database - idle.database:+d} (target 0)"
         f" · {_met(busy.database <= idle.database)}"),
        (f"after {count:,} clients vanish without closing (sockets reset): back to idle",
         f"sockets {_seconds(back['sockets'])}, threads {_seconds(back['threads'])}, database connections"
         f" {_seconds(back['database'])} (target ≤ {BACK_TARGET_S} s)"
         f" · {_met(all(s is not None and s <= BACK_TARGET_S for s in back.values()))}"),
    ]


async def _measure(port: int, cookie: str, count: int, probe: _Probe) -> tuple[Reading, Reading, dict]:
    # Served streams before it is read idle: what a first stream loads is not a stream's.
    await browsers.close_streams(*await browsers.open_streams(port, cookie, 20))
    await asyncio.sleep(1)
    idle = probe.read()
    clients, tasks = await browsers.open_streams(port, cookie, count)
    await asyncio.sleep(2)
    busy = probe.read()
    vanished = time.monotonic()
    for client in clients:
        client.vanish()
    back: dict[str, float | None] = {"sockets": None, "threads": None, "database": None}
    while time.monotonic() - vanished < BACK_TARGET_S * 2 and None in back.values():
        now = probe.read()
        for name in back:
            if back[name] is None and getattr(now, name) <= getattr(idle, name):
                back[name] = time.monotonic() - vanished
        await asyncio.sleep(0.25)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return idle, busy, back


class _Probe:
    """The worker as /proc and its database see it."""

    def __init__(self, pid: int, database_url: str) -> None:
        self.pid, self.database_url = pid, database_url

    def read(self) -> Reading:
        rss, threads = deployment.proc_status(self.pid)
        return Reading(rss, threads, self._sockets(), self._database())

    def _links(self) -> list[str]:
        links = []
        for fd in Path(f"/proc/{self.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                links.append(os.readlink(fd))
        return links

    def _sockets(self) -> int:
        return sum(link.startswith("socket:") for link in self._links())

    def _database(self) -> int:
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///")
            return sum(link == path for link in self._links())
        with psycopg.connect(f"{POSTGRES}/{DATABASE}", autocommit=True) as connection:
            (held,) = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (DATABASE,)
            ).fetchone()
        return held


def _database(directory: Path) -> tuple[str, str]:
    """PostgreSQL's URL when it answers (its database made anew), else a SQLite file's."""
    try:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=2) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {DATABASE}")
        return f"{POSTGRES}/{DATABASE}", "PostgreSQL"
    except Exception:  # noqa: BLE001 - no PostgreSQL here: SQLite, whose open files are counted instead
        return f"sqlite:///{directory / 'streams.sqlite3'}", "SQLite"


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else f"not within {BACK_TARGET_S * 2} s"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"
