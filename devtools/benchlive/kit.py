"""What `make bench-live` needs around the dashboard: the three processes of a live deployment
(a `server` sandbox, the dashboard under gunicorn's uvicorn workers, `manage.py listen_events`),
the code before issue 11 in a git worktree, simulated browsers (an inbox that polls and holds
the live stream as static/js/app.js does, and bare stream clients), the upstream calls /metrics
counts, and what /proc says of a process. Not used by the running dashboard.

The simulated browsers speak HTTP/1.1 over asyncio's own sockets, so hundreds of them cost one
thread here, as hundreds of streams should cost the dashboard none.

Tooling, not the product, and over 300 lines on purpose: the live deployment and simulated browsers bench-live drives, in one kit."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import random
import re
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from django.conf import settings

from devtools.benchmarks import benchkit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
MANAGE = Path(settings.BASE_DIR) / "manage.py"


# Processes


def shared_redis(url: str):
    """A flushed Redis database, or (None, why not)."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
        return client, ""
    except Exception as exc:  # noqa: BLE001 - any failure means no Redis
        return None, f"no Redis at {url} ({type(exc).__name__})"


@dataclass
class Served:
    url: str
    port: int
    metrics_token: str
    session_key: str = ""

    def worker_pids(self) -> list[int]:
        return worker_pids(self.port)


def dashboard_env(*, base_url: str, api_key: str, redis_url: str | None, extra: dict[str, str] | None = None) -> dict:
    """Production settings, as `make bench` serves them, against the bench's sandbox. The code
    before reads the same: its own dashboard.settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(
        DJANGO_SETTINGS_MODULE=benchkit.PRODUCTION_SETTINGS, DEBUG="false", ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="false",
        WAPIKIT_BASE_URL=base_url, WAPIKIT_API_KEY=api_key, METRICS_TOKEN=secrets.token_hex(16),
        PYTHONUNBUFFERED="1",
        # One demo manager's session stands for a whole team's browsers.
        LIVE_STREAMS_PER_USER="100000",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra or {})
    return env


@contextlib.contextmanager
def live_dashboard(directory: Path, name: str, env: dict, *, workers: int) -> Iterator[Served]:
    """This code's dashboard under gunicorn (benchkit) and its events listener beside it."""
    # The ASGI server, which serves the pages too: tabs and streams on one origin.
    with benchkit.gunicorn_processes((env, directory / f"{name}.log", workers), streams=True) as (url,):
        port = int(url.rsplit(":", 1)[1])
        listener_env = {**env, "LIVE_INGEST_URL": f"{url}/live/ingest/"}
        with open(directory / f"{name}-listener.log", "w") as log:
            listener = subprocess.Popen([sys.executable, str(MANAGE), "listen_events"], env=listener_env,
                                        stdout=log, stderr=subprocess.STDOUT)
            try:
                yield Served(url, port, env["METRICS_TOKEN"])
            finally:
                listener.terminate()
                try:
                    listener.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    listener.kill()


@contextlib.contextmanager
def worktree(commit: str) -> Iterator[Path]:
    """The code at `commit` in a detached git worktree beside a `shared` directory (its README
    and settings refer to ../shared); removed afterwards."""
    root = Path(settings.BASE_DIR)
    path = Path("/tmp/bench-before")
    if path.exists():
        path = Path(f"/tmp/bench-before-{secrets.token_hex(3)}")
    shared = path.parent / "shared"
    if not shared.exists():
        shared.symlink_to(root.parent / "shared")
    subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=root, check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=root, capture_output=True)


# Where each layout keeps the settings that install the tools and `measure_render`: this one, and
# the code before (543a28e, the default --before, keeps both in the product).
LAYOUTS = (
    ("devtools/settings.py", "devtools.settings", "devtools.benchmarks.render"),
    ("dashboard/inbox/management/commands/bench_render.py", "dashboard.settings",
     "dashboard.inbox.management.commands.bench_render"),
    ("dashboard/benchmarks/management/commands/bench_render.py", "dashboard.settings",
     "dashboard.benchmarks.management.commands.bench_render"),
)


def tools_of(code: Path) -> tuple[str, str]:
    """The settings module that installs the bench in the checkout `code`, and the module of its
    `measure_render`."""
    for marker, settings_module, render_module in LAYOUTS:
        if (code / marker).exists():
            return settings_module, render_module
    raise RuntimeError(f"{code} has no `manage.py bench` this bench knows how to run")


SESSION_SNIPPET = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user, _ = get_user_model().objects.get_or_create(email="{email}")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


@contextlib.contextmanager
def before_dashboard(code: Path, directory: Path, env: dict, *, workers: int = 2, email: str) -> Iterator[Served]:
    """The code in `code` (a worktree) served as it served itself: its gunicorn configuration
    and WSGI application, its own database, a signed-in session for `email`."""
    env = {**env, "DATABASE_URL": f"sqlite:///{directory / 'before.sqlite3'}"}
    manage = [sys.executable, str(code / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=code, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, cwd=code, check=True)
    key = subprocess.run([*manage, "shell", "-c", SESSION_SNIPPET.format(email=email)], env=env, cwd=code,
                         check=True, capture_output=True, text=True).stdout.split()[-1]
    port = benchkit.free_port()
    with open(directory / "before.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:dashboard.gunicorn_conf", "dashboard.wsgi",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            env=env, cwd=code, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            benchkit.wait_for_port(port, process)
            yield Served(f"http://127.0.0.1:{port}", port, env["METRICS_TOKEN"], key)
        finally:
            process.terminate()
            process.wait(timeout=15)


def worker_pids(port: int) -> list[int]:
    """The gunicorn workers serving `port`: children of the master this process started."""
    def children(parent: int) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry.name))
        return found

    for pid in children(os.getpid()):
        with contextlib.suppress(OSError):
            if f"127.0.0.1:{port}" in (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                return sorted(children(pid))
    return []


def proc_status(pid: int) -> tuple[int, int]:
    """VmRSS in kB and the thread count."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        soft = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


# The sandbox's hooks and the dashboard's counts


def publish_message(api: benchkit.SandboxApi, conversation_id: str, text: str) -> float:
    """WapiKit's webhook storing an inbound message and publishing NewMessage; the Unix time
    taken just before it was asked."""
    url = api.base_url.removesuffix("/api") + "/_sandbox/events"
    t0 = time.time()
    answer = api.session.post(url, json={"type": "NewMessage", "conversation_id": conversation_id, "text": text},
                              timeout=10)
    answer.raise_for_status()
    return t0


def upstream_calls(served: Served, *, route: str = "/conversations", method: str = "GET") -> dict[str, int]:
    """dashboard_upstream_requests_total for one route, by status, as /metrics adds it up."""
    answer = requests.get(f"{served.url}/metrics", headers={"Authorization": f"Bearer {served.metrics_token}"}, timeout=10)
    answer.raise_for_status()
    counts: dict[str, int] = {}
    for labels, value in re.findall(r"^dashboard_upstream_requests_total\{([^}]*)\}\s+(\S+)$", answer.text, re.M):
        found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if found.get("route") == route and found.get("method") == method:
            counts[found.get("status", "")] = counts.get(found.get("status", ""), 0) + int(float(value))
    return counts


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"never {what} within {seconds:.0f} s")
        time.sleep(0.1)


# Simulated browsers


async def http_get(port: int, path: str, cookie: str, *, timeout: float = 30) -> tuple[int, str]:
    """One GET on its own connection; the status and the body."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                      "HX-Request: true\r\nConnection: close\r\n\r\n").encode())
        raw = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return status, body.decode(errors="replace")


def _dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)


class StreamClient:
    """A browser's `GET /live/stream/`: frames read as they come, each `changed` noted with the
    Unix time it arrived."""

    def __init__(self, port: int, cookie: str, on_changed: Callable[[str], None] | None = None,
                 on_live: Callable[[bool], None] | None = None) -> None:
        self.port, self.cookie = port, cookie
        self.on_changed, self.on_live = on_changed, on_live
        self.live: bool | None = None
        self.opened = asyncio.Event()
        self.changed: list[tuple[float, str]] = []
        self.error: str = ""
        self._writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        try:
            reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
            self._writer.write((f"GET /live/stream/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                                f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                self.error = head.split(b"\r\n", 1)[0].decode()
                self.opened.set()
                return
            chunked = b"transfer-encoding: chunked" in head.lower()
            buffer = ""
            while True:
                if chunked:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        return
                    data = (await reader.readexactly(size + 2))[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                buffer += data.decode()
                while "\n\n" in buffer:
                    frame, buffer = buffer.split("\n\n", 1)
                    self._frame(frame)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.error = self.error or type(exc).__name__
        finally:
            self.opened.set()
            self.close()

    def _frame(self, frame: str) -> None:
        event = data = ""
        for line in frame.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
        if event == "live":
            self.live = data == "1"
            self.opened.set()
            if self.on_live:
                self.on_live(self.live)
        elif event == "changed":
            conversation = json.loads(data)["id"]
            self.changed.append((time.time(), conversation))
            if self.on_changed:
                self.on_changed(conversation)

    def arrived(self, conversation_id: str, after: float) -> float | None:
        return next((t for t, c in self.changed if c == conversation_id and t >= after), None)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def vanish(self) -> None:
        """Gone without a goodbye: the socket reset, as when a laptop lid shuts mid-stream."""
        if self._writer is not None:
            self._writer.transport.abort()


CARD = re.compile(r'id="c-([0-9a-f-]{36})" data-v="([^"]*)"')


@dataclass
class SimulatedInbox:
    """An open inbox tab as static/js/app.js drives it: the page, its tabs, then (with `stream`)
    the live stream, asking `/inbox/changes/` on every `changed` (bursts within 100 ms asked for
    once) and every `live_poll` seconds while live, every `poll` seconds otherwise. The page is
    taken to have been opened at a random earlier moment: its first poll comes after a random
    part of the interval."""

    port: int
    cookie: str
    query: str
    poll: float
    live_poll: float
    stream: bool
    rng: random.Random
    versions: dict[str, str] = field(default_factory=dict)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    requests: int = 0
    failed: int = 0
    _live: bool = False
    _rescheduled: asyncio.Event = field(default_factory=asyncio.Event)
    _push: asyncio.Task | None = None
    _client: StreamClient | None = None

    async def run(self) -> None:
        status, page = await self._get("/" + (f"?{self.query}" if self.query else ""))
        self.versions = dict(CARD.findall(page))
        refresh = re.search(r'data-refresh-url="([^"]*)"', page)
        self.refresh = html.unescape(refresh.group(1)) if refresh else f"/inbox/changes/?{self.query}"
        tabs = re.search(r'<span hx-get="([^"]*inbox/tabs/[^"]*)"', page)
        if tabs:
            await self._get(html.unescape(tabs.group(1)))
        tasks = []
        if self.stream:
            self._client = StreamClient(self.port, self.cookie, on_changed=self._changed, on_live=self._set_live)
            tasks.append(asyncio.create_task(self._client.run()))
            await asyncio.wait_for(self._client.opened.wait(), 30)
        self.loaded.set()
        try:
            first = True
            while True:
                interval = self.live_poll if self._live else self.poll
                self._rescheduled.clear()
                try:
                    await asyncio.wait_for(self._rescheduled.wait(), self.rng.uniform(0, interval) if first else interval)
                    first = False
                    continue  # live changed: the page set a new interval
                except TimeoutError:
                    first = False
                await self.ask_changes()
        finally:
            if self._client:
                self._client.close()
            for task in tasks:
                task.cancel()

    def _set_live(self, flowing: bool) -> None:
        if flowing != self._live:
            self._live = flowing
            self._rescheduled.set()

    def _changed(self, conversation_id: str) -> None:
        if self._push is None or self._push.done():
            self._push = asyncio.get_running_loop().create_task(self._after_push())

    async def _after_push(self) -> None:
        await asyncio.sleep(0.1)
        await self.ask_changes()

    async def ask_changes(self) -> None:
        versions = ",".join(f"{c}:{v}" for c, v in self.versions.items())
        status, body = await self._get(f"{self.refresh}&v={versions}&busy=")
        if status == 200:
            self.versions.update(CARD.findall(body))
            for gone in re.findall(r'innerHTML:#c-([0-9a-f-]{36}) \.alert', body):
                self.versions.pop(gone, None)

    async def _get(self, path: str) -> tuple[int, str]:
        self.requests += 1
        try:
            status, body = await http_get(self.port, path, self.cookie)
        except (OSError, TimeoutError, ValueError, IndexError):
            self.failed += 1
            return 0, ""
        if status >= 400:
            self.failed += 1
        return status, body


async def open_streams(port: int, cookie: str, count: int, *, at_once: int = 50) -> tuple[list[StreamClient], list[asyncio.Task]]:
    """`count` stream clients, each past its first `live` frame."""
    clients = [StreamClient(port, cookie) for _ in range(count)]
    tasks: list[asyncio.Task] = []
    for start in range(0, count, at_once):
        batch = clients[start:start + at_once]
        tasks += [asyncio.create_task(c.run()) for c in batch]
        await asyncio.wait_for(asyncio.gather(*(c.opened.wait() for c in batch)), 60)
    failed = [c.error for c in clients if c.error or c.live is None]
    if failed:
        raise RuntimeError(f"{len(failed)} of {count} streams did not open: {failed[0]}")
    return clients, tasks


async def close_streams(clients: list[StreamClient], tasks: list[asyncio.Task]) -> None:
    for client in clients:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def spread_ms(values: list[float]) -> str:
    return (f"p50 {statistics.median(values) * 1000:.0f} ms · p95 {percentile(values, 0.95) * 1000:.0f} ms"
            f" · max {max(values) * 1000:.0f} ms")


# Chromium


CARD_SHOWS = """(want) => new Promise((resolve) => {
  const shows = () => { const c = document.getElementById("c-" + want.id); return c && c.textContent.includes(want.text); };
  if (shows()) return resolve(Date.now());
  const seen = new MutationObserver(() => { if (shows()) { seen.disconnect(); resolve(Date.now()); } });
  seen.observe(document.body, { subtree: true, childList: true, characterData: true });
})"""
