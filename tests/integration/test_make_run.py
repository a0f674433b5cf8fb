"""`make run` as a team runs it, also against a real WapiKit: `manage.py rundemo` in its own
process with nothing set but its ports and a database, as from a fresh clone. It must show no
debug page (no traceback, no list of URL patterns), serve its static files and let a demo login
sign in over http."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.integration.rundemo import rundemo

pytestmark = pytest.mark.integration

# What Django's debug pages show and the dashboard's own pages never do.
DEBUG_PAGE_SIGNS = ("Traceback", "DEBUG = True", "URLconf", "conversations/&lt;str:conversation_id&gt;/", "Request Method:")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """rundemo's dashboard URL and the owner's demo password, its output in rundemo.log."""
    unset = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "WAPIKIT_BASE_URL", "WAPIKIT_API_KEY", "SANDBOX_API_KEY",
             "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "ALLOWED_HOSTS")
    # No demo traffic: nothing changes behind these tests' backs.
    with rundemo(tmp_path_factory.mktemp("make-run"), unset=unset, SANDBOX_DEMO_TRAFFIC_SECONDS="0") as started:
        yield started.url, started.password


def assert_no_debug_page(response: requests.Response) -> None:
    for sign in DEBUG_PAGE_SIGNS:
        assert sign not in response.text, f"{response.url} answers a debug page ({sign!r})"


def test_a_missing_url_answers_the_dashboard_s_404_not_the_url_patterns(make_run):
    """Regression (issue 17): `make run` ran with DEBUG on: Django's 404 listed every URL pattern."""
    url, _ = make_run

    response = requests.get(f"{url}/no-such-page/", timeout=10, allow_redirects=False)

    assert response.status_code == 404
    assert_no_debug_page(response)


def test_a_request_that_raises_answers_without_a_traceback(make_run):
    """A Host the dashboard does not serve raises DisallowedHost inside Django: with DEBUG on,
    the answer was a traceback with the settings."""
    url, _ = make_run

    response = requests.get(f"{url}/", headers={"Host": "evil.example"}, timeout=10, allow_redirects=False)

    assert response.status_code == 400
    assert_no_debug_page(response)


def test_a_demo_login_signs_in_over_http_and_sees_the_inbox(make_run):
    url, password = make_run
    browser = requests.Session()

    login = browser.get(f"{url}/accounts/login/", timeout=10, allow_redirects=False)
    assert login.status_code == 200, "no redirect to https: make run serves http"
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', login.text).group(1)
    assert browser.get(f"{url}{stylesheet}", timeout=10).status_code == 200, "static files are served"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    signed_in = browser.post(
        f"{url}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": "owner@example.com", "password": password},
        headers={"Origin": url}, timeout=10, allow_redirects=False,
    )
    assert signed_in.status_code == 302, signed_in.text[:2000]
    inbox = browser.get(f"{url}/", timeout=30, allow_redirects=False)

    assert inbox.status_code == 200
    assert 'class="card status-' in inbox.text
    assert "unreachable" not in inbox.text
    assert_no_debug_page(inbox)
