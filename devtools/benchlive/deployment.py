"""The live deployment `make bench-live` measures, and the code it compares against: the three
processes of a live deployment (a `server` sandbox, the dashboard under gunicorn's uvicorn
workers, `manage.py listen_events`), the code before issue 11 in a git worktree, the sandbox's
event hook, the upstream calls /metrics counts, and what /proc says of a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore

from devtools.benchlive import browsers
from devtools.benchmarks import benchkit

MANAGE = Path(settings.BASE_DIR) / "manage.py"
# The bench's own sandbox key, and the demo manager whose session stands for a team's browsers.
API_KEY = "bench-live-sandbox-key"
EMAIL = "manager@example.com"


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


# Where a checkout keeps `measure_render`: here, and where the code compared against kept it
# (543a28e, the default --before, in dashboard/inbox/; later commits in dashboard/benchmarks/).
RENDER_MODULES = (
    "devtools.benchmarks.render",
    "devtools.benchmarks.management.commands.bench_render",
    "dashboard.benchmarks.management.commands.bench_render",
    "dashboard.inbox.management.commands.bench_render",
)


def tools_of(code: Path) -> tuple[str, str]:
    """The settings module that installs the bench in the checkout `code` (the development
    settings where it has them; before devtools/ existed, the product's own) and the module of
    its `measure_render`."""
    settings_module = "devtools.settings" if (code / "devtools" / "settings.py").exists() else "dashboard.settings"
    for module in RENDER_MODULES:
        if (code / f"{module.replace('.', '/')}.py").exists():
            return settings_module, module
    raise RuntimeError(f"{code} has no `measure_render` this bench knows where to find")


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


def session_key(email: str) -> str:
    """A signed-in session of the dashboard user of this email, in this process's database."""
    user = get_user_model().objects.get(email=email)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def wait_live(api: benchkit.SandboxApi, served: Served, cookie: str) -> None:
    """Until the listener is subscribed and the dashboard's streams say live updates flow."""
    wait_until(lambda: api.control()["event_subscribers"] >= 1, "the listener subscribed to /api/events")

    async def flowing() -> bool:
        client = browsers.StreamClient(served.port, cookie)
        task = asyncio.create_task(client.run())
        await asyncio.wait_for(client.opened.wait(), 10)
        client.close()
        await asyncio.gather(task, return_exceptions=True)
        return bool(client.live)

    wait_until(lambda: asyncio.run(flowing()), "a stream said live updates flow")
