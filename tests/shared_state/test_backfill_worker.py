"""The background reads through real workers: two `manage.py db_worker` processes on one
PostgreSQL database, sharing Redis (the budget's count, the live bus), run the runs an inbox page's wish and a burst of enqueues planned, against
the sandbox answering as WapiKit's server does (its lists carry no messages). The timeline
learns every wanted conversation's last message, and no conversation is read twice."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.shared_state.conftest import manage

pytestmark = pytest.mark.shared_state


def test_two_workers_read_what_a_page_wanted_each_conversation_once(database, server_sandbox, db_workers):
    env, url = database
    answer = server_sandbox.get("/conversations", status="Active", page=1, per_page=50)
    wanted = [c["uniqueId"] for c in answer["conversations"]][:12]
    # Both workers are polling before the burst below is enqueued (a worker still starting on a
    # busy machine would leave every run to the other), and each read takes long enough that one
    # worker cannot drain every run between two polls of the other.
    for _ in range(2):
        db_workers.start(env)
    db_workers.polling()
    server_sandbox.control(latency_ms=150)
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
        assert known == len(wanted), db_workers.log()
        runs = db.execute(
            "SELECT worker_ids, return_value FROM django_tasks_database_dbtaskresult"
                " WHERE status = 'SUCCESSFUL' AND task_path LIKE '%%backfill.read_due'"
        ).fetchall()
        read = db.execute("SELECT count(*) FROM conversations_reading WHERE last_read_at IS NOT NULL").fetchone()[0]

    assert len(runs) >= 6
    assert len({worker for ids, _ in runs for worker in ids}) == 2, "both workers ran some"
    assert read == len(wanted)
    assert sum(value["read"] for _, value in runs) == len(wanted), "a conversation was read twice"
