"""What a manager meets on screen: the reassign picker as a dialog over its card, driven from
the keyboard; a top bar that offers only the pages the user may open and fits a phone; an audit
log whose columns fit their content; no page that scrolls sideways at 390 px."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import get_client
from tests.browser.test_inbox import answer_to, assignable_card, button, current, member_id
from tests.conftest import free_port

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# API tokens are everyone's: a token never does more than its owner's role allows.
# The profile (the user's time zone) is everyone's too.
TOP_BAR_LINKS = ("Workload", "Audit log", "Status", "Targets", "Routing", "Reports", "API tokens", "Profile")


def picker_of(page, cid: str):
    return page.locator(f"#c-{cid} dialog.picker-dialog")


def open_picker(page, card, cid: str):
    button(card, "Reassign").click()
    dialog = picker_of(page, cid)
    expect(dialog).to_be_visible()
    expect(dialog.locator(".picker-search")).to_be_focused()
    return dialog


def row_heights(page, cid: str) -> list[float]:
    """The heights of the cards in the row of card `cid`."""
    return page.evaluate(
        """(cid) => {
          const top = document.getElementById("c-" + cid).getBoundingClientRect().top;
          return Array.from(document.querySelectorAll("#cards .card"))
            .filter((c) => Math.abs(c.getBoundingClientRect().top - top) < 1)
            .map((c) => c.getBoundingClientRect().height);
        }""",
        cid,
    )


def top_bar_links(page) -> list[str]:
    return [t.strip() for t in page.locator("header.topbar nav a").all_inner_texts()]


# The reassign picker


def test_the_picker_opens_as_a_dialog_over_the_card_and_its_row_keeps_its_size(signed_in, fresh_wapikit):
    page = signed_in("manager")
    cid, card = assignable_card(page, fresh_wapikit, "Mei Chen")
    before = row_heights(page, cid)

    dialog = open_picker(page, card, cid)

    assert dialog.evaluate("d => d.open && d.matches(':modal')")
    assert row_heights(page, cid) == before
    # Placed at its card (over it, from the left edge of the card where it fits), inside the window.
    box, at = dialog.bounding_box(), card.bounding_box()
    assert 0 <= box["x"] <= at["x"] + at["width"] and box["x"] + box["width"] <= 1280
    assert 0 <= box["y"] and box["y"] + box["height"] <= 720
    # One row per member: the name, open count, roles and warnings side by side.
    for row in dialog.locator(".picker-member").all():
        name, about = row.locator("button").bounding_box(), row.locator(".roles").bounding_box()
        assert abs(name["y"] - about["y"]) < name["height"], row.inner_text()
        assert about["height"] < 2.2 * 16, f"roles wrap: {row.inner_text()}"


def test_the_picker_is_driven_from_the_keyboard(signed_in, fresh_wapikit):
    page = signed_in("manager")
    target = "Mei Chen"
    cid, card = assignable_card(page, fresh_wapikit, target)
    keys = page.keyboard

    dialog = open_picker(page, card, cid)
    members = dialog.locator(".picker-member button:enabled")
    keys.press("ArrowDown")
    expect(members.nth(0)).to_be_focused()
    keys.press("ArrowDown")
    expect(members.nth(1)).to_be_focused()
    keys.press("ArrowUp")
    keys.press("ArrowUp")
    expect(dialog.locator(".picker-search")).to_be_focused()
    # Shortcuts are off inside the picker: "c" is typed, not a Close.
    keys.type("c")
    expect(dialog.locator(".picker-search")).to_have_value("c")
    expect(card.locator(".badge")).to_have_text("Active")

    keys.press("Escape")
    expect(dialog).to_have_count(0)
    expect(button(card, "Reassign")).to_be_focused()

    # Enter on a member the arrows reached assigns it, and the card redraws.
    dialog = open_picker(page, card, cid)
    keys.type(target[:3].lower())
    keys.press("ArrowDown")
    expect(dialog.locator(".picker-member:visible button")).to_have_text(target)
    with answer_to(page, "assign") as answer:
        keys.press("Enter")
    assert answer.value.status == 200
    expect(card.locator(".assignee")).to_contain_text(f"Assigned to {target}")
    expect(picker_of(page, cid)).to_have_count(0)
    assert current(fresh_wapikit, cid)["assignedTo"]["uniqueId"] == member_id(fresh_wapikit, target)
    assert page.console_errors == []


def test_enter_in_the_search_assigns_the_first_member_that_matches(signed_in, fresh_wapikit):
    page = signed_in("manager")
    target = "Priya Raman"
    cid, card = assignable_card(page, fresh_wapikit, target)

    open_picker(page, card, cid)
    page.keyboard.type("priya")
    with answer_to(page, "assign") as answer:
        page.keyboard.press("Enter")

    assert answer.value.status == 200
    expect(card.locator(".assignee")).to_contain_text(f"Assigned to {target}")
    expect(page.locator(f"#c-{cid} .alert p")).to_be_focused()


def test_cancel_closes_the_picker_and_returns_to_reassign(signed_in, fresh_wapikit):
    page = signed_in("manager")
    cid, card = assignable_card(page, fresh_wapikit, "Mei Chen")

    dialog = open_picker(page, card, cid)
    dialog.get_by_role("button", name="Cancel").click()

    expect(dialog).to_have_count(0)
    expect(button(card, "Reassign")).to_be_focused()


# The top bar


def test_an_agent_sees_no_workload_audit_or_status_links(signed_in, wapikit, dashboard):
    page = signed_in("agent")
    assert top_bar_links(page) == ["Reports", "API tokens", "Profile"]
    expect(page.locator("header.topbar")).to_contain_text("agent@example.com")
    page.goto(f"{dashboard}/conversations/{page.locator('#cards .card').first.get_attribute('id')[2:]}/")
    assert top_bar_links(page) == ["Reports", "API tokens", "Profile"]


def test_a_manager_sees_workload_only(signed_in, wapikit, dashboard):
    page = signed_in("manager")
    assert top_bar_links(page) == ["Workload", "Reports", "API tokens", "Profile"]
    page.goto(f"{dashboard}/workload/")
    expect(page.locator("header.topbar nav a[aria-current=page]")).to_have_text("Workload")


def test_an_owner_sees_workload_audit_and_status(signed_in, wapikit, dashboard):
    page = signed_in("owner")
    assert top_bar_links(page) == list(TOP_BAR_LINKS)
    # On pages whose view reads no powers too.
    page.goto(f"{dashboard}/audit/")
    assert top_bar_links(page) == list(TOP_BAR_LINKS)
    expect(page.locator("header.topbar nav a[aria-current=page]")).to_have_text("Audit log")


def test_while_wapikit_is_down_staff_see_only_what_needs_no_wapikit_answer(
    signed_in, wapikit, dashboard, django_user_model, settings
):
    page = signed_in("staff@example.com")
    django_user_model.objects.filter(email="staff@example.com").update(is_staff=True)
    settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
    get_client.cache_clear()
    cache.clear()

    answer = page.goto(f"{dashboard}/audit/")

    assert answer.status == 200
    assert top_bar_links(page) == ["Audit log", "Status", "Targets", "Routing", "API tokens", "Profile"]


# Layout


def test_the_audit_log_columns_fit_their_content(signed_in, fresh_wapikit, dashboard, new_page):
    page = signed_in("owner", on=new_page(viewport={"width": 1440, "height": 900}))
    conversation_id = "6e67c6e3-2e71-4bf2-921d-cb277f8941a9"
    AuditEntry.objects.create(
        user_email="a.very.long.email.address.for.a.manager@example.com", member_name="Amara Okafor",
        conversation_id=conversation_id, contact_name="Letícia Araújo", action="close", via="card",
        before_status="Active", before_assignee_name="Lucas Moreau", after_status="Closed",
        after_assignee_name="Lucas Moreau", outcome="succeeded",
        detail="WapiKit answered 200 and the conversation is closed",
    )
    page.goto(f"{dashboard}/audit/")

    # Each header and each word of a cell on one line: a word never breaks inside.
    single_line = page.evaluate(
        """() => Array.from(document.querySelectorAll("table.audit th, table.audit td > .nowrap, table.audit td.nowrap"))
             .filter((e) => {
               const range = document.createRange();
               range.selectNodeContents(e);
               return new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top))).size > 1;
             })
             .map((e) => e.textContent.trim())"""
    )
    assert single_line == [], f"broken across lines: {single_line}"
    email = page.locator("table.audit tbody td bdi", has_text="a.very.long.email").first
    assert email.evaluate("e => e.getClientRects().length") == 1
    link = page.locator(f"table.audit a[href='/conversations/{conversation_id}/']")
    expect(link).to_have_text("6e67c6e3…")
    expect(link).to_have_attribute("title", conversation_id)
    csv = page.request.get(f"{dashboard}/audit/?format=csv").text()
    assert conversation_id in csv


def test_the_top_bar_fits_a_phone_with_sign_out_on_screen(signed_in, wapikit, new_page):
    page = signed_in("owner", on=new_page(viewport=PHONE))

    sign_out = page.get_by_role("button", name="Sign out")
    box = sign_out.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator(".who")).to_have_attribute("title", "owner@example.com · Amara Okafor")


def test_no_page_scrolls_sideways_on_a_phone(signed_in, fresh_wapikit, dashboard, new_page, django_user_model):
    page = signed_in("owner", on=new_page(viewport=PHONE))
    widths: dict[str, int] = {}

    def measure(name: str) -> None:
        page.wait_for_load_state("networkidle")
        widths[name] = page.evaluate("document.documentElement.scrollWidth")

    measure("inbox")
    card = page.locator("#cards article.card").filter(has=button(page, "Reassign")).first
    cid = card.get_attribute("id")[2:]
    open_picker(page, card, cid)
    measure("inbox with the picker open")
    box = picker_of(page, cid).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.keyboard.press("Escape")

    page.goto(dashboard + card.locator("h2 a").get_attribute("href"))
    measure("conversation")
    page.goto(f"{dashboard}/workload/")
    measure("workload")
    page.goto(f"{dashboard}/?view=all")
    boxes = page.locator("#cards [name=ids]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("#bulk").get_by_role("button", name="Close selected").click()
    expect(page.locator("#bulk-report .report")).to_be_visible(timeout=15_000)
    measure("bulk report")
    page.goto(f"{dashboard}/audit/")
    expect(page.locator("table.audit tbody tr").first).to_be_visible()
    measure("audit")
    page.goto(f"{dashboard}/status/")
    measure("status")
    page.goto(f"{dashboard}/account/")
    measure("profile")
    page.goto(f"{dashboard}/settings/targets/")
    measure("targets")
    page.goto(f"{dashboard}/reference-that-does-not-exist/")
    measure("not found")

    # A long email (staff, so that the audit log still opens), cut with an ellipsis rather
    # than pushing Sign out away.
    django_user_model.objects.filter(email="owner@example.com").update(
        email="a.very.long.email.address.for.this.owner@example.com", is_staff=True
    )
    page.goto(f"{dashboard}/audit/")
    measure("audit, long email")
    sign_out = page.get_by_role("button", name="Sign out").bounding_box()
    assert sign_out["x"] + sign_out["width"] <= 390
    email = page.locator(".who-email")
    assert email.evaluate("e => e.scrollWidth > e.clientWidth"), "the long email is not cut"
    expect(page.locator(".who")).to_have_attribute("title", "a.very.long.email.address.for.this.owner@example.com")

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{dashboard}/accounts/login/")
    measure("login")

    assert {name: w for name, w in widths.items() if w > 390} == {}
