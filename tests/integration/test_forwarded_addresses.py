"""Forwarded addresses under the servers the dashboard really runs on: `make run`'s uvicorn
(rundemo) and the streams' gunicorn with uvicorn workers, each a real process on a loopback
port. Behind no proxy, a client's own `X-Forwarded-For` must not choose the address it is let
into /metrics, throttled or audited under: `TRUSTED_PROXY_COUNT` / `TRUSTED_PROXIES`
(accounts/addresses.py) are the only rule, and here they declare no proxy."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devtools.benchmarks import benchkit
from devtools.sandbox.management.commands.rundemo import dashboard_command
from tests.conftest import MEMBER_EMAILS, PASSWORD, ROOT
from tests.integration.conftest import first_conversation

pytestmark = pytest.mark.integration

FORGED = "10.1.2.3"
SERVERS = ["make run (uvicorn)", "streams (gunicorn + uvicorn workers)"]


def server_env(directory: Path, wapikit) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "PROMETHEUS_MULTIPROC_DIR")}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DEBUG": "false",
        "SECRET_KEY": "forwarded-addresses-test-secret-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{directory / 'dashboard.sqlite3'}",
        "WAPIKIT_BASE_URL": wapikit.base_url,
        "WAPIKIT_API_KEY": wapikit.api_key,
        # Scrapers from 10.0.0.0/8 may read /metrics; no proxy is declared.
        "METRICS_ALLOWED_ADDRESSES": "10.0.0.0/8",
        "METRICS_TOKEN": "",
        "TRUSTED_PROXY_COUNT": "0",
        "TRUSTED_PROXIES": "",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="module")
def collected_static() -> None:
    """Pages render with the manifest of collected static files when DEBUG is off."""
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "collectstatic-only-key-0123456789"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


@contextlib.contextmanager
def served(kind: str, directory: Path, env: dict) -> Iterator[str]:
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*manage, "adduser", MEMBER_EMAILS["owner"], "--password", PASSWORD], cwd=ROOT, env=env, check=True,
        capture_output=True,
    )
    if kind == SERVERS[0]:
        port = benchkit.free_port()
        with open(directory / "uvicorn.log", "w") as log:
            process = subprocess.Popen(dashboard_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                benchkit.wait_for_port(port, process)
                yield f"http://127.0.0.1:{port}"
            finally:
                process.terminate()
                process.wait(timeout=15)
    else:
        with benchkit.gunicorn_processes((env, directory / "gunicorn.log", 1), streams=True) as (url,):
            yield url


@pytest.fixture(scope="module", params=SERVERS)
def dashboard(request, tmp_path_factory, collected_static, sandbox) -> Iterator[tuple[str, Path]]:
    """A dashboard server of one kind, its base URL and its database file, for this module's
    tests in their order (the throttle's test, which locks out loopback, comes last)."""
    directory = tmp_path_factory.mktemp("served")
    with served(request.param, directory, server_env(directory, sandbox)) as url:
        yield url, directory / "dashboard.sqlite3"


class Browser:
    """requests with the cookies kept by hand: the dashboard's are Secure outside DEBUG, and
    requests would not send them back over http."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cookies: dict[str, str] = {}

    def get(self, path: str, **headers) -> requests.Response:
        response = requests.get(self.url + path, headers=headers, cookies=self.cookies, allow_redirects=False, timeout=10)
        self.cookies.update(response.cookies.get_dict())
        return response

    def post(self, path: str, data: dict, **headers) -> requests.Response:
        form = self.get(path if path.endswith("/login/") else "/", **headers).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        response = requests.post(
            self.url + path, data={"csrfmiddlewaretoken": token, **data}, headers=headers, cookies=self.cookies,
            allow_redirects=False, timeout=10,
        )
        self.cookies.update(response.cookies.get_dict())
        return response


def test_metrics_refuse_a_forged_scraper_address(dashboard):
    """Regression (issue 17): /metrics answered 200 to `X-Forwarded-For: 10.1.2.3` from loopback."""
    url, _ = dashboard

    forged = requests.get(f"{url}/metrics", headers={"X-Forwarded-For": FORGED}, timeout=10)
    stranger = requests.get(f"{url}/metrics", timeout=10)

    assert stranger.status_code == 403
    assert forged.status_code == stranger.status_code
    assert "dashboard_" not in forged.text


def test_an_audit_row_records_the_connecting_address_not_the_forged_one(dashboard, fresh_wapikit):
    """Regression (issue 17): the audit row recorded the forged address."""
    url, database = dashboard
    browser = Browser(url)
    signed_in = browser.post(
        "/accounts/login/", {"username": MEMBER_EMAILS["owner"], "password": PASSWORD}, **{"X-Forwarded-For": FORGED}
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    cid = first_conversation(fresh_wapikit, "Active")["uniqueId"]

    closed = browser.post(f"/conversations/{cid}/close/", {"next": "/"}, **{"X-Forwarded-For": FORGED})

    assert closed.status_code == 302, closed.text[:500]
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT client_address FROM audit_auditentry WHERE conversation_id = ?", (cid,)).fetchall()
    assert rows == [("127.0.0.1",)]


def test_failed_sign_ins_are_throttled_by_address_whatever_address_they_claim(dashboard):
    """Regression (issue 17): 45 failed sign-ins, each claiming another forwarded address, were
    never throttled by address. Each uses another account, so only the address can stop them."""
    url, _ = dashboard
    browser = Browser(url)
    answers = []
    for n in range(25):
        response = browser.post(
            "/accounts/login/",
            {"username": f"nobody-{n}@example.com", "password": "wrong-password-Zq81!x"},
            **{"X-Forwarded-For": f"10.9.{n}.{n + 1}"},
        )
        answers.append(response.status_code)

    # 20 failures from one address slow it down: a later attempt must wait (429).
    assert answers[:20] == [200] * 20, answers
    assert 429 in answers[20:], answers
