"""`make bench`: one table, from one run, of what the dashboard costs.

Render times and bytes come from the whole Django stack in this process; upstream calls are
counted at the client; the load run serves the dashboard with gunicorn (production settings)
against a sandbox answering in 50 ms, and drives it with wrk."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.test.utils import override_settings

from dashboard.inbox import benchkit
from dashboard.inbox.management.commands.bench_render import measure_render
from dashboard.wapikit import WapiKitClient, get_client

API_KEY = "bench-sandbox-key"


class Command(BaseCommand):
    help = "Measure render times, upstream calls, bytes, the proxy overhead and a load run; print one table."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=200, help="repetitions behind each median")
        parser.add_argument("--load-seconds", type=int, default=60, help="0 leaves the load run out")
        parser.add_argument("--users", type=int, default=32)
        parser.add_argument("--bulk", type=int, default=50, help="conversations in the measured bulk action")

    def handle(self, *args, runs: int, load_seconds: int, users: int, bulk: int, **options):
        rows: list[tuple[str, str]] = []
        add = lambda name, value: rows.append((name, value))  # noqa: E731

        for kind in ("owner", "manager"):
            for name, median, size in measure_render(runs, kind=kind):
                add(f"server time, {name} ({kind})", f"{median:.2f} ms median · {size:,} B")

        directory = Path(tempfile.mkdtemp(prefix="wapikit-bench-"))
        try:
            with benchkit.sandbox_process(directory, API_KEY) as (base_url, port):
                with override_settings(
                    WAPIKIT_BASE_URL=base_url, WAPIKIT_API_KEY=API_KEY, ALLOWED_HOSTS=["testserver"]
                ):
                    get_client.cache_clear()
                    self._calls_and_bytes(add, bulk)
                    sandbox = WapiKitClient(base_url=base_url, api_key=API_KEY)
                    for latency in (0, 50):
                        self._control(sandbox, latency)
                        add(f"inbox time ÷ direct upstream call, sandbox {latency} ms", self._ratio(sandbox, max(runs // 4, 3)))
                    self._control(sandbox, 50)
                    get_client.cache_clear()
                    for name, value in self._load(directory, base_url, load_seconds, users):
                        add(name, value)
        finally:
            get_client.cache_clear()
            shutil.rmtree(directory, ignore_errors=True)

        width = max(len(name) for name, _ in rows)
        self.stdout.write(f"{'measure':<{width}}  value")
        self.stdout.write(f"{'-' * width}  {'-' * 40}")
        for name, value in rows:
            self.stdout.write(f"{name:<{width}}  {value}")

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
        page = _raw(manager.get("/?per_page=50"))
        first = re.search(rb'id="c-([0-9a-f-]{36})"', page).group(1).decode()
        with benchkit.counting_calls() as calls:
            fragment = manager.post(f"/conversations/{first}/close/", {"next": "/"}, headers={"HX-Request": "true"})
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

    def _ratio(self, sandbox: WapiKitClient, runs: int) -> str:
        manager = self._login("manager@example.com")
        manager.get("/")
        dashboard = benchkit.median_ms(lambda: manager.get("/"), runs)
        direct = benchkit.median_ms(
            lambda: sandbox.list_conversations(page=1, per_page=25, status="Active"), runs
        )
        return f"{dashboard / direct:.2f} ({dashboard:.1f} ms vs {direct:.1f} ms, medians of {runs})"

    @staticmethod
    def _control(sandbox: WapiKitClient, latency: int) -> None:
        sandbox.session.post(
            sandbox.base_url.removesuffix("/api") + "/_sandbox/control", json={"latency_ms": latency}, timeout=5
        ).raise_for_status()

    def _load(self, directory: Path, base_url: str, seconds: int, users: int) -> list[tuple[str, str]]:
        """Serve the dashboard with gunicorn and production settings; measure what a first visit
        loads, then (unless seconds is 0) drive the inbox with wrk."""
        wrk = shutil.which("wrk")
        if wrk is None and seconds > 0:
            raise CommandError("wrk is needed for the load run: apt-get install wrk (make bench does this)")
        port = benchkit.free_port()
        env = {
            **os.environ,
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
        workers, threads = 2, 16
        with open(directory / "gunicorn.log", "w") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "dashboard.wsgi", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )
            try:
                benchkit.wait_for_port(port, server)
                url = f"http://127.0.0.1:{port}/"
                rows = self._first_visit(url, session.session_key)
                if seconds > 0:
                    cookie = f"Cookie: {settings.SESSION_COOKIE_NAME}={session.session_key}"
                    label = f"load: inbox, gunicorn {workers}×{threads} threads, sandbox 50 ms, {users} users"
                    rows += self._wrk(wrk, url, cookie, seconds, users, label)
            finally:
                server.terminate()
                server.wait(timeout=15)
        return rows

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


def _paths(calls: list[tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for method, path in calls:
        name = f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path)}"
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in counts.items()) or "none"


def _raw(response) -> bytes:
    body = response.content
    return gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body
