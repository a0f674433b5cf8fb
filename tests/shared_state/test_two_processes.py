"""Two dashboard processes behind one load balancer share one PostgreSQL database and one Redis:
whatever one process learns or decides, the other acts on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import API_KEY, PASSWORD, ROOT, free_port, wait_for_port

pytestmark = pytest.mark.shared_state

PG = "postgres://postgres@127.0.0.1:5432/{name}"
REDIS = "redis://127.0.0.1:6379/13"


def services_missing() -> str | None:
    try:
        import psycopg

        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2).close()
    except Exception as exc:  # noqa: BLE001 - any failure means no database to test against
        return f"PostgreSQL on 127.0.0.1:5432: {exc}"
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis on 127.0.0.1:6379: {exc}"
    return None


@dataclass
class Dashboard:
    url: str

    def signed_in(self, email: str, password: str = PASSWORD) -> requests.Session:
        session = requests.Session()
        page = session.get(f"{self.url}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = session.post(
            f"{self.url}/accounts/login/",
            data={"username": email, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.url}/accounts/login/"},
            timeout=10,
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text[:300]
        return session


@pytest.fixture(scope="module")
def two_dashboards(sandbox, tmp_path_factory):
    missing = services_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared-state tests need {missing}")
        pytest.skip(f"no {missing}: shared-state tests skipped")
    import psycopg
    import redis

    name = f"wapikit_shared_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": PG.format(name=name),
        "REDIS_URL": REDIS,
        "WAPIKIT_BASE_URL": sandbox.base_url,
        "WAPIKIT_API_KEY": API_KEY,
        "WAPIKIT_GET_RETRIES": "0",
        "WAPIKIT_BREAKER_THRESHOLD": "3",
        "WAPIKIT_BREAKER_COOLDOWN": "30",
        "WAPIKIT_LIST_CACHE_SECONDS": "30",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    for email in ("manager@example.com", "owner@example.com"):
        subprocess.run(
            [sys.executable, "manage.py", "adduser", email, "--password", PASSWORD],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )
    logs = tmp_path_factory.mktemp("shared")
    processes, dashboards = [], []
    try:
        for index in range(2):
            port = free_port()
            log = open(logs / f"dashboard-{index}.log", "w")
            # The ASGI server (it serves pages too), so that one test can hold a live stream.
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:dashboard.gunicorn_streams_conf", "dashboard.asgi:application",
                 "--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "2"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
            processes.append(process)
            wait_for_port(port, process)
            dashboards.append(Dashboard(f"http://127.0.0.1:{port}"))
        yield dashboards
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        redis.Redis.from_url(REDIS).flushdb()
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def healthy(sandbox, two_dashboards):
    sandbox.control(reset=True)
    import redis

    # Each test starts with a closed circuit and no throttle, but keeps the database.
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter("*breaker*"):
        client.delete(key)
    for key in client.scan_iter("*signin*"):
        client.delete(key)
    for key in client.scan_iter("*reads:*"):
        client.delete(key)
    yield two_dashboards
    sandbox.control(reset=True)


def test_a_session_started_on_one_process_is_valid_on_the_other(healthy):
    first, second = healthy
    session = first.signed_in("manager@example.com")

    answer = session.get(f"{second.url}/", timeout=10, allow_redirects=False)

    assert answer.status_code == 200
    assert 'class="card' in answer.text


def test_the_member_list_one_process_fetched_serves_the_other(healthy, sandbox):
    first, second = healthy
    first.signed_in("manager@example.com").get(f"{first.url}/", timeout=10)
    sandbox.control(fault="status_500", fault_path="/organization/members")

    answer = second.signed_in("manager@example.com").get(f"{second.url}/", timeout=10)

    assert answer.status_code == 200, "the second process used the cached members, not WapiKit"
    assert 'class="card' in answer.text


def test_a_scan_made_by_one_process_serves_the_other(healthy, sandbox):
    first, second = healthy
    session = first.signed_in("manager@example.com")
    scanned = session.get(f"{first.url}/?view=unassigned", timeout=10)
    assert "searched all" in scanned.text
    sandbox.control(fault="status_500", fault_path="/conversations")

    answer = session.get(f"{second.url}/?view=unassigned", timeout=10)

    assert answer.status_code == 200
    assert re.findall(r'id="c-([0-9a-f-]{36})"', answer.text) == re.findall(r'id="c-([0-9a-f-]{36})"', scanned.text)


def test_a_circuit_opened_by_one_process_makes_the_other_fail_fast(healthy, sandbox):
    first, second = healthy
    session = first.signed_in("manager@example.com")
    session.get(f"{first.url}/", timeout=10)  # members cached
    sandbox.control(fault="status_503", retry_after=30)
    # Pages nobody has read yet: a page read before would be served from the shared reads.
    for page in (2, 3, 4):
        assert session.get(f"{first.url}/?page={page}", timeout=10).status_code == 503
    assert sandbox.control()["faulted"] == 3, "the first process's three views reached WapiKit"

    answer = session.get(f"{second.url}/?page=5", timeout=10)

    assert "WapiKit is unreachable" in answer.text
    # Failing fast: the second process answered without contacting WapiKit (how fast is a
    # `make bench` figure).
    assert sandbox.control()["faulted"] == 3, "the second process sent a request to WapiKit"


def test_failed_sign_ins_on_one_process_are_counted_by_the_other(healthy):
    first, second = healthy
    for _ in range(5):
        session = requests.Session()
        page = session.get(f"{first.url}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        session.post(
            f"{first.url}/accounts/login/",
            data={"username": "owner@example.com", "password": "wrong", "csrfmiddlewaretoken": token},
            timeout=10,
        )

    session = requests.Session()
    page = session.get(f"{second.url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{second.url}/accounts/login/",
        data={"username": "owner@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token},
        timeout=10,
    )

    assert answer.status_code == 429
    assert "Too many failed sign-ins" in answer.text


def test_an_action_on_one_process_is_in_the_audit_log_the_other_shows(healthy, sandbox):
    first, second = healthy
    conversation = sandbox.get("/conversations", page=1, per_page=1, status="Active")["conversations"][0]
    cid = conversation["uniqueId"]
    manager = first.signed_in("manager@example.com")
    inbox = manager.get(f"{first.url}/?per_page=50", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', inbox).group(1)
    closed = manager.post(
        f"{first.url}/conversations/{cid}/close/",
        data={"csrfmiddlewaretoken": token,
              "seen": "Active:" + (conversation.get("assignedTo") or {}).get("uniqueId", "")},
        headers={"HX-Request": "true", "Referer": f"{first.url}/"},
        timeout=10,
    )
    assert closed.status_code == 200, closed.text[:300]
    try:
        audit = second.signed_in("owner@example.com").get(f"{second.url}/audit/?conversation={cid}", timeout=10)

        assert audit.status_code == 200
        assert "manager@example.com" in audit.text
        assert "Succeeded" in audit.text or "succeeded" in audit.text
    finally:
        sandbox.post(f"/conversation/{cid}", {"status": "Active"})


def test_a_list_page_one_process_read_serves_the_other(healthy, sandbox):
    first, second = healthy
    shown = first.signed_in("manager@example.com").get(f"{first.url}/", timeout=10)
    sandbox.control(fault="status_500", fault_path="/conversations")

    answer = second.signed_in("manager@example.com").get(f"{second.url}/", timeout=10)

    assert answer.status_code == 200, "the second process used the shared list page, not WapiKit"
    assert re.findall(r'id="c-([0-9a-f-]{36})"', answer.text) == re.findall(r'id="c-([0-9a-f-]{36})"', shown.text)


def test_a_close_on_one_process_is_pushed_to_a_stream_open_on_the_other(healthy):
    first, second = healthy
    acting = first.signed_in("manager@example.com")
    page = acting.get(f"{first.url}/", timeout=10).text
    target = re.findall(r'<article class="card status-active[^"]*"\s+id="c-([0-9a-f-]{36})"', page)[0]
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    watching = second.signed_in("owner@example.com")
    frames: list[str] = []

    with watching.get(f"{second.url}/live/stream/", stream=True, timeout=(5, 20)) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        frames.append(next(lines))  # retry:, then the live state: the stream is open
        closed = acting.post(
            f"{first.url}/conversations/{target}/close/",
            data={"next": "/"},
            headers={"X-CSRFToken": token, "HX-Request": "true", "Referer": f"{first.url}/"},
            timeout=10,
        )
        assert closed.status_code == 200
        for line in lines:
            frames.append(line)
            if target in line:
                break

    assert any(line.startswith("data:") and target in line for line in frames)


def test_a_user_s_streams_are_capped_across_processes_and_the_oldest_ends(healthy, settings):

    from tests.integration.test_live_streams import Stream, as_browsers

    first, second = healthy
    cap = settings.LIVE_STREAMS_PER_USER  # both processes run with the default
    cookie = first.signed_in("manager@example.com").cookies["sessionid"]
    ports = [int(dashboard.url.rsplit(":", 1)[1]) for dashboard in healthy]

    async def scenario() -> tuple[Stream, list[Stream]]:
        streams = [await Stream.open(ports[0], cookie) for _ in range(cap)]
        streams.append(await Stream.open(ports[1], cookie))
        oldest, others = streams[0], streams[1:]
        ended = await oldest.ended_by_server()
        for stream in others:
            stream.vanish()
        assert ended, f"the oldest stream is still open: {oldest.body[-200:]!r}"
        return oldest, others

    oldest, others = as_browsers(scenario())

    assert oldest.body.endswith("event: ended\ndata: replaced\n\n")
    assert all("event: ended" not in stream.body for stream in others)
