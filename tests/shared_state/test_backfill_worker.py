"""The background reads through real workers: two `manage.py db_worker` processes on one
PostgreSQL database, sharing Redis (the budget's count, the live bus), run the runs an inbox page's wish and a burst of enqueues planned, against
the sandbox answering as WapiKit's server does (its lists carry no messages). The timeline
learns every wanted conversation's last message, and no conversation is read twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
import redis

from tests.conftest import API_KEY, ROOT
from tests.shared_state.test_two_processes import PG, services_missing

pytestmark = pytest.mark.shared_state

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
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        redis.Redis.from_url(REDIS).flushdb()


def manage(env, *args) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def test_two_workers_read_what_a_page_wanted_each_conversation_once(database, server_sandbox, tmp_path):
    env, url = database
    answer = server_sandbox.get("/conversations", status="Active", page=1, per_page=50)
    wanted = [c["uniqueId"] for c in answer["conversations"]][:12]
    # The page's wish, then a burst of runs, as many pages and restarts could plan: the two
    # workers run them side by side. The sweep is left for later, so only the wish is read.
    manage(
        env, "shell", "-c",
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from dashboard.conversations import backfill\n"
        "from dashboard.conversations.models import ReadingPlan\n"
        "ReadingPlan.objects.create(name='sweep', run_at=timezone.now() + timedelta(days=1))\n"
        f"backfill.wanted({wanted!r})\n"
        "for _ in range(5): backfill.read_due.enqueue()\n",
    )
    workers = []
    try:
        for index in range(2):
            log = open(tmp_path / f"worker-{index}.log", "w")
            workers.append(subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            ))
        deadline = time.monotonic() + 60
        with psycopg.connect(url, autocommit=True) as db:
            while time.monotonic() < deadline:
                finished = db.execute(
                    "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'SUCCESSFUL'"
                ).fetchone()[0]
                known = db.execute(
                    "SELECT count(*) FROM conversations_conversationlife"
                    " WHERE last_message_at IS NOT NULL AND conversation_id = ANY(%s)", (wanted,)
                ).fetchone()[0]
                if finished >= 6 and known == len(wanted):
                    break
                time.sleep(0.3)
            assert known == len(wanted), (tmp_path / "worker-0.log").read_text()[-2000:]
            runs = db.execute(
                "SELECT worker_ids, return_value FROM django_tasks_database_dbtaskresult"
                    " WHERE status = 'SUCCESSFUL' AND task_path LIKE '%%backfill.read_due'"
            ).fetchall()
            read = db.execute("SELECT count(*) FROM conversations_reading WHERE last_read_at IS NOT NULL").fetchone()[0]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=10)

    assert len(runs) >= 6
    assert len({worker for ids, _ in runs for worker in ids}) == 2, "both workers ran some"
    assert read == len(wanted)
    assert sum(value["read"] for _, value in runs) == len(wanted), "a conversation was read twice"
