"""What the worker tests share: a migrated PostgreSQL database of their own with Redis, and real
`manage.py db_worker` processes started on it (stopped, or killed, by the test; ended at its end)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.conftest import API_KEY, ROOT
from tests.shared_state.test_two_processes import PG, services_missing

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# A database of Redis's own: the other shared-state tests flush theirs.
REDIS = "redis://127.0.0.1:6379/11"


@pytest.fixture
def database(server_sandbox, tmp_path):
    """A migrated PostgreSQL database of its own, and the environment of processes that use it."""
    missing = services_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the worker test needs {missing}")
        pytest.skip(f"no {missing}: the worker test skipped")
    name = f"wapikit_worker_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": PG.format(name=name),
        "WAPIKIT_BASE_URL": server_sandbox.base_url,
        "WAPIKIT_API_KEY": API_KEY,
        "WAPIKIT_GET_RETRIES": "0",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "PYTHONUNBUFFERED": "1",
    }
    redis.Redis.from_url(REDIS).flushdb()
    env["REDIS_URL"] = REDIS  # one budget and one bus for both workers, as a deployment has
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    server_sandbox.control(reset=True)
    try:
        yield env, PG.format(name=name).replace("postgres://", "postgresql://")
    finally:
        server_sandbox.control(reset=True)  # no latency a test added left for the next
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        redis.Redis.from_url(REDIS).flushdb()


def manage(env, *args) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


class Workers:
    """Real `manage.py db_worker` processes, each with its output in worker-<n>.log."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[subprocess.Popen] = []

    def start(self, env: dict) -> subprocess.Popen:
        log = open(self.directory / f"worker-{len(self.started)}.log", "w")  # noqa: SIM115 - the worker writes it
        self.started.append(subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ))
        return self.started[-1]

    def polling(self, timeout: float = 90) -> None:
        """Every started worker has said it is polling (Django's start takes seconds on a busy machine)."""
        deadline = time.monotonic() + timeout
        for index, worker in enumerate(self.started):
            while "Starting worker" not in (self.directory / f"worker-{index}.log").read_text():
                assert worker.poll() is None, self.log(index)
                assert time.monotonic() < deadline, f"worker {index} never started polling"
                time.sleep(0.1)

    def log(self, index: int = 0) -> str:
        return (self.directory / f"worker-{index}.log").read_text()[-3000:]

    def stop(self) -> None:
        """Every worker still running is asked to stop (killed if it does not)."""
        for worker in self.started:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.started:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)


@pytest.fixture
def db_workers(tmp_path) -> Iterator[Workers]:
    """Start workers with `db_workers.start(env)`; those still running when the test ends are stopped."""
    workers = Workers(tmp_path)
    yield workers
    workers.stop()
