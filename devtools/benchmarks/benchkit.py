"""What `make bench` needs around the dashboard: a sandbox process of its own and plain calls to
it, gunicorn processes, a loopback port where connecting hangs, a counter of upstream calls, and
timing helpers. Not used by the running dashboard."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client

from dashboard.wapikit import get_client, transport
from devtools.sandbox.serve import sandbox_command

# The settings of the dashboards the benchmarks serve "as production runs it": the product's own,
# without the tools the bench itself runs under (devtools/settings.py).
PRODUCTION_SETTINGS = "dashboard.settings"


def table_lines(rows: list[tuple[str, str]]) -> list[str]:
    """A benchmark's rows as the table every bench prints: measure, value."""
    width = max(len(name) for name, _ in rows)
    return [
        f"{'measure':<{width}}  value",
        f"{'-' * width}  {'-' * 40}",
        *(f"{name:<{width}}  {value}" for name, value in rows),
    ]


def met(met: bool) -> str:
    """How a row with a target ends: whether it was met."""
    return " · met" if met else " · MISSED"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process for port {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port}")


@dataclass
class RunningSandbox:
    base_url: str
    port: int
    process: subprocess.Popen

    def stop(self) -> None:
        """Stop it before its time (`make screenshots` shows an outage): the dashboard stays."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def running_sandbox(directory: Path, api_key: str) -> Iterator[RunningSandbox]:
    """A seeded sandbox in its own process and database, which can be stopped early."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'bench-sandbox.sqlite3'}",
        "SANDBOX_API_KEY": api_key,
        # Nothing writes to this sandbox from another process, so it may cache its GET answers:
        # the load run measures the dashboard, not the sandbox's serialiser.
        "SANDBOX_CACHE_GETS": "true",
    }
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "seed_sandbox"], env=env, check=True, capture_output=True)
    with open(directory / "bench-sandbox.log", "w") as log:
        process = subprocess.Popen(
            sandbox_command("127.0.0.1", port, threads=64), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        running = RunningSandbox(f"http://127.0.0.1:{port}/api", port, process)
        try:
            wait_for_port(port, process)
            yield running
        finally:
            running.stop()


@contextlib.contextmanager
def sandbox_process(directory: Path, api_key: str) -> Iterator[tuple[str, int]]:
    """A seeded sandbox in its own process and database; yields (base URL, port)."""
    with running_sandbox(directory, api_key) as running:
        yield running.base_url, running.port


class SandboxApi:
    """The bench's own calls to its sandbox, as plain JSON: setting up conversations and the
    latency and fault knobs, never through the dashboard's client."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers[settings.WAPIKIT_AUTH_HEADER] = api_key

    def control(self, **values) -> dict:
        """Change the knobs (none: only read them); the sandbox's state, with `faulted`, the
        number of requests that got the fault."""
        url = self.base_url.removesuffix("/api") + "/_sandbox/control"
        response = self.session.post(url, json=values, timeout=5)
        response.raise_for_status()
        return response.json()

    def list_page(self, *, status: str, page: int = 1, per_page: int = 50) -> dict:
        response = self.session.get(
            f"{self.base_url}/conversations", params={"page": page, "per_page": per_page, "status": status}, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def conversations(self, status: str) -> list[dict]:
        """Every conversation of a status, newest activity first, read page by page."""
        found: list[dict] = []
        page = 1
        while True:
            batch = self.list_page(status=status, page=page)["conversations"]
            found.extend(batch)
            if len(batch) < 50:
                return found
            page += 1

    def set_status(self, ids: list[str], status: str) -> None:
        def post(conversation_id: str) -> None:
            response = self.session.post(f"{self.base_url}/conversation/{conversation_id}", json={"status": status}, timeout=10)
            response.raise_for_status()

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(post, ids))


@contextlib.contextmanager
def gunicorn_processes(*servers: tuple[dict, Path, int], streams: bool = False) -> Iterator[list[str]]:
    """Dashboards served by gunicorn on loopback ports, started together (each is slow to
    start), as production runs it: the pages' WSGI server (dashboard/gunicorn_conf.py), or with
    `streams` the ASGI server that also holds live streams (dashboard/gunicorn_streams_conf.py)
    and serves every route. (env, log file, workers) for each; yields their base URLs."""
    conf, app = ("dashboard.gunicorn_streams_conf", "dashboard.asgi:application") if streams else (
        "dashboard.gunicorn_conf", "dashboard.wsgi"
    )
    started: list[tuple[subprocess.Popen, int]] = []
    with contextlib.ExitStack() as stack:
        try:
            for env, log_path, workers in servers:
                port = free_port()
                log = stack.enter_context(open(log_path, "w"))
                process = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", f"python:{conf}", app,
                     "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
                    env=env, stdout=log, stderr=subprocess.STDOUT,
                )
                started.append((process, port))
            for process, port in started:
                wait_for_port(port, process)
            yield [f"http://127.0.0.1:{port}" for _, port in started]
        finally:
            for process, _ in started:
                process.terminate()
            for process, _ in started:
                process.wait(timeout=15)


@contextlib.contextmanager
def blackhole_port() -> Iterator[int | None]:
    """A loopback port that listens with backlog 0 and never accepts: once a few connections
    fill its queue the kernel drops further SYNs, so connecting hangs. None where this kernel
    completes such connects anyway."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.05)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                hangs = False
        except TimeoutError:
            hangs = True
        except OSError:
            hangs = False
        yield port if hangs else None
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def fresh_state(api: SandboxApi | None = None) -> None:
    """Start a row (or a fault cell) as a dashboard process that has met this WapiKit before
    starts: what the last one left must not decide what this one measures. An open circuit, a
    route held off after a 429, shared reads and cached cards all live in Django's caches, so
    those are emptied; what the dashboard learned of this WapiKit is kept (it is learned once a
    day, and has a row of its own). With `api`, the sandbox's knobs go back to no fault, no
    latency and an unspent rate limit."""
    learned = {name: value for name, value in get_client().capabilities.all().items() if value is not None}
    if api is not None:
        api.control(reset=True, latency_ms=0)
    for each in caches.all():
        each.clear()
    get_client.cache_clear()
    for name, value in learned.items():
        get_client().capabilities.learn(name, value)


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """No log lines (the 502s and circuit warnings of a failure the bench causes on purpose)."""
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


@contextlib.contextmanager
def counting_calls() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def record(call: transport.UpstreamCall) -> None:
        calls.append((call.method, call.path))

    transport.request_listeners.append(record)
    try:
        yield calls
    finally:
        transport.request_listeners.remove(record)


def login(email: str) -> Client:
    """A test client signed in as the dashboard user of this email (made if need be), asking
    for gzip as a browser does."""
    user, _ = get_user_model().objects.get_or_create(email=email)
    client = Client(headers={"accept-encoding": "gzip"})
    client.force_login(user)
    return client


def raw_body(response) -> bytes:
    """A test client's answer as the page it is, gzip or not."""
    body = response.content
    return gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body


def seconds(call: Callable[[], object]) -> tuple[float, object]:
    """How long one call took, in seconds, and what it returned."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def median_ms(call: Callable[[], object], runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
