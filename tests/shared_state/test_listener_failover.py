"""Several `listen_events` processes share one Redis: exactly one subscribes to WapiKit's event
stream, and when it dies (kill -9, no chance to let go) another takes over once its lock expires."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from dashboard.live.leader import LOCK_KEY, RedisLeadership
from tests.conftest import API_KEY, ROOT
from tests.shared_state.test_two_processes import services_missing

pytestmark = pytest.mark.shared_state

REDIS = "redis://127.0.0.1:6379/14"
LOCK_SECONDS = 3

# `manage.py listen_events` hands events to dashboard/live/delivery.py; until that module exists
# the same loop runs from this script, with callbacks that print.
LISTENER_SCRIPT = """
import django
django.setup()
from dashboard.live.listener import listen
listen(
    on_event=lambda event: print("event", type(event).__name__, flush=True),
    on_state=lambda state: print("state", state.state, flush=True),
)
"""


def listener_command() -> list[str]:
    if (ROOT / "dashboard" / "live" / "delivery.py").exists():
        return [sys.executable, "manage.py", "listen_events"]
    return [sys.executable, "-c", LISTENER_SCRIPT]


@pytest.fixture
def redis_db() -> Iterator:
    missing = services_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared-state tests need {missing}")
        pytest.skip(f"no {missing}: shared-state tests skipped")
    import redis

    client = redis.Redis.from_url(REDIS)
    client.flushdb()
    yield client
    client.flushdb()


def wait_until(condition: Callable[[], bool], what: str, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.1)


def open_streams(sandbox) -> int:
    return sandbox.control()["event_subscribers"]


def holder_pid(client) -> int | None:
    value = client.get(LOCK_KEY)
    return int(value.decode().rsplit(":", 1)[1]) if value else None


@pytest.fixture
def listeners(server_sandbox, redis_db, tmp_path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Start listener processes against the server sandbox and one Redis; all stopped after."""
    server_sandbox.control(reset=True)
    wait_until(lambda: open_streams(server_sandbox) == 0, "had no streams open", seconds=60)
    env = {
        **os.environ,
        "REDIS_URL": REDIS,
        "WAPIKIT_BASE_URL": server_sandbox.base_url,
        "WAPIKIT_API_KEY": API_KEY,
        "LIVE_LOCK_SECONDS": str(LOCK_SECONDS),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    started: list[subprocess.Popen] = []
    logs: list = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"listener-{len(started)}.log", "w")
        logs.append(log)
        process = subprocess.Popen(listener_command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        for log in logs:
            log.close()
        wait_until(lambda: open_streams(server_sandbox) == 0, "closed the streams", seconds=10)
        server_sandbox.control(reset=True)
        server_sandbox.reseed()


def test_one_listener_subscribes_and_another_takes_over_when_it_is_killed(listeners, server_sandbox, redis_db):
    processes = {process.pid: process for process in (listeners(), listeners())}
    wait_until(lambda: holder_pid(redis_db) in processes and open_streams(server_sandbox) == 1, "subscribed", seconds=60)
    leader = holder_pid(redis_db)
    # Several renewals later, still one stream, still the same leader.
    for _ in range(int(LOCK_SECONDS * 2 / 0.25)):
        assert open_streams(server_sandbox) == 1
        assert holder_pid(redis_db) == leader
        assert all(process.poll() is None for process in processes.values())
        time.sleep(0.25)

    processes[leader].send_signal(signal.SIGKILL)
    processes[leader].wait(timeout=10)

    (standby,) = set(processes) - {leader}
    wait_until(
        lambda: holder_pid(redis_db) == standby and open_streams(server_sandbox) == 1,
        "taken over by the standby",
        seconds=LOCK_SECONDS * 3 + 10,
    )
    conversation_id = server_sandbox.get("/conversations", page=1, per_page=1)["conversations"][0]["uniqueId"]
    published = requests.post(
        f"{server_sandbox.root_url}/_sandbox/events",
        json={"type": "NewMessage", "conversation_id": conversation_id, "text": "Anyone there?"},
        headers={"x-access-token": server_sandbox.api_key},
        timeout=5,
    ).json()
    assert published["delivered"] == {"NewMessage": 1}, "exactly one listener got the event"


def test_a_listener_stopped_by_sigterm_exits_cleanly_and_lets_the_lock_go(listeners, server_sandbox, redis_db):
    process = listeners()
    wait_until(lambda: holder_pid(redis_db) == process.pid and open_streams(server_sandbox) == 1, "subscribed", seconds=60)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=20) == 0
    assert redis_db.get(LOCK_KEY) is None, "released, so a standby need not wait for it to expire"
    wait_until(lambda: open_streams(server_sandbox) == 0, "closed its stream", seconds=10)


def test_a_lock_taken_over_after_it_expired_cannot_be_renewed_by_its_old_holder(redis_db):
    first = RedisLeadership(client=redis_db, seconds=0.5, holder="host-a:1")
    second = RedisLeadership(client=redis_db, seconds=0.5, holder="host-b:2")
    assert first.acquire()
    assert not second.acquire()
    assert first.renew()
    assert second.current_holder() == "host-a:1"

    # The first holder pauses (a long GC, a frozen VM) past the lock's lifetime.
    wait_until(second.acquire, "taken over by the second", seconds=10)

    assert not first.renew()
    assert second.current_holder() == "host-b:2"
    first.release()
    assert second.current_holder() == "host-b:2", "the old holder's release left the new one's lock alone"
    second.release()
    assert second.current_holder() == ""
