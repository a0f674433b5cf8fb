"""Production settings (DEBUG off), read in a fresh process as a deployment would: what they
trust and what `check --deploy` says."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

def deployment_env(**values: str) -> dict:
    """This process's environment as a deployment would have it: without the variable the
    browser tests set for Playwright's event loop (tests/browser/conftest.py)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **PRODUCTION, **values}


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "deploy-test-secret-key-not-for-production-use-0123456789abcdef",
    "ALLOWED_HOSTS": "dashboard.example.com",
    "DJANGO_SETTINGS_MODULE": "dashboard.settings",
}


def production_settings(**env: str) -> dict:
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'proxy': s.SECURE_PROXY_SSL_HEADER, 'csrf_httponly': s.CSRF_COOKIE_HTTPONLY}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=deployment_env(**env),
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout)


def test_x_forwarded_proto_is_trusted_only_when_a_proxy_that_sets_it_is_declared():
    """Regression (issue 10, finding 8): it was trusted from anyone whenever DEBUG was off."""
    assert production_settings()["proxy"] is None
    assert production_settings(PROXY_SSL_HEADER="X-Forwarded-Proto")["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_the_csrf_cookie_is_http_only(client, db):
    response = client.get("/accounts/login/")

    assert production_settings()["csrf_httponly"] is True
    assert response.cookies["csrftoken"]["httponly"] is True


@pytest.mark.parametrize("proxy", ["", "X-Forwarded-Proto"])
def test_check_deploy_stays_clean(proxy):
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=deployment_env(PROXY_SSL_HEADER=proxy), capture_output=True, text=True,
    )

    assert done.returncode == 0, done.stdout + done.stderr


REPOSITORY_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"


def test_without_a_secret_key_each_checkout_makes_its_own_and_keeps_it(tmp_path):
    """Regression (issue 17): under `make run` (no SECRET_KEY set) the repository's own key
    signed sessions and the listener's hand-overs, so anyone could forge them."""
    key_file = tmp_path / "var" / "secret_key"
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DJANGO_SETTINGS_MODULE="dashboard.settings", SECRET_KEY_FILE=str(key_file))
    script = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"

    def key_of_a_fresh_process() -> str:
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    first, second = key_of_a_fresh_process(), key_of_a_fresh_process()

    assert first != REPOSITORY_KEY and len(first) >= 50
    assert second == first, "kept across restarts: sessions survive them"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o777 == 0o600
