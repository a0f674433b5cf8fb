"""No axe-core violation of WCAG 2.2 A and AA on each page a manager meets, in the states that
matter: signed out, the inbox, the reassign picker open over it, a conversation, the workload,
the audit log, a bulk action's report, the status page, the profile page, the response targets
and routing (with errors too). axe-core comes bundled with axe-playwright-python (requirements-dev.txt) and is injected by the test, never served by the dashboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
STATES = [
    "login", "inbox", "picker", "conversation", "workload", "audit", "bulk-report", "status", "profile", "targets",
    "targets-errors", "routing", "routing-errors",
]


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}: {node['failureSummary']}"
        for v in results.response["violations"]
        for node in v["nodes"]
    ]


def reach(state: str, page, dashboard: str) -> None:
    """Bring the signed-in owner's page to `state`."""
    cards = page.locator("#cards article.card")
    expect(cards.first).to_be_visible()
    if state == "picker":
        card = cards.filter(has=page.get_by_role("button", name="Reassign", exact=True)).first
        card.get_by_role("button", name="Reassign", exact=True).click()
        expect(card.locator(".picker-search")).to_be_focused()
    elif state == "conversation":
        page.goto(dashboard + cards.first.locator("h2 a").get_attribute("href"))
        expect(page.locator("#thread")).to_be_visible()
    elif state == "workload":
        page.goto(f"{dashboard}/workload/")
        expect(page.locator("table.workload")).to_be_visible()
    elif state == "status":
        page.goto(f"{dashboard}/status/")
        expect(page.get_by_role("heading", name="Status")).to_be_visible()
    elif state == "profile":
        page.goto(f"{dashboard}/account/")
        expect(page.get_by_label("Time zone")).to_be_visible()
    elif state.startswith("targets"):
        page.goto(f"{dashboard}/settings/targets/")
        if state == "targets-errors":
            page.get_by_label("First response (minutes)").fill("-5")
            page.get_by_label("Day ends").fill("08:00")
            page.get_by_role("button", name="Save targets").click()
            expect(page.get_by_text("Nothing was saved.")).to_be_visible()
        expect(page.get_by_role("heading", name="Response targets")).to_be_visible()
    elif state.startswith("routing"):
        page.goto(f"{dashboard}/routing/")
        if state == "routing-errors":
            page.get_by_label("Name").fill("Nobody")
            page.get_by_role("button", name="Add rule").click()
            expect(page.get_by_text("Nothing was saved.")).to_be_visible()
        expect(page.locator("[data-preview]")).to_be_visible()
    elif state in ("audit", "bulk-report"):
        boxes = page.locator("#cards [name=ids]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.locator("#bulk").get_by_role("button", name="Close selected").click()
        expect(page.locator("#bulk-report .report")).to_be_visible(timeout=15_000)
        if state == "audit":
            page.goto(f"{dashboard}/audit/")
            expect(page.locator("table.audit tbody tr").first).to_be_visible()
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("state", STATES)
def test_no_wcag_violation(state, signed_in, page, dashboard, fresh_wapikit):
    if state == "login":
        page.goto(f"{dashboard}/accounts/login/")
    else:
        signed_in("owner")
        reach(state, page, dashboard)

    found = violations(page)

    assert found == [], "\n".join(found)
