"""What `make bench` needs around the dashboard: a sandbox process of its own, a counter of
upstream calls, and timing helpers. Not used by the running dashboard."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

from dashboard.sandbox.serve import sandbox_command
from dashboard.wapikit import client as wapikit_client


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


@contextlib.contextmanager
def sandbox_process(directory: Path, api_key: str) -> Iterator[tuple[str, int]]:
    """A seeded sandbox in its own process and database; yields (base URL, port)."""
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
        try:
            wait_for_port(port, process)
            yield f"http://127.0.0.1:{port}/api", port
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextlib.contextmanager
def counting_calls() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def record(method: str, path: str, status: int | None) -> None:
        calls.append((method, path))

    wapikit_client.request_listeners.append(record)
    try:
        yield calls
    finally:
        wapikit_client.request_listeners.remove(record)


def median_ms(call: Callable[[], object], runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
