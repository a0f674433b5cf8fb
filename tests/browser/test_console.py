"""No error in the browser's console on any page (issue 20: "tab switches log Content-Security-
Policy errors for inline styles"): every page a manager meets, at a desktop's and a phone's
width, in both inbox layouts, with the tabs switched through htmx, the picker and the bulk bar
opened, and the outage view with and without a last copy. Every console message of type error,
every uncaught exception and every CSP violation counts."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from dashboard.wapikit import get_client
from tests.conftest import free_port

pytestmark = pytest.mark.browser

WIDTHS = {"desk": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
SWITCH_MS = 10_000  # a tab drawn from the scan of every conversation
TABS = ("All", "Mine", "Unassigned", "Due soon", "Overdue")


def recording(page) -> list[tuple[str, str]]:
    """Every console error and uncaught exception from now on, as (text, the URL it names)."""
    errors: list[tuple[str, str]] = []
    page.on("console", lambda m: m.type == "error" and errors.append((m.text, m.location.get("url", ""))))
    page.on("pageerror", lambda exc: errors.append((f"uncaught: {exc}", "")))
    return errors


def seen_on(page, errors, where: str, found: dict[str, list[str]], *, status: int | None = None) -> None:
    """What went wrong since the last look, filed under the page or state it happened on. A page
    whose own answer is an error (`status`: a 404, WapiKit down with no copy) logs that status
    once, as Chromium does for any document: that line is the page's, not a fault in it."""
    page.wait_for_load_state("networkidle")
    own = f"Failed to load resource: the server responded with a status of {status} "
    document = next((i for i, (text, url) in enumerate(errors) if status and text.startswith(own) and url == page.url), -1)
    now = [text for i, (text, _url) in enumerate(errors) if i != document]
    now += [f"CSP: {v}" for v in page.evaluate("window.__cspViolations")]
    if now:
        found[where] = now
    errors.clear()
    page.evaluate("window.__cspViolations = []")


def unfold_filters(page) -> None:
    """On a phone the filters fold behind one button."""
    toggle = page.locator("button.filters-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()


def walk_the_inbox(page, errors, layout: str, found: dict[str, list[str]]) -> None:
    tabs = page.get_by_role("navigation", name="Whose conversations")
    expect(tabs.locator(".count").first).to_be_visible(timeout=SWITCH_MS)
    for tab in (*TABS[1:], TABS[0]):
        tabs.get_by_role("link", name=re.compile(f"^{tab}")).click()
        expect(tabs.get_by_role("link", name=re.compile(f"^{tab}"))).to_have_attribute(
            "aria-current", "page", timeout=SWITCH_MS
        )
        # The counts come after the results: wait for them before the next click.
        expect(tabs.locator(".count").first).to_be_visible(timeout=SWITCH_MS)
        seen_on(page, errors, f"{layout}: the {tab} tab", found)
    status = page.get_by_role("navigation", name="Status")
    for name in ("Closed", "Active"):
        unfold_filters(page)
        status.get_by_role("link", name=name, exact=True).click()
        expect(status.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page", timeout=SWITCH_MS
        )
        seen_on(page, errors, f"{layout}: the {name} status", found)
    expect(tabs.locator(".count").first).to_be_visible(timeout=SWITCH_MS)
    assignable = page.locator("#cards article.card", has=page.get_by_role("button", name="Reassign", exact=True)).first
    card = page.locator(f"#{assignable.get_attribute('id')}")
    card.get_by_role("button", name="Reassign", exact=True).click()
    expect(card.locator(".picker-search")).to_be_focused()
    seen_on(page, errors, f"{layout}: the picker", found)
    page.keyboard.press("Escape")
    box = page.locator("#cards [name=ids]").first
    box.check()
    expect(page.locator("#bulk")).to_be_visible()
    seen_on(page, errors, f"{layout}: the bulk bar", found)
    box.uncheck()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_logs_a_console_error(width, new_page, signed_in, fresh_wapikit, dashboard, settings):
    # Copies that expire at once: the outage below shows the last one.
    settings.WAPIKIT_LIST_CACHE_SECONDS = 1
    settings.WAPIKIT_MEMBERS_CACHE_SECONDS = 1
    found: dict[str, list[str]] = {}
    page = new_page(viewport=WIDTHS[width])
    errors = recording(page)
    page.goto(f"{dashboard}/accounts/login/")
    seen_on(page, errors, "sign-in", found)
    signed_in("owner", on=page)
    expect(page.locator("#cards article.card").first).to_be_visible()
    seen_on(page, errors, "the inbox", found)

    walk_the_inbox(page, errors, "cards", found)
    unfold_filters(page)
    page.get_by_role("group", name="Layout:").get_by_role("button", name="Compact").click()
    expect(page.locator("#cards.compact")).to_be_visible()
    seen_on(page, errors, "the compact layout", found)
    walk_the_inbox(page, errors, "compact", found)

    conversation = page.locator("#cards article.card h2 a").first.get_attribute("href")
    for name, path in (
        ("the conversation page", conversation),
        ("the workload", "/workload/"),
        ("the audit log", "/audit/"),
        ("the response targets", "/settings/targets/"),
        ("the API tokens", "/tokens/"),
        ("routing", "/routing/"),
        ("the profile", "/account/"),
        ("the status page", "/status/"),
    ):
        answer = page.goto(dashboard + path)
        assert answer.status == 200, f"{name}: {answer.status}"
        seen_on(page, errors, name, found)
    answer = page.goto(f"{dashboard}/no-such-page/")
    assert answer.status == 404
    seen_on(page, errors, "a page that does not exist", found, status=404)

    # The outage: the inbox's last copy, then a view no copy was kept of.
    page.goto(f"{dashboard}/")
    expect(page.locator("#cards article.card").first).to_be_visible()
    page.wait_for_timeout(1_200)  # the copies are past their lifetime
    settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
    get_client.cache_clear()
    page.reload()
    expect(page.locator("#outage-note")).to_be_visible()
    page.wait_for_timeout(3_500)  # the page asks WapiKit again meanwhile
    seen_on(page, errors, "the outage's last copy", found)
    answer = page.goto(f"{dashboard}/?status=deleted")
    assert answer.status == 502
    expect(page.locator(".banner-error")).to_contain_text("WapiKit unreachable since")
    page.wait_for_timeout(3_500)  # the page asks again meanwhile
    seen_on(page, errors, "the outage without a copy", found, status=502)
    cache.clear()

    assert found == {}, "\n".join(f"{where}: {said}" for where, said in found.items())
