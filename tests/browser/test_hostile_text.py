"""Hostile text from WapiKit, in a real browser: the sandbox's newest conversations, members,
roles and tags are filled with script, markup, template code, direction overrides and
formulas (`devtools/sandbox/hostile.py`), and an owner walks the inbox, a conversation page,
the reassign picker, role details, one action and the audit log.

Nothing may run (`window.__pwned` stays undefined, no dialog opens, no CSP violation is even
attempted), nothing may become markup (no `javascript:` links, no event handlers, no injected
elements), every string must read as the literal text it is, and a right-to-left override
must not reorder the text around it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.conversations.models import AuditEntry
from devtools.sandbox.hostile import HOSTILE, RLO
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

COUNTS_FILE = ROOT / "var" / "security-counts.txt"

# Elements that only an injected payload could have put there (the app renders none of them).
INJECTED = (
    "iframe, svg, img, math, object, embed, body style, meta[http-equiv], "
    "[hx-get='/accounts/logout/'], [hx-on\\:htmx\\:load], details[ontoggle], form[action^='javascript' i]"
)

# Everything a page may not contain, collected in the page itself.
SCAN_DOM = """() => {
  const bad = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.trim().toLowerCase();
      if (name.startsWith("on")) bad.push(`${el.tagName} ${name}=`);
      if (["href", "src", "action", "formaction", "xlink:href", "data"].includes(name)
          && (value.startsWith("javascript:") || value.startsWith("data:text/html") || value.startsWith("vbscript:")))
        bad.push(`${el.tagName} ${name}=${attr.value}`);
    }
  }
  for (const script of document.scripts) {
    if (!script.src || script.textContent.trim()) bad.push("inline script: " + script.textContent.slice(0, 60));
  }
  return bad;
}"""

# For each text node holding a right-to-left override: find the element that ends its effect
# (the nearest ancestor that isolates, i.e. unicode-bidi isolate/isolate-override/plaintext or a
# <bdi>, or that starts a new bidi paragraph: anything not display:inline). An override reorders
# what follows it up to there; it is contained when no other text follows it in that element.
RLO_LEAKS = """(value) => {
  const rlo = value[0];
  const leaks = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.includes(rlo)) continue;
    if (node.parentElement.closest("select, script, style, textarea, title")) continue;
    let box = node.parentElement;
    let how = "";
    while (box !== document.body) {
      const style = getComputedStyle(box);
      if (["isolate", "isolate-override", "plaintext"].includes(style.unicodeBidi) || box.tagName === "BDI") {
        how = "unicode-bidi: " + style.unicodeBidi; break;
      }
      if (style.display !== "inline" && style.display !== "contents") { how = "display: " + style.display; break; }
      box = box.parentElement;
    }
    const after = document.createRange();
    after.setStart(node, node.length);
    after.setEnd(box, box.childNodes.length);
    // The value may share its text node with the app's own words ("Closed the conversation with …").
    const end = node.data.indexOf(value) >= 0 ? node.data.indexOf(value) + value.length : node.data.lastIndexOf(rlo) + 1;
    const following = (node.data.slice(end) + after.toString()).trim();
    if (following) {
      const where = box.tagName.toLowerCase() + (box.className ? "." + String(box.className).trim().split(/\\s+/).join(".") : "");
      leaks.push(`${where} (${how}): ${JSON.stringify(box.textContent.trim().slice(0, 90))} reorders ${JSON.stringify(following.slice(0, 40))}`);
    }
  }
  return leaks;
}"""


RLO_VALUE = next(s for s in HOSTILE if s.startswith(RLO))


def squash(text: str) -> str:
    return " ".join(text.split())


def _write_count(prefix: str, value: int) -> None:
    """Keep one `prefix: value` line in the shared counts file, leaving the other lines alone."""
    COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    lines = COUNTS_FILE.read_text().splitlines() if COUNTS_FILE.exists() else []
    lines = [line for line in lines if not line.startswith(prefix + ":")]
    lines.append(f"{prefix}: {value}")
    COUNTS_FILE.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module", autouse=True)
def report_count(request):
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nHOSTILE STRINGS: {len(HOSTILE)}")
    _write_count("HOSTILE STRINGS", len(HOSTILE))


@pytest.fixture
def hostile(wapikit):
    """The sandbox with the corpus planted (in a subprocess, against the sandbox's database);
    the ordinary demo data is put back afterwards."""
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_hostile", "--json"],
        cwd=ROOT, env=wapikit.env, capture_output=True, text=True,
    )
    assert result.returncode == 0, f"seed_hostile failed:\n{result.stderr[-2000:]}"
    planted = json.loads(result.stdout)
    try:
        yield planted
    finally:
        wapikit.reseed()


@pytest.fixture
def watched(page):
    """The page, with every dialog recorded (and dismissed, so nothing hangs)."""
    page.dialogs = []

    def on_dialog(dialog):
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


def assert_inert(page, where: str) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof window.__pwned") == "undefined", f"a payload ran on {where}"
    assert page.dialogs == [], f"a dialog opened on {where}: {page.dialogs}"
    assert page.evaluate("window.__cspViolations") == [], f"something tried to run on {where}"
    assert page.evaluate(SCAN_DOM) == [], where
    assert page.locator(INJECTED).count() == 0, f"injected elements on {where}"
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 1, f"signed out by a payload on {where}"
    assert [e for e in page.console_errors if "pageerror" in e or "Content Security Policy" in e] == [], where


def visible_text(page) -> str:
    return squash(page.locator("body").inner_text())


def hostile_audit_rows(planted: dict) -> None:
    """Audit rows carry WapiKit text too (contact and member names, details): one per string."""
    cid = planted["conversations"][0]["id"]
    for text in HOSTILE:
        AuditEntry(
            user_email="manager@example.com", member_name=text, conversation_id=cid, contact_name=text,
            action="close", via=AuditEntry.Via.CARD, before_status="Active", before_assignee_name=text,
            after_status="Closed", after_assignee_name=text, outcome=AuditEntry.Outcome.FAILED,
            error_kind="server_error", detail=text, completed_at=timezone.now(),
        ).save()


def test_hostile_text_stays_text_everywhere(watched, signed_in, dashboard, hostile):
    page = watched
    planted = hostile["conversations"]
    by_contact = {c["contact"]: c["id"] for c in planted}
    assert len(planted) >= 8 and RLO_VALUE in by_contact

    # The inbox: the planted conversations come first, their names read literally.
    signed_in("owner", on=page)
    assert_inert(page, "the inbox")
    for contact, cid in by_contact.items():
        name = page.locator(f"#c-{cid} h2")
        expect(name).to_be_visible()
        assert squash(name.inner_text()) == squash(contact)
    text = visible_text(page)
    assert "<script>window.__pwned=1</script>" in text
    assert "{{ 7*7 }}" in text
    assert "{% debug %}" in text and "{{ settings.SECRET_KEY }}" in text

    # A conversation page: every string of the corpus is one of its messages.
    cid = by_contact[HOSTILE[0]]
    page.locator(f"#c-{cid} h2 a").click()
    page.wait_for_url(re.compile(rf".*/conversations/{cid}/$"))
    assert_inert(page, "the conversation page")
    text = visible_text(page)
    missing = [s for s in HOSTILE if squash(s) not in text]
    assert missing == [], f"not shown as text: {missing}"
    assert "Photo" in text and "Document" in text and "Location" in text and "Reacted" in text
    assert page.locator(".thread a").count() == 0, "a javascript:/data: media link became a link"

    # The reassign picker: members' names, literally.
    card = page.locator(f"#c-{cid}")
    card.get_by_role("button", name="Reassign", exact=True).click()
    picker = card.locator(".picker")
    expect(picker.locator("button").first).to_be_visible()
    assert_inert(page, "the reassign picker")
    picker_text = squash(picker.inner_text())
    member_names = [HOSTILE[i % len(HOSTILE)] for i in range(hostile["members"])]  # as plant() names them
    for name in member_names:
        assert squash(name) in picker_text
    page.keyboard.press("Escape")  # the picker is a modal dialog: the card is behind it
    expect(picker).to_have_count(0)

    # Role details of the assignee, expanded.
    roles = card.locator("details.role")
    assert roles.count() >= 1
    for i in range(roles.count()):
        roles.nth(i).locator("summary").click()
        expect(roles.nth(i)).to_have_attribute("open", "")
        role_names = [squash(HOSTILE[n % len(HOSTILE)]) for n in range(hostile["roles"])]
        assert squash(roles.nth(i).locator("summary").inner_text()) in role_names
    assert_inert(page, "the expanded role details")

    # One action on a hostile conversation, then the audit log that recorded it.
    page.goto(f"{dashboard}/")
    target = by_contact["{{ 7*7 }}"]
    page.locator(f"#c-{target}").get_by_role("button", name="Close", exact=True).click()
    expect(page.locator(f"#c-{target} .badge")).to_have_text("Closed")
    expect(page.locator(f"#c-{target}")).to_contain_text("Closed the conversation with {{ 7*7 }}.")
    assert_inert(page, "the redrawn card")

    recorded = AuditEntry.objects.get(conversation_id=target)
    assert (recorded.contact_name, recorded.member_name, recorded.outcome) == ("{{ 7*7 }}", HOSTILE[0], "succeeded")
    page.goto(f"{dashboard}/audit/")
    assert_inert(page, "the audit log")
    row = page.locator("table.audit tbody tr").filter(has=page.locator(f"a[href='/conversations/{target}/']"))
    expect(row).to_have_count(1)
    row_text = squash(row.inner_text())
    # Not 49 as a template would render it; the row's time and the conversation's short id may
    # hold those digits (CI's run met 12:49).
    rendered = re.sub(r"\b\d\d:\d\d(:\d\d)?\b|\b[0-9a-f]{8}…", "", row_text)
    assert "{{ 7*7 }}" in row_text and "49" not in rendered
    assert squash(HOSTILE[0]) in row_text  # the owner's member name

    # Every string, in every audit column that shows WapiKit text.
    hostile_audit_rows(hostile)
    page.reload()
    assert_inert(page, "the audit log with hostile rows")
    text = visible_text(page)
    missing = [s for s in HOSTILE if squash(s) not in text]
    assert missing == [], f"not shown as text on the audit page: {missing}"


# Which isolation keeps an override found inside `el` to itself: a <bdi>, an isolating
# `unicode-bidi`, or "none".
ISOLATION = """(el) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.includes("\\u202e")) continue;
    for (let box = node.parentElement; box && box !== el.parentElement; box = box.parentElement) {
      if (box.tagName === "BDI") return "bdi";
      const bidi = getComputedStyle(box).unicodeBidi;
      if (["isolate", "isolate-override", "plaintext"].includes(bidi)) return bidi;
    }
    return "none";
  }
  return "no override here";
}"""


def test_rlo_in_a_contact_name_is_isolated_on_its_card(watched, signed_in, dashboard, hostile):
    """The card's name, phone and tags keep an override to themselves (a <bdi> or an isolating
    `unicode-bidi`), and nothing else on the inbox is reordered by one."""
    page = watched
    by_contact = {c["contact"]: c["id"] for c in hostile["conversations"]}
    cid = by_contact[RLO_VALUE]
    signed_in("owner", on=page)
    card = page.locator(f"#c-{cid}")
    assert RLO in card.locator("h2").text_content()
    assert card.locator("h2").evaluate(ISOLATION) in ("bdi", "isolate", "isolate-override", "plaintext")
    for selector in (".phone", ".tags li"):
        for element in page.locator(selector).all():
            assert element.evaluate(ISOLATION) in ("bdi", "isolate", "isolate-override", "plaintext", "no override here")
    assert page.evaluate(RLO_LEAKS, RLO_VALUE) == []


def test_rlo_is_contained_everywhere(watched, signed_in, dashboard, hostile):
    page = watched
    by_contact = {c["contact"]: c["id"] for c in hostile["conversations"]}
    cid = by_contact[RLO_VALUE]
    hostile_audit_rows(hostile)
    leaks: dict[str, list[str]] = {}

    signed_in("owner", on=page)
    leaks["inbox"] = page.evaluate(RLO_LEAKS, RLO_VALUE)

    page.goto(f"{dashboard}/conversations/{cid}/")
    card = page.locator(f"#c-{cid}")
    # Roles first: the picker is a modal dialog, and the card is behind it once it is open.
    for summary in card.locator("details.role summary").all():
        summary.click()
    card.get_by_role("button", name="Reassign", exact=True).click()
    expect(card.locator(".picker button").first).to_be_visible()
    leaks["conversation page, picker, roles"] = page.evaluate(RLO_LEAKS, RLO_VALUE)
    page.keyboard.press("Escape")

    card.get_by_role("button", name="Close", exact=True).click()
    expect(page.locator(f"#c-{cid} .badge")).to_have_text("Closed")
    leaks["redrawn card"] = page.evaluate(RLO_LEAKS, RLO_VALUE)

    page.goto(f"{dashboard}/audit/")
    leaks["audit log"] = page.evaluate(RLO_LEAKS, RLO_VALUE)

    found = {where: found for where, found in leaks.items() if found}
    assert found == {}, "\n".join(f"{where}: {leak}" for where, items in found.items() for leak in items)


def test_a_bulk_action_on_hostile_conversations_reports_them_as_text(watched, signed_in, dashboard, hostile):
    page = watched
    chosen = hostile["conversations"][:3]
    signed_in("owner", on=page)
    for conversation in chosen:
        page.locator(f"#c-{conversation['id']} input[name=ids]").check()
    page.get_by_role("button", name="Close selected").click()
    report = page.locator("#bulk-report")
    expect(report).to_contain_text("3 succeeded")
    for conversation in chosen:
        expect(page.locator(f"#c-{conversation['id']} .badge")).to_have_text("Closed")
    report.locator("summary").first.click()
    report_text = squash(report.inner_text())
    for conversation in chosen:
        assert squash(conversation["contact"]) in report_text
    assert_inert(page, "the bulk report")
