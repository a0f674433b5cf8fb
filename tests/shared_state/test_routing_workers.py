"""Routing through real workers: two `manage.py db_worker` processes on one PostgreSQL database,
sharing Redis, against the sandbox answering as WapiKit's server does (a repeated assignment
answers 500 and is kept beside the first). Every conversation is enqueued twice, by two
triggers arriving together, and some carry the claim a worker killed mid-assignment left
behind (its call sent, or not): each ends assigned exactly once, never to a second member."""

from __future__ import annotations

import signal
import time

import psycopg
import pytest

from tests.integration.conftest import conversations_with, member_ids, true_state
from tests.shared_state.conftest import manage

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
    database, server_sandbox, db_workers
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
    for _ in range(2):
        db_workers.start(env)
    try:
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
            assert finished >= 28, db_workers.log()
            runs = db.execute(
                "SELECT worker_ids, return_value, status FROM django_tasks_database_dbtaskresult"
                " WHERE task_path LIKE '%%running.route_task'"
            ).fetchall()
            claims = dict(db.execute(
                "SELECT conversation_id, member_id FROM routing_claim WHERE current AND state = 'assigned'"
            ).fetchall())
        states = {cid: true_state(server_sandbox, cid) for cid in chosen}
    finally:
        db_workers.stop()
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


def test_a_worker_killed_while_its_assign_call_is_in_flight_leaves_one_assignment_and_says_so(
    database, server_sandbox, db_workers
):
    """A real worker claims a conversation for Mei and sends the assign call; WapiKit is slow to
    answer, and the worker is killed (SIGKILL) while the call is in flight. WapiKit applies it
    anyway. A worker started afterwards finds the dead worker's claim past its lease, asks WapiKit
    whether the call went through (it did) and finishes the claim without a second assign call:
    WapiKit's server would answer that one with 500. The audit log shows the unfinished attempt
    and the row that finished it."""
    env, url = database
    env = {**env, "ROUTING_CLAIM_LEASE_SECONDS": "4", "ROUTING_SWEEP_SECONDS": "2"}
    mei = member_ids(server_sandbox)["mei.chen@example.com"]
    cid = fresh_for(server_sandbox, [mei], 1)[0]
    listed = conversations_with(server_sandbox, "Active", pages=20)
    held = sum(1 for c in listed if (c.get("assignedTo") or {}).get("uniqueId") == mei)
    # Only one more conversation fits under Mei's capacity: while this one is claimed for her,
    # the sweeps route nothing else.
    manage(
        env, "shell", "-c",
        "from dashboard.routing import running\n"
        "from dashboard.routing.models import Rule\n"
        f"Rule.objects.create(name='Mei first', member_ids=[{mei!r}], presence='anyone', capacity={held + 1})\n"
        f"running.route_task.enqueue({cid!r}, running.NEW)\n",
    )
    # Every assign call for this conversation hangs for 3 s, then WapiKit applies it; the count
    # of calls that met the fault is the count of assign calls WapiKit received for it.
    server_sandbox.control(fault="hang", fault_methods=["POST"], fault_path=f"/{cid}/assign", fault_seconds=3)
    try:
        first = db_workers.start(env)
        deadline = time.monotonic() + 30
        while server_sandbox.control()["faulted"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server_sandbox.control()["faulted"] == 1, db_workers.log(0)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=5)
        with psycopg.connect(url, autocommit=True) as db:
            left = db.execute(
                "SELECT member_id, state FROM routing_claim WHERE conversation_id = %s AND current", (cid,)
            ).fetchone()
            assert left == (mei, "claimed"), "the worker died with its claim under way"
            deadline = time.monotonic() + 10
            while true_state(server_sandbox, cid)["assignee"] != mei and time.monotonic() < deadline:
                time.sleep(0.2)
            assert true_state(server_sandbox, cid)["assignee"] == mei, "the dead worker's call went through"

            # The deployment's sweeps go on (every 2 s here): the next worker runs them.
            manage(env, "shell", "-c", "from dashboard.routing import running\nrunning.ensure_sweep()\n")
            db_workers.start(env)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = db.execute(
                    "SELECT state FROM routing_claim WHERE conversation_id = %s AND current", (cid,)
                ).fetchone()
                if state == ("assigned",):
                    break
                time.sleep(0.3)
            assert state == ("assigned",), db_workers.log(1)
            audit = db.execute(
                "SELECT via, action, outcome, after_assignee_name, detail FROM audit_auditentry"
                " WHERE conversation_id = %s ORDER BY id", (cid,)
            ).fetchall()
        calls = server_sandbox.control()["faulted"]
        truth = true_state(server_sandbox, cid)
    finally:
        db_workers.stop()
        server_sandbox.control(reset=True)
        server_sandbox.reseed()

    assert calls == 1, "a second assign call was sent"
    assert truth["assignee"] == mei and truth["ever_assigned"] == [mei]
    assert len(audit) == 2, audit
    (via, action, outcome, name, _), (via2, action2, outcome2, name2, detail) = audit
    assert (via, action, outcome, name) == ("routing", "assign", "pending", "Mei Chen"), "the dead call: unfinished"
    assert (via2, action2, outcome2, name2) == ("routing", "assign", "skipped", "Mei Chen")
    assert detail.startswith('Routing rule "Mei first": balanced')
    assert "a worker that stopped mid-assignment" in detail and "It is already assigned to Mei Chen." in detail
