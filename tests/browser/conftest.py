"""Browser fixtures: one headless Chromium per session, the dashboard on pytest-django's
live server (a thread of this process, so `settings` changes reach it), a fresh context and
page per test that records console errors and failed requests, and a `signed_in(kind)` helper
that signs in through the real login form."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.live import delivery
from dashboard.live.listener import Listener
from tests.conftest import PASSWORD, free_port

# Playwright's sync API runs an asyncio loop in the main thread; Django's ORM (fixtures
# creating users, live_server's database setup) would otherwise refuse to run there.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 10_000  # actions, navigation
EXPECT_TIMEOUT_MS = 3_000  # assertions: every sandbox answer here takes well under a second
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"Chromium not installed at {CHROMIUM}: browser tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(message.replace("skipped", "cannot run on CI"), pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def dashboard(live_server, transactional_db, settings) -> str:
    """The dashboard's base URL, served by pytest-django's live server (WSGI: it cannot hold
    live streams, so pages poll, as a WSGI-only deployment's would)."""
    settings.LIVE_STREAMS = False
    return live_server.url


@pytest.fixture
def asgi_dashboard(transactional_db, settings) -> Iterator[str]:
    """The dashboard under ASGI, as `make run` and production serve it (uvicorn), in a thread of
    this process: the live streams (/live/stream/) need it, and `settings` changes reach it."""
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from dashboard.live.streams import with_live_streams

    settings.LIVE_STREAMS = True
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            with_live_streams(ASGIStaticFilesHandler(get_asgi_application())),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            # As `make run` and the streams' gunicorn workers: X-Forwarded-For is read by
            # accounts/addresses.py alone.
            proxy_headers=False,
            log_level="warning",
            log_config=None,  # the suite keeps its own logging (and its key-scanning handler)
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, name="asgi-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# Registered before any page script: collects Content-Security-Policy violations.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _recording(page):
    page.console_messages_seen = []
    page.console_errors = []
    page.failed_requests = []
    page.on("console", lambda m: page.console_messages_seen.append(f"{m.type}: {m.text}"))
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda exc: page.console_errors.append(f"pageerror: {exc}"))
    page.on("requestfailed", lambda r: page.failed_requests.append(f"{r.method} {r.url} {r.failure}"))
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.fixture
def new_page(browser):
    """Factory for pages in fresh contexts (e.g. with JavaScript off); closed after the test."""
    contexts = []

    def make(**context_options):
        context = browser.new_context(**context_options)
        context.add_init_script(CSP_RECORDER)
        contexts.append(context)
        return _recording(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A page in its own browser context; `page.console_errors` and `page.failed_requests`
    collect what went wrong while the test ran."""
    return new_page()


@pytest.fixture
def signed_in(page, dashboard, make_user):
    """signed_in(kind) -> the page, signed in through the login form and on the inbox."""

    def sign_in(kind: str, on=None):
        target = on or page
        user = make_user(kind)
        target.goto(f"{dashboard}/accounts/login/")
        target.get_by_label("Email").fill(user.email)
        target.get_by_label("Password").fill(PASSWORD)
        target.get_by_role("button", name="Sign in").click()
        target.wait_for_url(f"{dashboard}/")
        return target

    return sign_in


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture
def listening(server_wapikit):
    """WapiKit's events read as `manage.py listen_events` reads them, applied in this process."""
    listener = Listener(on_event=delivery.apply, on_state=delivery.store_state)
    thread = threading.Thread(target=listener.run, name="listener", daemon=True)
    thread.start()
    yield server_wapikit
    listener.stop()
    thread.join(timeout=60)
