"""The inbox in a real browser: htmx redraws cards in place, permissions hide buttons,
in-flight actions cannot be doubled, the CSP holds, and the page works without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.wapikit import get_client
from tests.conftest import free_port
from tests.integration.conftest import (
    as_answered,
    conversations_with,
    ignored_notice,
    never_assigned_to,
    status_after,
    true_state,
)

pytestmark = pytest.mark.browser

ACTION_BUTTONS = ["Close", "Reopen", "Delete", "Reassign", "Unassign"]
STATUS_NOTE = "WapiKit has not been applying status changes."


def card_id(card) -> str:
    """The conversation's uuid, from the card's id attribute `c-<uuid>`."""
    return card.get_attribute("id").removeprefix("c-")


def first_card(page, status: str = "active"):
    card = page.locator(f"article.card.status-{status}").first
    expect(card).to_be_visible()
    return card


def button(scope, name: str):
    return scope.get_by_role("button", name=name, exact=True)


def answer_to(page, action: str):
    """Waits for the dashboard's answer to the POST of `action` triggered inside the block."""
    return page.expect_response(lambda r: r.request.method == "POST" and f"/{action}/" in r.url)


def current(sandbox, conversation_id: str) -> dict:
    """What the sandbox holds, as a spec answer would say it: the server's own answer for one
    conversation never names its assignee, so the sandbox's database is read instead."""
    return as_answered(true_state(sandbox, conversation_id))


def contact_name(sandbox, conversation_id: str) -> str:
    return next(c["contact"]["name"] for c in conversations_with(sandbox) if c["uniqueId"] == conversation_id)


def member_id(sandbox, name: str) -> str:
    members = sandbox.get("/organization/members", page=1, per_page=50)["members"]
    return next(m["uniqueId"] for m in members if m["name"] == name)


def assignable_card(page, sandbox, target: str):
    """The card of an unassigned Active conversation `target` never had (the server refuses
    to assign a member twice), which must be on the page shown."""
    cid = never_assigned_to(sandbox, member_id(sandbox, target))["uniqueId"]
    card = page.locator(f"#c-{cid}")
    expect(card).to_be_visible()
    return cid, card


def expect_ignored(card, status: str = "Active") -> None:
    """The card redrawn in its real state, saying that WapiKit applied nothing, and the page's
    note, which the card's buttons point at, in place from then on."""
    expect(card.locator(".badge")).to_have_text(status)
    expect(card.locator(".alert .alert-warning[role=alert]")).to_have_text(ignored_notice(status))
    expect(card.page.locator("#status-note")).to_contain_text("WapiKit has not been applying status changes.")
    for labelled in card.locator("[aria-describedby]").all():
        expect(labelled).to_have_attribute("aria-describedby", "status-note")


def test_manager_closes_a_conversation_and_its_card_redraws_in_place(signed_in, fresh_wapikit):
    page = signed_in("manager")
    url = page.url
    page.evaluate("window.__marker = 1")
    cid = card_id(first_card(page))
    name = contact_name(fresh_wapikit, cid)

    with answer_to(page, "close") as answer:
        button(page.locator(f"#c-{cid}"), "Close").click()

    assert answer.value.status == 200, f"close answered {answer.value.status}"
    card = page.locator(f"#c-{cid}")
    if fresh_wapikit.profile == "server":
        # The server accepts a close and applies nothing: the card says so, still Active.
        expect_ignored(card)
        expect(button(card, "Reopen")).to_have_count(0)
    else:
        expect(card.locator(".badge")).to_have_text("Closed")
        expect(card).to_contain_text(f"Closed the conversation with {name}")
        expect(button(card, "Reopen")).to_be_visible()
        expect(button(card, "Close")).to_have_count(0)
    assert page.url == url
    assert page.evaluate("window.__marker") == 1, "the page navigated instead of swapping the card"
    assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, "Closed", "Active")
    assert page.console_errors == []


def test_manager_reassigns_a_conversation_through_the_member_picker(signed_in, fresh_wapikit):
    page = signed_in("manager")
    target = "Mei Chen"
    cid, card = assignable_card(page, fresh_wapikit, target)

    button(card, "Reassign").click()
    picker = page.locator(f"#c-{cid} .picker-slot")
    with answer_to(page, "assign") as answer:
        button(picker, target).click()

    assert answer.value.status == 200, f"assign answered {answer.value.status}"

    expect(card.locator(".assignee")).to_contain_text(f"Assigned to {target}")
    expect(card).to_contain_text(f"to {target}.")
    assert current(fresh_wapikit, cid)["assignedTo"]["uniqueId"] == member_id(fresh_wapikit, target)
    assert page.console_errors == []


def test_manager_unassigns_an_assigned_conversation(signed_in, fresh_wapikit):
    page = signed_in("manager")
    assigned = page.locator("article.card").filter(has=button(page, "Unassign")).first
    expect(assigned).to_be_visible()
    cid = card_id(assigned)
    card = page.locator(f"#c-{cid}")

    with answer_to(page, "unassign") as answer:
        button(card, "Unassign").click()

    assert answer.value.status == 200, f"unassign answered {answer.value.status}"

    expect(card.locator(".assignee")).to_have_text("Unassigned")
    expect(button(card, "Unassign")).to_have_count(0)
    assert "assignedTo" not in current(fresh_wapikit, cid)
    assert page.console_errors == []


def test_owner_deletes_a_conversation_after_confirming(signed_in, fresh_wapikit):
    page = signed_in("owner")
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    cid = card_id(first_card(page))
    card = page.locator(f"#c-{cid}")

    with answer_to(page, "delete") as answer:
        button(card, "Delete").click()

    assert answer.value.status == 200, f"delete answered {answer.value.status}"

    if fresh_wapikit.profile == "server":
        # The server accepts a delete and applies nothing: the card stays, Active, and says so.
        expect_ignored(card)
        expect(button(card, "Delete")).to_be_visible()
    else:
        expect(card.locator(".badge")).to_have_text("Deleted")
        expect(card).to_contain_text("Deleted the conversation with")
        expect(button(card, "Delete")).to_have_count(0)
    assert len(dialogs) == 1 and dialogs[0].startswith("Delete this conversation?")
    assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, "Deleted", "Active")
    assert page.console_errors == []


def test_agent_sees_conversations_but_no_action_buttons(signed_in, wapikit):
    page = signed_in("agent")
    expect(page.locator("article.card").first).to_be_visible()
    assert page.locator("article.card").count() > 0
    for name in ACTION_BUTTONS:
        expect(button(page, name)).to_have_count(0)


def test_member_without_roles_is_told_why_and_sees_no_conversations(signed_in, wapikit):
    page = signed_in("norole")
    expect(page.get_by_role("alert")).to_contain_text("Your WapiKit role does not allow viewing conversations.")
    expect(page.locator("article.card")).to_have_count(0)


def test_clicked_button_is_disabled_while_its_action_is_in_flight(signed_in, fresh_wapikit):
    page = signed_in("manager")
    cid = card_id(first_card(page))
    card = page.locator(f"#c-{cid}")
    close = button(card, "Close")
    posts = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith(f"/conversations/{cid}/close/") and posts.append(r.url))

    fresh_wapikit.control(latency_ms=800)
    try:
        with answer_to(page, "close") as answer:
            close.click()
            expect(close).to_be_disabled(timeout=500)
            # A second click on the disabled button, and a scripted resubmit of its form, send nothing.
            close.click(force=True, timeout=1000)
            close.evaluate("button => button.form.requestSubmit()")
        assert answer.value.status == 200, f"close answered {answer.value.status}"
        if fresh_wapikit.profile == "server":
            # The server applies no close: its empty answer is read back (three calls at 800 ms).
            expect(card.locator(".alert-warning")).to_have_text(ignored_notice("Active"), timeout=5000)
            expect(card.locator(".badge")).to_have_text("Active")
            expect(button(card, "Close")).to_be_enabled()
        else:
            expect(card.locator(".badge")).to_have_text("Closed", timeout=5000)  # two sandbox calls at 800 ms
    finally:
        fresh_wapikit.control(latency_ms=0)

    assert posts == [posts[0]], f"expected one POST, saw {len(posts)}"
    assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, "Closed", "Active")


def test_inbox_has_no_console_errors_or_csp_violations(signed_in, wapikit):
    page = signed_in("manager")
    page.wait_for_load_state("networkidle")
    # Exercise htmx too: loading the member picker swaps server HTML into the page.
    cid = card_id(first_card(page))
    button(page.locator(f"#c-{cid}"), "Reassign").click()
    expect(page.locator(f"#c-{cid} .picker-slot button").first).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert page.evaluate("typeof htmx") == "object", "htmx did not load"
    assert page.console_errors == []
    assert not [m for m in page.console_messages_seen if "Content Security Policy" in m]
    assert page.evaluate("window.__cspViolations") == []
    assert page.failed_requests == []


def test_close_works_without_javascript_and_returns_to_the_same_view(signed_in, new_page, dashboard, fresh_wapikit):
    page = signed_in("manager", on=new_page(java_script_enabled=False))
    view = f"{dashboard}/?sort=oldest&per_page=50"
    page.goto(view)
    cid = card_id(first_card(page))

    with answer_to(page, "close") as answer:
        button(page.locator(f"#c-{cid}"), "Close").click()

    assert answer.value.status == 302, f"close answered {answer.value.status}, not a redirect"
    page.wait_for_url(view)  # the card form has no `next`: the browser's Referer says where it was
    if fresh_wapikit.profile == "server":
        # The server applies no close: a warning says so, and the inbox now warns about its buttons.
        expect(page.locator(".flash .flash-warning")).to_have_text(ignored_notice("Active"))
        expect(page.locator("#status-note")).to_contain_text(STATUS_NOTE)
        expect(button(page.locator(f"#c-{cid}"), "Close")).to_have_attribute("aria-describedby", "status-note")
    else:
        expect(page.locator(".flash")).to_contain_text("Closed the conversation with")
    assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, "Closed", "Active")


def test_reassign_works_without_javascript_through_the_picker_page(signed_in, new_page, dashboard, fresh_wapikit):
    page = signed_in("manager", on=new_page(java_script_enabled=False))
    view = f"{dashboard}/?view=unassigned"
    page.goto(view)
    cid, card = assignable_card(page, fresh_wapikit, "Priya Raman")

    button(card, "Reassign").click()
    expect(page.get_by_role("group", name=re.compile(r"^Reassign .+ to…$"))).to_be_visible()
    with answer_to(page, "assign") as answer:
        button(page, "Priya Raman").click()

    assert answer.value.status == 302
    page.wait_for_url(view)
    expect(page.locator(".flash")).to_contain_text("to Priya Raman")
    assert current(fresh_wapikit, cid)["assignedTo"]["uniqueId"] == member_id(fresh_wapikit, "Priya Raman")


def test_unreachable_wapikit_shows_an_error_on_the_card(signed_in, wapikit, settings):
    page = signed_in("manager")
    cid = card_id(first_card(page))
    card = page.locator(f"#c-{cid}")

    # The live server is a thread of this process: the member list stays cached, but every
    # WapiKit call now goes to a port where nothing listens.
    settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
    get_client.cache_clear()

    with answer_to(page, "close") as answer:
        button(card, "Close").click()

    assert answer.value.status == 502, f"close answered {answer.value.status}"
    expect(page.locator(f"#c-{cid} .alert")).to_contain_text("unreachable")
    expect(page.locator(f"#c-{cid} .alert [role=alert]")).to_be_visible()
    expect(button(card, "Close")).to_be_enabled()
    expect(card.locator(".badge")).to_have_text("Active")
    assert current(wapikit, cid)["status"] == "Active"


def test_filters_tabs_and_pages_swap_the_results_in_place_and_keep_the_address(signed_in, wapikit):
    page = signed_in("manager")
    page.evaluate("window.__marker = 42")
    results = page.locator("#results")

    page.get_by_role("navigation", name="Status").get_by_role("link", name="Closed").click()
    page.wait_for_url(re.compile(r"\?status=closed$"))
    expect(page.locator("article.card").first).to_be_visible()
    expect(page.locator("article.card:not(.status-closed)")).to_have_count(0)

    tabs = page.get_by_role("navigation", name="Whose conversations")
    expect(tabs.locator(".count").first).to_be_visible()  # the counts arrived and replaced the tabs
    tabs.get_by_role("link", name=re.compile("^Unassigned")).click()
    page.wait_for_url(re.compile(r"\?status=closed&view=unassigned$"))
    expect(page.locator(".assignee").first).to_have_text("Unassigned")
    expect(page.locator(".assignee:not(:has(.unassigned))")).to_have_count(0)

    page.get_by_role("navigation", name="Status").get_by_role("link", name="Active").click()
    page.wait_for_url(re.compile(r"\?view=unassigned$"))
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r"\?view=unassigned&page=2$"))
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 2 of")

    expect(results).to_have_count(1)  # each answer replaced the results, none nested inside them
    assert page.evaluate("window.__marker") == 42, "a link loaded a whole page instead of the results"

    # Back returns to the previous view, whole and once.
    page.go_back()
    page.wait_for_url(re.compile(r"\?view=unassigned$"))
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 1 of")
    expect(results).to_have_count(1)
    expect(page.locator("header.topbar")).to_have_count(1)
    assert page.failed_requests == []


def test_a_filter_clicked_while_wapikit_is_unreachable_says_so_in_place_of_the_results(signed_in, wapikit, settings):
    page = signed_in("manager")
    expect(page.locator("article.card").first).to_be_visible()
    settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
    get_client.cache_clear()

    page.get_by_role("navigation", name="Status").get_by_role("link", name="Closed").click()

    expect(page.locator("#results [role=alert]")).to_contain_text("Conversations could not be loaded.")
    expect(page.locator("#results [role=alert]")).to_contain_text("unreachable")
    expect(page.locator("#results")).to_have_count(1)
    expect(page.locator("header.topbar")).to_have_count(1)  # the answer is the results, not a page in the page
    expect(page.locator("#results").get_by_role("link", name="Try again")).to_be_visible()
