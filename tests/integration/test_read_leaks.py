"""A role that may act on conversations but not see them (no Get:Conversation) learns what
happened to its action from the web's answers, never what the conversation holds: no card,
no contact, no status or assignee, in a conflict, a notice or a bulk report."""

from __future__ import annotations

import pytest

from tests.integration.conftest import body_of, conversations_with, first_conversation, html
from tests.sandbox_roles import member_permissions  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}


def assert_nothing_of(conversations: list[dict], response) -> None:
    text = body_of(response)
    for conversation in conversations:
        contact = conversation["contact"]
        for value in (contact["name"], contact["phone"], *(t["label"] for t in conversation.get("tags") or [])):
            assert html(value) not in text, f"{value!r} reached a user who may not read it"
    assert '<article class="card' not in text


@pytest.fixture
def updater(login_as, member_permissions):
    """Signed in as a member whose role may close and reopen, but not see, conversations."""
    member_permissions("norole", ["Update:Conversation"])
    return login_as("norole")


def test_a_conflict_says_it_changed_and_shows_nothing_of_the_conversation(updater, wapikit):
    conversation = first_conversation(wapikit, "Active")
    cid = conversation["uniqueId"]
    assert updater.get(f"/conversations/{cid}/").status_code == 403

    answer = updater.post(f"/conversations/{cid}/close/", {"seen": "Closed:", "next": "/"}, **HTMX)

    assert answer.status_code == 409
    assert "Not applied: it changed since you saw it." in body_of(answer)
    assert answer["HX-Retarget"] == f"#c-{cid} .alert"
    assert "Apply anyway" not in body_of(answer)
    assert_nothing_of([conversation], answer)


def test_without_javascript_the_conflict_is_a_message_on_the_page_they_came_from(updater, wapikit):
    conversation = first_conversation(wapikit, "Active")
    answer = updater.post(
        f"/conversations/{conversation['uniqueId']}/close/", {"seen": "Closed:", "next": "/tokens/"}, follow=True
    )
    assert answer.redirect_chain == [("/tokens/", 302)]
    assert "Not applied: it changed since you saw it." in body_of(answer)
    assert_nothing_of([conversation], answer)


def test_a_skipped_action_names_no_contact(updater, wapikit):
    conversation = first_conversation(wapikit, "Closed")
    answer = updater.post(f"/conversations/{conversation['uniqueId']}/close/", {"next": "/"}, **HTMX)
    assert answer.status_code == 200
    assert "Nothing to do: it was already so." in body_of(answer)
    assert_nothing_of([conversation], answer)


def test_a_bulk_report_lists_ids_and_outcomes_only(updater, wapikit):
    active = conversations_with(wapikit, "Active")[:20]
    ids = [c["uniqueId"] for c in active]

    answer = updater.post("/bulk/", {"action": "reopen", "ids": ids, "screen": ",".join(ids), "next": "/"}, **HTMX)

    assert answer.status_code == 200
    text = body_of(answer)
    assert "0 succeeded" in text and "20 skipped" in text
    assert all(cid in text for cid in ids)
    assert_nothing_of(active, answer)


def test_selecting_every_matching_conversation_needs_get_conversation(updater, wapikit, upstream_calls):
    upstream_calls.clear()
    answer = updater.post("/bulk/", {"action": "close", "all": "yes", "q": "a", "next": "/"}, **HTMX)
    assert answer.status_code == 403
    assert "may select every matching one" in body_of(answer)
    assert [c for c in upstream_calls if c.path.startswith("/conversation")] == []


def test_who_may_read_still_gets_the_card_with_what_changed(login_as, wapikit):
    conversation = first_conversation(wapikit, "Active")
    answer = login_as("manager").post(
        f"/conversations/{conversation['uniqueId']}/close/", {"seen": "Closed:", "next": "/"}, **HTMX
    )
    assert answer.status_code == 409
    assert html(conversation["contact"]["name"]) in body_of(answer)
    assert "its status changed from Closed to Active" in body_of(answer) and "Apply anyway" in body_of(answer)
