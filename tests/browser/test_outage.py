"""WapiKit going down under an open inbox, in real Chromium, with a sandbox of its own that the
test stops and starts again on the same port: the last copy stays on screen and says since when,
filters, tabs and navigation stay, actions wait saying why, a reload still shows the last copy,
and once WapiKit answers the page comes back by itself."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from dashboard.live import delivery
from dashboard.live.listener import Listener
from devtools.benchmarks.benchkit import free_port, wait_for_port
from devtools.sandbox.serve import sandbox_command
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import violations
from tests.conftest import API_KEY, ROOT, Sandbox, pointed_at

pytestmark = pytest.mark.browser

ZONE = "Asia/Tokyo"


class StoppableSandbox:
    """A seeded spec sandbox on a fixed port, which can be stopped and started again there."""

    def __init__(self, directory) -> None:
        self.port = free_port()
        self.directory = directory
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{directory / 'sandbox.sqlite3'}",
            "SANDBOX_API_KEY": API_KEY,
            "WAPIKIT_API_KEY": API_KEY,
            "SANDBOX_PROFILE": "spec",
            "DJANGO_SETTINGS_MODULE": "devtools.settings",
        }
        self.process: subprocess.Popen | None = None
        for command in (["migrate", "-v0"], ["seed_sandbox"]):
            subprocess.run(
                [sys.executable, "manage.py", *command], cwd=ROOT, env=self.env, check=True, capture_output=True
            )

    def start(self) -> None:
        log = open(self.directory / "sandbox.log", "a")
        self.process = subprocess.Popen(
            sandbox_command("127.0.0.1", self.port), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def as_wapikit(self) -> Sandbox:
        root = f"http://127.0.0.1:{self.port}"
        return Sandbox(f"{root}/api", root, API_KEY, self.env, "spec")


@pytest.fixture
def stoppable(tmp_path, settings) -> Iterator[StoppableSandbox]:
    sandbox = StoppableSandbox(tmp_path)
    sandbox.start()
    try:
        with pointed_at(sandbox.as_wapikit(), settings):
            # Copies expire at once, so a reload while WapiKit is down must ask it (and fall back).
            settings.WAPIKIT_LIST_CACHE_SECONDS = 1
            settings.WAPIKIT_CONVERSATION_CACHE_SECONDS = 1
            settings.WAPIKIT_MEMBERS_CACHE_SECONDS = 1
            settings.WAPIKIT_SCAN_CACHE_SECONDS = 1
            settings.WAPIKIT_BREAKER_COOLDOWN = 1
            yield sandbox
    finally:
        with contextlib.suppress(Exception):
            sandbox.stop()


def _around_now() -> list[str]:
    """The minutes a time read now may show in the browser's zone."""
    now = datetime.now(ZoneInfo(ZONE))
    return [(now + timedelta(minutes=delta)).strftime("%H:%M") for delta in (-1, 0, 1)]


def test_an_outage_keeps_the_last_copy_and_the_page_comes_back_by_itself(new_page, dashboard, stoppable, make_user):
    page = new_page(timezone_id=ZONE)
    page.context.add_cookies([{"name": "tz", "value": ZONE, "url": dashboard}])
    sign_in(page, dashboard, make_user("owner"))
    first_card = page.locator("#cards .card").first
    name = first_card.locator("h2").inner_text()
    expect(page.locator("#tabs .count").first).to_be_visible()

    stoppable.stop()
    page.wait_for_timeout(1500)  # every shared copy is past its lifetime
    page.reload()

    note = page.locator("#outage-note")
    expect(note).to_be_visible()
    said = re.search(
        r"WapiKit unreachable since (\d\d:\d\d); showing what was read at (\d\d:\d\d)\.",
        note.inner_text(),
    )
    assert said, note.inner_text()
    minutes = _around_now()
    assert said.group(1) in minutes and said.group(2) in minutes, "times in the user's zone"
    # The last copy, with its filters, tabs and the top bar's links.
    expect(page.locator("#cards .card").first.locator("h2")).to_have_text(name)
    expect(page.locator("form.query")).to_be_visible()
    expect(page.locator("#tabs")).to_be_visible()
    expect(page.get_by_role("link", name="Workload")).to_be_visible()
    # Actions wait, pointing at the note that says why.
    close = page.locator("#cards .card").first.get_by_role("button", name="Close")
    expect(close).to_be_disabled()
    assert close.get_attribute("aria-describedby") == "outage-note"
    expect(page.locator(".banner-error")).to_have_count(0)
    assert violations(page) == [], "the outage keeps axe-core at 0 violations"
    # A view no copy was kept of says what failed.
    page.locator("nav.filters").get_by_role("link", name="Closed").click()
    expect(page.locator(".banner-error")).to_contain_text("Conversations could not be loaded.")

    stoppable.start()

    # No reload: the page asks again every few seconds and swaps itself back.
    expect(page.locator("#cards .card").first).to_be_visible(timeout=15_000)
    expect(note).to_have_count(0)
    expect(page.locator(".banner-error")).to_have_count(0)
    expect(page.locator("#cards .card").first.get_by_role("button", name="Reopen")).to_be_enabled()
    # The view without a copy answered 502 (Bad Gateway: WapiKit did not answer) until it did.
    assert [e for e in page.console_errors if "status of 502" not in e] == []


@pytest.fixture
def listening_to(stoppable) -> Iterator[StoppableSandbox]:
    """WapiKit's events read from the stoppable sandbox as `manage.py listen_events` reads them."""
    listener = Listener(on_event=delivery.apply, on_state=delivery.store_state)
    thread = threading.Thread(target=listener.run, name="listener", daemon=True)
    thread.start()
    yield stoppable
    listener.stop()
    thread.join(timeout=60)


def test_the_live_note_names_wapikit_unreachable_and_live_updates_return_within_seconds(
    new_page, asgi_dashboard, listening_to, make_user
):
    page = new_page()
    sign_in(page, asgi_dashboard, make_user("owner"))
    live_note = page.locator("#live-note")
    expect(live_note).to_be_hidden(timeout=10_000)

    listening_to.stop()

    expect(live_note).to_be_visible(timeout=10_000)
    expect(live_note).to_contain_text("Live updates are paused: WapiKit is unreachable.", timeout=10_000)

    listening_to.start()

    # The listener asks an unreachable WapiKit again every 3 s at most.
    expect(live_note).to_be_hidden(timeout=8_000)
    assert page.console_errors == []


def test_an_outage_with_no_last_copy_keeps_the_filters_tabs_and_links_and_says_since_when(
    new_page, dashboard, stoppable, make_user
):
    """The dashboard never read the list before WapiKit went down: no copy to show, but the page
    keeps its filters, tabs and top bar, with the red note saying since when."""
    page = new_page(timezone_id=ZONE)
    page.context.add_cookies([{"name": "tz", "value": ZONE, "url": dashboard}])
    stoppable.stop()

    sign_in(page, dashboard, make_user("owner"))

    banner = page.locator(".banner-error")
    expect(banner).to_be_visible()
    said = re.search(r"WapiKit unreachable since (\d\d:\d\d)\.", banner.inner_text())
    assert said, banner.inner_text()
    assert said.group(1) in _around_now(), "the time in the user's zone"
    expect(banner).to_contain_text("Conversations could not be loaded.")
    expect(page.locator("#cards .card")).to_have_count(0)
    expect(page.locator("form.query")).to_be_visible()
    expect(page.locator("form.query").get_by_label("Search")).to_be_editable()
    expect(page.get_by_role("navigation", name="Status").get_by_role("link", name="Closed")).to_be_visible()
    expect(page.get_by_role("navigation", name="Whose conversations").get_by_role("link", name="Unassigned")).to_be_visible()
    top = page.get_by_role("navigation", name="Dashboard")
    for link in ("Workload", "Audit log", "Routing"):
        expect(top.get_by_role("link", name=link, exact=True)).to_be_visible()
    assert violations(page) == [], "the outage keeps axe-core at 0 violations"

    # Another view, through the filters: the same, and the view chosen is the one asked for.
    page.get_by_role("navigation", name="Status").get_by_role("link", name="Closed").click()
    expect(page).to_have_url(re.compile(r"status=closed"))
    expect(banner).to_contain_text("WapiKit unreachable since")
    expect(page.locator("form.query")).to_be_visible()
    expect(page.get_by_role("navigation", name="Status").locator("[aria-current=page]")).to_have_text("Closed")

    # On a phone too, the filters fold behind their button and the tabs stay.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(banner).to_contain_text("WapiKit unreachable since")
    page.get_by_role("button", name=re.compile("^Filters")).click()
    expect(page.locator("form.query")).to_be_visible()
    expect(page.get_by_role("navigation", name="Whose conversations")).to_be_visible()

    stoppable.start()

    # No reload: the page asks again every few seconds and swaps itself back.
    expect(page.locator("#cards .card").first).to_be_visible(timeout=15_000)
    expect(banner).to_have_count(0)
    # Only the answers of the view while WapiKit was down (502: it did not answer).
    assert [e for e in page.console_errors if "status of 502" not in e] == []
