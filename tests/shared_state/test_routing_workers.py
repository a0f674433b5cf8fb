"""Routing through real workers: two `manage.py db_worker` processes on one PostgreSQL database,
sharing Redis, against the sandbox answering as WapiKit's server does (a repeated assignment
answers 500 and is kept beside the first). Every conversation is enqueued twice, by two
triggers arriving together, and some carry the claim a worker killed mid-assignment left
behind (its call sent, or not): each ends assigned exactly once, never to a second member."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest

from tests.conftest import ROOT
from tests.integration.conftest import conversations_with, member_ids, true_state
from tests.shared_state.test_backfill_worker import database, manage  # noqa: F401 - the fixture

pytestmark = pytest.mark.shared_state

AGENTS = ("agent@example.com", "mei.chen@example.com", "fatima.elamrani@example.com")


def fresh_for(sandbox, member_ids_: list[str], count: int) -> list[str]:
    """Unassigned Active conversations none of these members ever had."""
    found = []
    for conversation in conversations_with(sandbox, "Active"):
        if conversation.get("assignedTo"):
            continue
        if not set(member_ids_) & set(true_state(sandbox, conversation["uniqueId"])["ever_assigned"]):
            found.append(conversation["uniqueId"])
            if len(found) == count:
                break
    return found


def test_two_workers_assign_each_conversation_once_even_after_a_worker_died_mid_call(
    database, server_sandbox, tmp_path  # noqa: F811 - the fixture
):
    env, url = database
    ids = member_ids(server_sandbox)
    agents = [ids[email] for email in AGENTS]
    mei = ids["mei.chen@example.com"]
    chosen = fresh_for(server_sandbox, agents, 14)
    assert len(chosen) == 14
    routed, died_after_call, died_before_call = chosen[:10], chosen[10:12], chosen[12:]
    manage(
        env, "shell", "-c",
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from dashboard.routing import running\n"
        "from dashboard.routing.models import Claim, Rule\n"
        "from dashboard.wapikit import get_client\n"
        "Rule.objects.create(name='Support', roles=['Support agent'], presence='anyone', capacity=500)\n"
        f"for cid in {died_after_call + died_before_call!r}:\n"
        "    Claim.objects.create(conversation_id=cid, trigger='new conversation', rule_name='Support',\n"
        f"        member_id={mei!r}, member_name='Mei Chen', why='balanced',\n"
        "        lease_until=timezone.now() - timedelta(seconds=1))\n"
        f"for cid in {died_after_call!r}:\n"
        f"    get_client().assign_conversation(cid, member_id={mei!r})\n"
        f"for cid in {routed!r}:\n"
        "    running.route_task.enqueue(cid, running.NEW)\n"
        "    running.route_task.enqueue(cid, running.MESSAGE)\n"
        f"for cid in {died_after_call + died_before_call!r}:\n"
        "    running.route_task.enqueue(cid, running.RECOVERY)\n"
        "    running.route_task.enqueue(cid, running.RECOVERY)\n",
    )
    workers = []
    try:
        for index in range(2):
            log = open(tmp_path / f"worker-{index}.log", "w")
            workers.append(subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            ))
        deadline = time.monotonic() + 90
        with psycopg.connect(url, autocommit=True) as db:
            while time.monotonic() < deadline:
                finished = db.execute(
                    "SELECT count(*) FROM django_tasks_database_dbtaskresult"
                    " WHERE status IN ('SUCCESSFUL', 'FAILED') AND task_path LIKE '%%running.route_task'"
                ).fetchone()[0]
                if finished >= 28:
                    break
                time.sleep(0.3)
            assert finished >= 28, (tmp_path / "worker-0.log").read_text()[-3000:]
            runs = db.execute(
                "SELECT worker_ids, return_value, status FROM django_tasks_database_dbtaskresult"
                " WHERE task_path LIKE '%%running.route_task'"
            ).fetchall()
            claims = dict(db.execute(
                "SELECT conversation_id, member_id FROM routing_claim WHERE current AND state = 'assigned'"
            ).fetchall())
        states = {cid: true_state(server_sandbox, cid) for cid in chosen}
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=10)
        server_sandbox.reseed()

    assert all(status == "SUCCESSFUL" for _, _, status in runs)
    assert len({worker for ids_, _, _ in runs for worker in ids_}) == 2, "both workers ran some"
    outcomes = [value for _, value, _ in runs]
    assert outcomes.count("assigned") == 14, outcomes
    for cid in chosen:
        state = states[cid]
        assert len(state["ever_assigned"]) == 1, f"{cid} assigned {state['ever_assigned']}"
        assert state["assignee"] in agents and claims[cid] == state["assignee"]
    for cid in died_after_call + died_before_call:
        assert states[cid]["assignee"] == mei, "a dead worker's claim is finished for its member"
