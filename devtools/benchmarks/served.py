"""`make bench`'s rows served by gunicorn with production settings, against the bench's sandbox
answering in 50 ms: an open circuit across two processes sharing Redis, what a first visit
loads, what the inbox weighs on the wire and in the DOM, and the load run, driven by wrk."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import redis
import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import CommandError

from devtools.benchmarks import benchkit
from devtools.benchmarks.targets import FAIL_FAST_TARGET_MS

# What the inbox of 50 cards may weigh: gzip bytes as gunicorn sends them, and elements once parsed.
# About 30% above what the readable templates measure (12.4 KB, 1,731 elements).
PAGE_CARDS = 50
PAGE_GZIP_BUDGET = 16_000
PAGE_DOM_BUDGET = 2_250
# JS and CSS a first visit loads, gzip on the wire (htmx and its SSE extension, our own scripts and styles).
FIRST_VISIT_BUDGET = 36_000
# The load run's target: inbox views a second, their 99th percentile, and no error.
LOAD_TARGET = (150, 300)


def rows(
    directory: Path, base_url: str, api_key: str, api: benchkit.SandboxApi, seconds: int, users: int, runs: int
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
        "WAPIKIT_API_KEY": api_key,
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
                measured = [(label, shared_circuit(api, *pair, session.session_key, runs))]
            else:
                measured = [(label, no_redis)]
            url = f"{served}/"
            measured += first_visit(url, session.session_key)
            measured += _page_weight_rows(url, session.session_key)
            if seconds > 0:
                cookie = f"Cookie: {settings.SESSION_COOKIE_NAME}={session.session_key}"
                label = f"load: inbox, gunicorn {workers}×16 threads, sandbox 50 ms, {users} users"
                measured += load_run(wrk, url, cookie, seconds, users, label)
    finally:
        if shared is not None:
            shared.flushdb()
    return measured


def shared_circuit(api: benchkit.SandboxApi, first: str, second: str, session_key: str, runs: int) -> str:
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
        f"{benchkit.met(ms < FAIL_FAST_TARGET_MS)}"
    )


def load_run(wrk: str, url: str, cookie: str, seconds: int, users: int, label: str) -> list[tuple[str, str]]:
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
    per_second, slowest_ms = LOAD_TARGET
    met = float(rps) >= per_second and _ms(p99) < slowest_ms and not error_text
    return [
        (
            f"{label}, {elapsed:.0f} s",
            f"{rps} req/s · p50 {p50} · p99 {p99} · {total} requests, "
            f"target ≥ {per_second} req/s, p99 < {slowest_ms} ms, 0 errors{benchkit.met(met)}",
        ),
        ("load: errors", ", ".join(error_text) or "0"),
    ]


def _ms(wrk_time: str) -> float:
    """wrk's latency ("85.80ms", "1.02s", "950.00us") in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", wrk_time).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def first_visit(url: str, session_key: str) -> list[tuple[str, str]]:
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
        (f"JS + CSS a first visit loads ({names})",
         f"{raw:,} B raw · {wire:,} B on the wire, budget ≤ {FIRST_VISIT_BUDGET:,} B{benchkit.met(wire <= FIRST_VISIT_BUDGET)}"),
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
            f"{benchkit.met(encoding == 'gzip' and len(wire) <= PAGE_GZIP_BUDGET)}",
        ),
        (
            f"inbox page, {PAGE_CARDS} cards, DOM elements",
            f"{counter.elements:,} elements, budget ≤ {PAGE_DOM_BUDGET:,}{benchkit.met(counter.elements <= PAGE_DOM_BUDGET)}",
        ),
    ]


class _ElementCounter(HTMLParser):
    elements = 0

    def handle_starttag(self, tag, attrs):
        self.elements += 1
