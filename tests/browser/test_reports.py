"""The reports page in a browser, at 1440 and at 390 px: no axe-core violation of WCAG 2.2 A
and AA, no sideways scroll on a phone, and a click on a number opens exactly its conversations.
The screenshots go to var/screenshots/ for the issue's note."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import reporting_history as history
from tests.browser.test_accessibility import violations
from tests.conftest import ROOT
from tests.integration.conftest import member_ids

pytestmark = pytest.mark.browser

SPAN = "since=2026-11-23&until=2026-11-25&by=day"
SHOTS = ROOT / "var" / "screenshots"


@pytest.mark.parametrize("width", [1440, 390])
def test_the_report_reads_at_both_widths_and_its_numbers_open_their_conversations(
    width, signed_in, new_page, dashboard, wapikit
):
    ids = member_ids(wapikit)
    history.seed(agent=ids["agent@example.com"], manager=ids["manager@example.com"])
    page = signed_in("owner", on=new_page(viewport={"width": width, "height": 900}))
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    page.goto(f"{dashboard}/reports/?{SPAN}")
    expect(page.get_by_role("heading", name="Closed", exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"reports-{width}.png"), full_page=False)

    closed = page.get_by_role("region", name="Closed, table")
    closed.get_by_role("row", name="Total").get_by_role("link", name="3").click()
    expect(page.get_by_role("heading", name="Closed: 3")).to_be_visible()
    rows = page.get_by_role("region", name="The conversations counted").locator("tbody tr")
    expect(rows).to_have_count(3)
    shown = sorted(rows.nth(i).locator("a").inner_text() for i in range(3))
    assert shown == sorted([history.IDS["A"], history.IDS["A"], history.IDS["F"]])
    assert violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width


LABELS = """() => [...document.querySelectorAll("svg.chart")].map((svg) => {
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll("text.axis-label")].map((text) => {
    const r = text.getBoundingClientRect();
    return {px: parseFloat(getComputedStyle(text).fontSize) * scale, left: r.left - box.left, right: r.right - box.left,
            width: box.width, tick: text.getAttribute("y") === String(svg.viewBox.baseVal.height - 6)};
  });
})"""


@pytest.mark.parametrize("width", [390, 320])
@pytest.mark.parametrize("span", ["since=2026-11-23&until=2026-11-25&by=day", "since=2026-08-28&until=2026-11-25&by=day",
                                  "since=2026-08-28&until=2026-11-25&by=week"])
def test_on_a_phone_the_charts_labels_read_at_12_px_inside_their_chart(width, span, signed_in, new_page, dashboard, wapikit):
    ids = member_ids(wapikit)
    history.seed(agent=ids["agent@example.com"], manager=ids["manager@example.com"])
    page = signed_in("owner", on=new_page(viewport={"width": width, "height": 900}))
    page.goto(f"{dashboard}/reports/?{span}")
    expect(page.get_by_role("heading", name="Closed", exact=True)).to_be_visible()

    charts = page.evaluate(LABELS)
    assert len(charts) == 13  # the twelve figures and the backlog
    for labels in charts:
        for label in labels:
            assert label["px"] >= 11.5, label
            assert -0.5 <= label["left"] and label["right"] <= label["width"] + 0.5, label
        ticks = sorted((label["left"], label["right"]) for label in labels if label["tick"])
        assert all(before[1] < after[0] for before, after in zip(ticks, ticks[1:])), ticks
    assert violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
