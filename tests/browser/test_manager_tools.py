"""The manager's power tools in a real browser: bulk actions (select all matching, partial
failures and retrying them), keyboard shortcuts, and the live refresh of the inbox. Every test
also checks that nothing was logged to the console and no CSP violation happened."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

REFRESH_TIMEOUT_MS = 6_000  # a 1-second poll, plus the sandbox reads behind it


# Helpers


def card_id(card) -> str:
    return card.get_attribute("id").removeprefix("c-")


def cards_of(page):
    cards = page.locator("#cards article.card")
    expect(cards.first).to_be_visible()
    return cards


def bulk_button(page, name: str):
    return page.locator("#bulk").get_by_role("button", name=name, exact=True)


def bulk_answer(page):
    return page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/bulk/"))


def upstream(sandbox, conversation_id: str) -> dict:
    return sandbox.get(f"/conversation/{conversation_id}")["conversation"]


def all_upstream(sandbox, status: str) -> list[dict]:
    found, page = [], 1
    while True:
        answer = sandbox.get("/conversations", page=page, per_page=50, status=status, order="desc")
        found += answer["conversations"]
        if page * 50 >= answer["paginationMeta"]["total"]:
            return found
        page += 1


def members_by_name(sandbox) -> dict[str, str]:
    return {m["name"]: m["uniqueId"] for m in sandbox.get("/organization/members", page=1, per_page=50)["members"]}


def assert_no_console_errors_or_csp_violations(page) -> None:
    assert page.console_errors == [], page.console_errors
    assert not [m for m in page.console_messages_seen if "Content Security Policy" in m]
    assert page.evaluate("window.__cspViolations") == []


# 1. Select all matching, with its report


def test_bulk_close_of_all_matching_reports_redraws_and_reaches_wapikit(signed_in, fresh_wapikit, dashboard):
    page = signed_in("manager")
    page.goto(f"{dashboard}/?view=unassigned")
    cards = cards_of(page)
    expected = {c["uniqueId"] for c in all_upstream(fresh_wapikit, "Active") if "assignedTo" not in c}
    n = len(expected)
    assert 3 <= n <= 200, f"the unassigned view should hold a moderate number, not {n}"
    expect(page.locator("label", has=page.locator("#select-all"))).to_contain_text(f"Select all {n} matching")
    expect(page.locator("#bulk")).to_be_hidden()

    cards.nth(0).locator("[name=ids]").check()
    cards.nth(1).locator("[name=ids]").check()
    expect(page.locator("#bulk")).to_be_visible()
    expect(page.locator(".bulk-count")).to_have_text("2 selected")

    page.locator("#select-all").check()
    expect(page.locator("#bulk-count")).to_have_text(str(n))
    assert not expected & {c["uniqueId"] for c in all_upstream(fresh_wapikit, "Closed")}, "nothing runs before the click"
    on_screen = [card_id(cards.nth(i)) for i in range(cards.count())]

    with bulk_answer(page) as answer:
        bulk_button(page, "Close selected").click()
    assert answer.value.status == 200, f"bulk answered {answer.value.status}"

    expect(page.locator("#bulk-report h2")).to_contain_text(f"Close: {n} succeeded, 0 skipped, 0 failed of {n}")
    for cid in on_screen:  # every card on screen, ticked or not
        expect(page.locator(f"#c-{cid} .badge")).to_have_text("Closed")
    closed = {c["uniqueId"] for c in all_upstream(fresh_wapikit, "Closed")}
    assert expected <= closed, f"{len(expected - closed)} of {n} still not Closed upstream"
    assert_no_console_errors_or_csp_violations(page)


# 2. A partial failure, and retrying it


def test_bulk_close_with_one_failure_reports_the_reason_and_retries_it(signed_in, fresh_wapikit):
    page = signed_in("manager")
    cards = cards_of(page)
    chosen = [card_id(cards.nth(i)) for i in range(3)]
    for cid in chosen:
        page.locator(f"#c-{cid} [name=ids]").check()
    expect(page.locator(".bulk-count")).to_have_text("3 selected")

    fresh_wapikit.control(fault="status_500", fault_methods=["POST"], fault_times=1)
    try:
        with bulk_answer(page) as answer:
            bulk_button(page, "Close selected").click()
        assert answer.value.status == 200, f"bulk answered {answer.value.status}"
    finally:
        fresh_wapikit.control(fault="none")

    report = page.locator("#bulk-report")
    expect(report.locator("h2")).to_contain_text("Close: 2 succeeded, 0 skipped, 1 failed of 3")
    failures = report.locator(".failures li")
    expect(failures).to_have_count(1)
    expect(failures).to_have_text(re.compile(r".+: \S.+"))  # who, then why
    statuses = {cid: upstream(fresh_wapikit, cid)["status"] for cid in chosen}
    failed = [cid for cid, status in statuses.items() if status == "Active"]
    assert len(failed) == 1, statuses
    for cid in chosen:
        expect(page.locator(f"#c-{cid} .badge")).to_have_text(statuses[cid])

    with bulk_answer(page) as answer:
        report.get_by_role("button", name="Retry the 1 failed").click()
    assert answer.value.status == 200, f"retry answered {answer.value.status}"

    expect(report.locator("h2")).to_contain_text("Close: 1 succeeded, 0 skipped, 0 failed of 1")
    expect(report.get_by_role("button", name=re.compile("Retry"))).to_have_count(0)
    assert upstream(fresh_wapikit, failed[0])["status"] == "Closed"
    assert_no_console_errors_or_csp_violations(page)


# 3. Keyboard shortcuts


def test_keyboard_shortcuts_move_select_close_reassign_help_and_open(signed_in, fresh_wapikit, dashboard):
    page = signed_in("manager")
    page.mouse.move(1, 1)
    cards = cards_of(page)
    first, second = card_id(cards.nth(0)), card_id(cards.nth(1))
    keys = page.keyboard

    keys.press("j")
    keys.press("j")
    expect(page.locator(f"#c-{second}")).to_be_focused()
    expect(page.locator(f"#c-{second}")).to_have_class(re.compile(r"\bkb-focus\b"))
    expect(page.locator(".card.kb-focus")).to_have_count(1)

    keys.press("x")
    expect(page.locator(f"#c-{second} [name=ids]")).to_be_checked()
    expect(page.locator(".bulk-count")).to_have_text("1 selected")

    with page.expect_response(lambda r: r.request.method == "POST" and f"/{second}/close/" in r.url) as answer:
        keys.press("c")
    assert answer.value.status == 200
    expect(page.locator(f"#c-{second} .badge")).to_have_text("Closed")
    assert upstream(fresh_wapikit, second)["status"] == "Closed"

    keys.press("k")
    expect(page.locator(f"#c-{first}")).to_be_focused()

    keys.press("a")
    search = page.locator(f"#c-{first} .picker-slot .picker-search")
    expect(search).to_be_focused()
    items = page.locator(f"#c-{first} .picker-slot li")
    total = items.count()
    assert total > 2
    keys.type("mei")
    expect(items.filter(has_text="Mei Chen")).to_be_visible()
    expect(page.locator(f"#c-{first} .picker-slot li:visible")).to_have_count(1)

    # Typing inside the search is typing, not a shortcut.
    keys.press("Backspace")
    keys.press("Backspace")
    keys.press("Backspace")
    keys.type("j")
    expect(search).to_have_value("j")
    expect(search).to_be_focused()
    expect(page.locator(f"#c-{first}")).to_have_class(re.compile(r"\bkb-focus\b"))
    expect(page.locator(f"#c-{second}")).not_to_have_class(re.compile(r"\bkb-focus\b"))

    keys.press("Escape")  # closes the picker; focus goes back to the card's Reassign button
    expect(page.locator(f"#c-{first} .picker-dialog")).to_have_count(0)
    expect(page.locator(f"#c-{first}").get_by_role("button", name="Reassign", exact=True)).to_be_focused()
    keys.press("?")
    help_dialog = page.locator("dialog#shortcuts")
    expect(help_dialog).to_be_visible()
    for key in ("j / k", "Enter", "c", "o", "a", "x", "?"):
        expect(help_dialog.locator("dt", has_text=key).first).to_be_visible()
    help_dialog.get_by_role("button", name="Close this list").click()
    expect(help_dialog).to_be_hidden()

    keys.press("k")  # from the Reassign button: its own card
    expect(page.locator(f"#c-{first}")).to_be_focused()
    keys.press("Enter")
    page.wait_for_url(f"{dashboard}/conversations/{first}/")
    assert_no_console_errors_or_csp_violations(page)


def test_agent_pressing_c_on_a_focused_card_sends_nothing(signed_in, wapikit):
    page = signed_in("agent")
    page.mouse.move(1, 1)
    cards = cards_of(page)
    cid = card_id(cards.nth(0))
    badge = upstream(wapikit, cid)["status"]
    sent = []
    page.on("request", lambda r: (r.method == "POST" or "/conversations/" in r.url) and sent.append(f"{r.method} {r.url}"))

    page.keyboard.press("j")
    expect(page.locator(f"#c-{cid}")).to_be_focused()
    for key in ("c", "o", "a", "x"):
        page.keyboard.press(key)
    page.wait_for_timeout(500)

    assert sent == []
    expect(page.locator(f"#c-{cid} .badge")).to_have_text(badge)
    expect(page.locator(f"#c-{cid}")).to_be_focused()
    assert upstream(wapikit, cid)["status"] == badge
    assert_no_console_errors_or_csp_violations(page)


# 4. Live refresh


def other_member(sandbox, conversation_id: str) -> tuple[str, str]:
    current = (upstream(sandbox, conversation_id).get("assignedTo") or {}).get("name")
    name = next(n for n in ("Mei Chen", "Priya Raman") if n != current)
    return name, members_by_name(sandbox)[name]


def test_live_refresh_redraws_a_card_changed_elsewhere_and_is_quiet_otherwise(signed_in, fresh_wapikit, settings):
    settings.INBOX_REFRESH_SECONDS = 1
    page = signed_in("manager")
    page.mouse.move(1, 1)
    polls = []
    page.on("response", lambda r: "/inbox/changes/" in r.url and polls.append(r))
    cards = cards_of(page)
    expect(page.locator("#cards")).to_have_attribute("data-refresh-seconds", "1")
    url = page.url
    page.evaluate("window.__marker = 42")
    cid = card_id(cards.nth(0))
    name, member_id = other_member(fresh_wapikit, cid)

    response = fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": member_id})
    assert response.ok, response.text
    expect(page.locator(f"#c-{cid} .assignee")).to_contain_text(f"Assigned to {name}", timeout=REFRESH_TIMEOUT_MS)
    assert page.evaluate("window.__marker") == 42, "the page reloaded instead of redrawing the card"
    assert page.url == url
    assert any(p.status == 200 for p in polls), "the redraw came from a poll"

    # A conversation closed elsewhere leaves the Active view: its card says so and stays put.
    gone = card_id(cards.nth(1))
    assert fresh_wapikit.post(f"/conversation/{gone}", {"status": "Closed"}).ok
    expect(page.locator(f"#c-{gone} .alert")).to_contain_text("left this view", timeout=REFRESH_TIMEOUT_MS)
    expect(page.locator(f"#c-{gone} .badge")).to_have_text("Active")

    # Nothing changes now: every later poll is an empty 204.
    settled = len(polls)
    deadline = time.monotonic() + 6
    while len(polls) < settled + 2 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    later = polls[settled:]
    assert len(later) >= 2, f"expected polls every second, saw {len(later)}"
    assert [p.status for p in later] == [204] * len(later)
    assert all(p.body() == b"" for p in later)
    assert_no_console_errors_or_csp_violations(page)


def test_live_refresh_leaves_hovered_and_focused_cards_alone(signed_in, fresh_wapikit, settings):
    settings.INBOX_REFRESH_SECONDS = 1
    page = signed_in("manager")
    page.mouse.move(1, 1)
    polls = []
    page.on("response", lambda r: "/inbox/changes/" in r.url and polls.append(r))
    cards = cards_of(page)
    hovered, focused = card_id(cards.nth(1)), card_id(cards.nth(2))
    page.locator(f"#c-{hovered} .counts").hover()
    page.locator(f"#c-{focused} h2 a").focus()
    before = {cid: page.locator(f"#c-{cid}").get_attribute("data-v") for cid in (hovered, focused)}
    target = {}
    for cid in (hovered, focused):
        target[cid], member_id = other_member(fresh_wapikit, cid)
        assert fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": member_id}).ok

    start = len(polls)
    deadline = time.monotonic() + 6
    while len(polls) < start + 3 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(polls) >= start + 3, f"expected polls every second, saw {len(polls) - start}"
    for cid in (hovered, focused):
        assert all(cid in p.url.split("busy=")[-1] for p in polls[start:]), f"{cid} should be reported busy"
        expect(page.locator(f"#c-{cid}")).to_have_attribute("data-v", before[cid], timeout=100)
        expect(page.locator(f"#c-{cid} .assignee")).not_to_contain_text(f"Assigned to {target[cid]}", timeout=100)
    expect(page.locator(f"#c-{focused} h2 a")).to_be_focused()

    # Let go of both: the next poll redraws them.
    page.mouse.move(1, 1)
    page.locator("#q").focus()
    page.keyboard.press("Escape")
    for cid in (hovered, focused):
        expect(page.locator(f"#c-{cid} .assignee")).to_contain_text(f"Assigned to {target[cid]}", timeout=REFRESH_TIMEOUT_MS)
    assert_no_console_errors_or_csp_violations(page)
