"""The browser's time zone in a real Chromium: static/js/app.js reports it in the `tz`
cookie on the first page opened, and the profile page preselects it until the user chooses
one. Neither needs WapiKit: signing in and the profile page ask it nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# A name ICU (Chromium's) and the tz database agree on: for India, Chromium says Asia/Calcutta,
# the tz database's older name, which the dashboard accepts (and lists) as it is.
BROWSER_ZONE = "Europe/Berlin"


def tz_cookie(page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "tz"), None)


def clean(page) -> None:
    assert page.console_errors == []
    assert page.failed_requests == []
    assert page.evaluate("window.__cspViolations") == []


def test_the_first_page_reports_the_browsers_zone_and_the_profile_preselects_it(new_page, dashboard, make_user):
    page = new_page(timezone_id=BROWSER_ZONE)
    user = make_user("someone@example.com")

    page.goto(f"{dashboard}/accounts/login/?next=/account/")
    assert tz_cookie(page) == BROWSER_ZONE
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{dashboard}/account/")

    expect(page.get_by_label("Time zone")).to_have_value(BROWSER_ZONE)
    expect(page.get_by_role("link", name="Profile")).to_have_attribute("aria-current", "page")
    clean(page)

    page.get_by_label("Time zone").select_option("America/Sao_Paulo")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: times are shown in America/Sao_Paulo.")
    expect(page.get_by_label("Time zone")).to_have_value("America/Sao_Paulo")
    # The cookie still says where the browser is; the choice, kept on the server, wins.
    assert tz_cookie(page) == BROWSER_ZONE
    clean(page)


def test_a_cookie_left_from_another_zone_is_replaced(new_page, dashboard):
    page = new_page(timezone_id=BROWSER_ZONE)
    page.context.add_cookies([{"name": "tz", "value": "Asia/Tokyo", "url": dashboard}])
    page.goto(f"{dashboard}/accounts/login/")
    assert tz_cookie(page) == BROWSER_ZONE
    clean(page)
