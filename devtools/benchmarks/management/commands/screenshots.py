"""`make screenshots`: every page as an Owner sees it, at a desktop and a phone width, so that
anyone changing a template can look before committing: the inbox in both layouts, the picker, a
conversation, the workload, a bulk close's report, the audit log, the status page, and last the
outage (the sandbox stopped) with the inbox's last copy. Runs a sandbox and a production-like
dashboard (gunicorn, DEBUG off) of its own, as `make bench` does, and drives Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from playwright.sync_api import expect, sync_playwright

from dashboard.routing import rules
from dashboard.routing.models import Method, Presence, Rule, TakeBackTo
from devtools.benchmarks import benchkit

API_KEY = "screenshots-sandbox-key"
PASSWORD = "screenshots-only-password"
OWNER = "owner@example.com"
CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = (1440, 390)


class Command(BaseCommand):
    help = "Write PNGs of every page at 1440 and 390 px wide (default into var/screenshots/)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "screenshots"))

    def handle(self, *args, out: str, **options):
        if not CHROMIUM.exists():
            raise CommandError(f"screenshots need Chromium at {CHROMIUM} (make chromium installs it)")
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        user = get_user_model().objects.filter(email=OWNER).first() or get_user_model()(email=OWNER)
        user.is_staff = True
        user.set_password(PASSWORD)
        user.save()
        demo_routing(user)
        with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp, benchkit.quiet_logs():
            directory = Path(tmp)
            with benchkit.running_sandbox(directory, API_KEY) as sandbox:
                base_url = sandbox.base_url
                env = {
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": benchkit.PRODUCTION_SETTINGS,
                    "DEBUG": "false",
                    "ALLOWED_HOSTS": "localhost",
                    "SECURE_SSL_REDIRECT": "false",
                    "SECURE_HSTS_SECONDS": "0",
                    "WAPIKIT_BASE_URL": base_url,
                    "WAPIKIT_API_KEY": API_KEY,
                }
                manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
                subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)
                # The task worker reads what WapiKit's lists leave out (the server's carry no
                # messages), as `make run`'s does: the inbox is shot once the cards know it.
                with open(directory / "worker.log", "w") as log:
                    worker = subprocess.Popen([*manage, "db_worker", "--no-reload"], env=env, stdout=log,
                                              stderr=subprocess.STDOUT)
                try:
                    # The ASGI server that also holds the browsers' live streams, as production serves them.
                    with benchkit.gunicorn_processes((env, directory / "gunicorn.log", 1), streams=True) as (served,):
                        # WapiKit's events, as under `make run`: the pages are shot live.
                        with listening(manage, env, served, directory):
                            # Chromium keeps Secure cookies on http://localhost (a secure context),
                            # not on 127.0.0.1.
                            written = shoot(served.replace("127.0.0.1", "localhost"), out_dir, stop_wapikit=sandbox.stop)
                finally:
                    worker.terminate()
                    worker.wait(timeout=15)
        for path in written:
            self.stdout.write(str(path))


@contextlib.contextmanager
def listening(manage: list[str], env: dict, served: str, directory: Path) -> Iterator[None]:
    """`listen_events` beside the dashboard, handing WapiKit's events to it over loopback."""
    listener_env = {**env, "LIVE_INGEST_URL": f"{served.replace('127.0.0.1', 'localhost')}/live/ingest/"}
    with open(directory / "listener.log", "w") as log:
        listener = subprocess.Popen([*manage, "listen_events"], env=listener_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        listener.terminate()
        listener.wait(timeout=15)


def demo_routing(user) -> None:
    """Two rules for the routing page and its preview, with routing paused: the preview says what
    they would do, and nothing is assigned while the other pages are shot."""
    rules.switch_set(paused=True, user=user)
    Rule.objects.update_or_create(
        name="Support agents, balanced", defaults={
            "position": 0, "roles": ["Support agent"], "method": Method.BALANCED, "capacity": 30,
            "presence": Presence.ANYONE, "unanswered_minutes": 30, "take_back_to": TakeBackTo.RULE,
        },
    )
    Rule.objects.update_or_create(
        name="Managers take the overflow", defaults={
            "position": 1, "roles": ["Support manager"], "method": Method.ROUND_ROBIN, "capacity": 30,
            "presence": Presence.ANYONE, "window_minutes": 60, "take_back_to": TakeBackTo.UNASSIGNED,
        },
    )


def settle(page, seconds: float = 60) -> None:
    """Until the cards know their last messages (the worker reads them), or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while page.get_by_text("Last message not known yet").count() and time.monotonic() < deadline:
        time.sleep(2)
        page.reload()
    page.wait_for_load_state("networkidle")


def sign_in(page, dashboard: str) -> None:
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{dashboard}/")


def choose_layout(page, name: str) -> None:
    """The inbox's layout switch (kept for the user); on a phone it folds with the filters."""
    toggle = page.locator("button.filters-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
    page.get_by_role("group", name="Layout:").get_by_role("button", name=name).click()
    page.wait_for_load_state("networkidle")


def shoot(dashboard: str, out_dir: Path, *, stop_wapikit) -> list[Path]:
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                page.set_default_timeout(15_000)

                def snap(name: str, *, full_page: bool = True) -> None:
                    path = out_dir / f"{name}-{width}.png"
                    page.screenshot(path=str(path), full_page=full_page)
                    written.append(path)

                page.goto(f"{dashboard}/accounts/login/")
                snap("login")
                sign_in(page, dashboard)
                cards = page.locator("#cards article.card")
                expect(cards.first).to_be_visible()
                settle(page)
                snap("inbox")

                card = cards.filter(has=page.get_by_role("button", name="Reassign", exact=True)).first
                card.get_by_role("button", name="Reassign", exact=True).click()
                expect(page.locator(".picker-search")).to_be_visible()
                # A full-page shot of a modal dialog shows the viewport's part only: take the
                # viewport, scrolled to the card.
                page.screenshot(path=str(out_dir / f"inbox-picker-{width}.png"))
                written.append(out_dir / f"inbox-picker-{width}.png")
                page.keyboard.press("Escape")

                choose_layout(page, "Compact")
                expect(page.locator("#cards.compact article.card").first).to_be_visible()
                snap("inbox-compact")
                choose_layout(page, "Cards")

                page.goto(dashboard + card.locator("h2 a").get_attribute("href"))
                page.wait_for_load_state("networkidle")
                snap("conversation")

                page.goto(f"{dashboard}/workload/")
                page.wait_for_load_state("networkidle")
                snap("workload")

                page.goto(f"{dashboard}/?view=all")
                boxes = page.locator("#cards [name=ids]")
                expect(boxes.first).to_be_visible()
                boxes.nth(0).check()
                boxes.nth(1).check()
                page.locator("#bulk").get_by_role("button", name="Close selected").click()
                expect(page.locator("#bulk-report .report")).to_be_visible()
                page.wait_for_load_state("networkidle")
                # The report is docked at the window's bottom (app.css): the window, as the user sees it.
                snap("bulk-report", full_page=False)

                page.goto(f"{dashboard}/audit/")
                snap("audit")

                page.goto(f"{dashboard}/status/")
                snap("status")

                page.goto(f"{dashboard}/routing/")
                expect(page.locator("[data-preview]")).to_be_visible()
                snap("routing-preview", full_page=False)
                page.locator("summary", has_text="Support agents, balanced").click()  # one rule, open
                snap("routing")

                page.goto(f"{dashboard}/reports/")
                page.wait_for_load_state("networkidle")
                # tests/browser/test_reports.py shoots the hand-computed history as reports-<width>.
                snap("reports-demo")
                page.goto(f"{dashboard}/")
                expect(cards.first).to_be_visible()
                context.close()

            # WapiKit down: the inbox shows the last copy it read, and says since when.
            stop_wapikit()
            # The shared copies are past their lifetime (the scan of every conversation, which the
            # server profile's inbox is drawn from, lives longest).
            time.sleep(max(settings.WAPIKIT_LIST_CACHE_SECONDS, settings.WAPIKIT_SCAN_CACHE_SECONDS) + 1)
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                page.set_default_timeout(15_000)
                page.goto(f"{dashboard}/accounts/login/")
                sign_in(page, dashboard)
                expect(page.locator("#outage-note")).to_be_visible()
                expect(page.locator("#cards article.card").first).to_be_visible()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out_dir / f"outage-{width}.png"), full_page=True)
                written.append(out_dir / f"outage-{width}.png")
                context.close()
        finally:
            browser.close()
    return written
