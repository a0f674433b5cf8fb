"""Shared fixtures: a real sandbox process on a loopback port, dashboard users linked to its
members, and a counter of upstream calls."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.core.cache import cache
from django.core.handlers.base import BaseHandler

from dashboard.wapikit import capabilities, get_client, transport
from devtools.benchmarks.benchkit import free_port, wait_for_port
from devtools.sandbox.serve import sandbox_command

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "test-sandbox-key-7c1f9e"
PASSWORD = "correct-horse-battery-9"

MEMBER_EMAILS = {
    "owner": "owner@example.com",
    "manager": "manager@example.com",
    "agent": "agent@example.com",
    "norole": "norole@example.com",
    "moderator": "jonas.becker@example.com",
    "closer": "fatima.elamrani@example.com",
}


# Every response the dashboard gives during the suite (test client and live server alike) and
# every log line is scanned for the WapiKit API key; a hit fails the run.
SECRETS = (API_KEY, "sandbox-development-key")
_leaks: list[str] = []
_scanned = {"responses": 0, "log lines": 0}


def _scan(where: str, data: bytes | str) -> None:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for secret in SECRETS:
        if secret in text:
            _leaks.append(f"{where}: contains the API key")


class _LeakScanningLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _scanned["log lines"] += 1
        try:
            _scan(f"log line from {record.name}", record.getMessage())
        except Exception:  # a record whose arguments do not format is not a leak
            pass


@pytest.fixture(scope="session", autouse=True)
def scan_every_response_for_the_api_key():
    original = BaseHandler.get_response

    def get_response(self, request):
        response = original(self, request)
        _scanned["responses"] += 1
        where = f"{request.method} {request.get_full_path()}"
        for header, value in response.items():
            _scan(f"{where} header {header}", value)
        if not response.streaming:
            _scan(where, response.content)
        return response

    logging.getLogger().addHandler(_log_scanner)
    BaseHandler.get_response = get_response
    yield
    BaseHandler.get_response = original
    logging.getLogger().removeHandler(_log_scanner)


_log_scanner = _LeakScanningLogHandler()


@pytest.fixture(autouse=True)
def no_key_in_what_this_test_saw():
    """Fails the test during which a response or log line carried the key: with pytest-xdist
    the session's summary runs in another process, so each test answers for itself."""
    before = len(_leaks)
    # Whatever runs django.setup() again (get_asgi_application does) configures logging anew
    # and drops the scanner from the root logger.
    if _log_scanner not in logging.getLogger().handlers:
        logging.getLogger().addHandler(_log_scanner)
    yield
    if len(_leaks) > before:
        found = _leaks[before:]
        pytest.fail("the WapiKit API key leaked: " + "; ".join(found[:5]), pytrace=False)


# The longest files first: with `--dist loadfile` the two workers then finish together, instead of
# one running the tools' own benchmark runs alone at the end (about two minutes of the suite).
LONGEST_FIRST = ("tests/devtools/", "tests/api/test_schema.py")


def pytest_collection_modifyitems(config, items):
    def later(item) -> bool:
        where = item.path.relative_to(config.rootpath).as_posix()
        return not where.startswith(LONGEST_FIRST)

    items.sort(key=later)


def _forget_test_database_files() -> None:
    """The SQLite test database's file with its -wal and -shm (tests/settings.py): a -wal left by
    an earlier run would be replayed into the new database of the same name."""
    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and name:
        for leftover in (name, f"{name}-wal", f"{name}-shm"):
            Path(leftover).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """pytest-django's, then this worker's database file cleared (before and after the run)."""
    _forget_test_database_files()
    yield
    _forget_test_database_files()


def pytest_terminal_summary(terminalreporter):
    if getattr(terminalreporter.config.option, "numprocesses", None):
        terminalreporter.write_line("API key scan: every response and log line checked in each worker, after every test")
        return
    terminalreporter.write_line(
        f"API key scan: {_scanned['responses']} dashboard responses and {_scanned['log lines']} log lines scanned, "
        f"{len(_leaks)} leaks"
    )
    for leak in _leaks[:20]:
        terminalreporter.write_line(f"  LEAK {leak}", red=True)


def pytest_sessionfinish(session, exitstatus):
    if _leaks:
        session.exitstatus = 1


@dataclass
class Sandbox:
    base_url: str
    root_url: str
    api_key: str
    env: dict
    profile: str = "spec"

    def control(self, **values) -> dict:
        response = requests.post(
            f"{self.root_url}/_sandbox/control", json=values, headers={"x-access-token": self.api_key}, timeout=5
        )
        response.raise_for_status()
        return response.json()

    def reseed(self) -> None:
        """The demo data seeded again, inside the sandbox's process (no second Django to start)."""
        response = requests.post(
            f"{self.root_url}/_sandbox/control", json={"reseed": True}, headers={"x-access-token": self.api_key},
            timeout=60,
        )
        response.raise_for_status()

    def get(self, path: str, **params) -> dict:
        response = requests.get(
            f"{self.base_url}{path}", params=params, headers={"x-access-token": self.api_key}, timeout=5
        )
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.base_url}{path}", json=body, headers={"x-access-token": self.api_key}, timeout=5)


# The profile the suite's sandbox answers with: "spec" (WapiKit's doc page, the default) or
# "server" (WapiKit's server code, REAL-SERVER.md). `make test` runs a second pass with "server".
PROFILE = os.environ.get("TEST_SANDBOX_PROFILE", "spec")


@contextlib.contextmanager
def running_sandbox(directory: Path, profile: str) -> Iterator[Sandbox]:
    """A seeded sandbox of one profile, in its own process and database."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'sandbox.sqlite3'}",
        "SANDBOX_API_KEY": API_KEY,
        "WAPIKIT_API_KEY": API_KEY,
        "SANDBOX_PROFILE": profile,
        "DJANGO_SETTINGS_MODULE": "devtools.settings",
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "seed_sandbox"], cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(directory / "sandbox.log", "w")
    process = subprocess.Popen(
        sandbox_command("127.0.0.1", port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, process)
        yield Sandbox(f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}", API_KEY, env, profile)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """The embedded WapiKit sandbox of this run's profile, seeded with demo data."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), PROFILE) as running:
        yield running


@pytest.fixture(scope="session")
def server_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """A sandbox answering as WapiKit's server code does, whatever this run's profile."""
    with running_sandbox(tmp_path_factory.mktemp("server-sandbox"), "server") as running:
        yield running


@pytest.fixture(scope="session")
def legacy_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """A sandbox answering as the older server (wapikit/wapikit d0a3506) does."""
    with running_sandbox(tmp_path_factory.mktemp("legacy-sandbox"), "legacy") as running:
        yield running


@contextlib.contextmanager
def pointed_at(sandbox: Sandbox, settings) -> Iterator[Sandbox]:
    """The dashboard talking to one sandbox, with cold caches and no latency or fault."""
    settings.WAPIKIT_BASE_URL = sandbox.base_url
    settings.WAPIKIT_API_KEY = sandbox.api_key
    settings.WAPIKIT_GET_RETRIES = 0
    # Most tests change WapiKit behind the dashboard's back and read again at once: shared reads
    # of lists and conversations are off, except in the tests of sharing (they set lifetimes).
    settings.WAPIKIT_LIST_CACHE_SECONDS = 0
    settings.WAPIKIT_CONVERSATION_CACHE_SECONDS = 0
    get_client.cache_clear()
    cache.clear()
    sandbox.control(reset=True)  # no latency, fault or spent rate limit left over from another test
    # A dashboard that has met this WapiKit before: what it learns on first contact (one
    # probe a day) would otherwise add calls to every test that counts them. Tests of the
    # learning itself forget it (`get_client().capabilities.forget()`).
    get_client().capabilities.learn(
        capabilities.SINGLE_ANSWER_HAS_ASSIGNEE, sandbox.profile == "spec"
    )
    try:
        yield sandbox
    finally:
        get_client.cache_clear()
        cache.clear()


@pytest.fixture
def wapikit(sandbox, settings) -> Iterator[Sandbox]:
    """Point the dashboard at this run's sandbox."""
    with pointed_at(sandbox, settings) as running:
        yield running


@pytest.fixture
def server_wapikit(server_sandbox, settings) -> Iterator[Sandbox]:
    """Point the dashboard at the sandbox that answers as WapiKit's server code does."""
    with pointed_at(server_sandbox, settings) as running:
        yield running


@pytest.fixture
def legacy_wapikit(legacy_sandbox, settings) -> Iterator[Sandbox]:
    """Point the dashboard at the sandbox that answers as the older server does."""
    with pointed_at(legacy_sandbox, settings) as running:
        yield running


@pytest.fixture
def fresh_wapikit(wapikit) -> Sandbox:
    """The sandbox re-seeded, for tests that change conversations; seeded again afterwards, so
    what a test changed never leaks into the next."""
    wapikit.reseed()
    yield wapikit
    wapikit.control(reset=True)
    wapikit.reseed()


@pytest.fixture
def upstream_calls() -> list[transport.UpstreamCall]:
    """Every attempt the WapiKit client makes while the test runs (method, path, status, …)."""
    calls: list[transport.UpstreamCall] = []

    def record(call: transport.UpstreamCall) -> None:
        calls.append(call)

    transport.request_listeners.append(record)
    yield calls
    transport.request_listeners.remove(record)


@pytest.fixture
def make_user(db, django_user_model):
    def make(kind: str):
        email = MEMBER_EMAILS.get(kind, kind)
        return django_user_model.objects.create_user(email=email, password=PASSWORD)

    return make


@pytest.fixture
def login_as(client, make_user):
    """Sign the Django test client in as a dashboard user linked to a sandbox member."""

    def login(kind: str):
        user = make_user(kind)
        client.force_login(user)
        return client

    return login
