"""Close, reopen, delete, assign and unassign from the inbox: with htmx the card is redrawn,
without it the browser is sent back with a flash message; a role without the permission is
refused before anything is sent to WapiKit."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from html import unescape
from typing import Callable

import pytest
from django.test import Client

from tests.integration.conftest import (
    as_answered,
    body_of,
    conversation_calls,
    conversations_with,
    first_conversation,
    html,
    ignored_notice,
    member_ids,
    never_assigned_to,
    status_after,
    true_state,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
NEXT = "/?status=all&per_page=25"


@dataclass
class Scenario:
    conversation: dict
    data: dict
    notice: str
    changed: Callable[[dict], bool]
    shows: str  # HTML the redrawn card shows for the new state
    # Upstream traffic with a warm member cache: one read (the conflict check, which also gives
    # the card's contents) and one write; nothing is read back after assign or unassign.
    calls: list[tuple[str, str]]
    # False where the server accepts the change and applies nothing (its status update only
    # logs): the card then says so, and nothing changed.
    applies: bool = True

    @property
    def cid(self) -> str:
        return self.conversation["uniqueId"]

    @property
    def notice_html(self) -> str:
        if self.applies:
            return f'<p class="alert-success" role="status">{self.notice}</p>'
        return f'<p class="alert-warning" role="alert">{self.notice}</p>'

    @property
    def flash_html(self) -> str:
        # A success's message offers its Undo after the sentence.
        return f'<li class="flash-{"success" if self.applies else "warning"}">{self.notice}'

    def took(self, now: dict) -> bool:
        """The action did what it should: changed the conversation, or (ignored) nothing."""
        return self.changed(now) if self.applies else now["status"] == self.conversation["status"]


def scenario(sandbox, action: str) -> Scenario:
    """A conversation the action applies to, the form it needs, and how to tell it happened."""
    agent = member_ids(sandbox)["agent@example.com"]
    if action == "reopen":
        conversation = first_conversation(sandbox, "Closed")
    elif action == "assign":
        conversation = never_assigned_to(sandbox, agent)
    elif action == "unassign":
        conversation = first_conversation(sandbox, "Active", assigned=True)
    else:
        conversation = first_conversation(sandbox, "Active")
    cid = conversation["uniqueId"]
    name = conversation["contact"]["name"]
    path = f"/conversation/{cid}"
    if action in ("close", "reopen", "delete") and sandbox.profile == "server":
        status = conversation["status"]
        return Scenario(
            conversation, {"confirmed": "yes"} if action == "delete" else {}, ignored_notice(status),
            lambda c: False, f'<span class="badge badge-{status.lower()}">{status}</span>',
            [("GET", path), ("POST", path), ("GET", path)], applies=False,
        )
    if action == "close":
        return Scenario(
            conversation, {}, f"Closed the conversation with <bdi>{html(name)}</bdi>.",
            lambda c: c["status"] == "Closed", '<span class="badge badge-closed">Closed</span>', [("GET", path), ("POST", path)],
        )
    if action == "reopen":
        return Scenario(
            conversation, {}, f"Reopened the conversation with <bdi>{html(name)}</bdi>.",
            lambda c: c["status"] == "Active", '<span class="badge badge-active">Active</span>', [("GET", path), ("POST", path)],
        )
    if action == "delete":
        return Scenario(
            conversation, {"confirmed": "yes", "contact": name}, f"Deleted the conversation with <bdi>{html(name)}</bdi>.",
            lambda c: c["status"] == "Deleted", '<span class="badge badge-deleted">Deleted</span>', [("GET", path), ("POST", path)],
        )
    if action == "assign":
        return Scenario(
            conversation, {"member_id": agent}, f"Assigned the conversation with <bdi>{html(name)}</bdi> to <bdi>Priya Raman</bdi>.",
            lambda c: (c.get("assignedTo") or {}).get("uniqueId") == agent,
            "Assigned to <strong><bdi>Priya Raman</bdi></strong>", [("GET", path), ("POST", f"{path}/assign")],
        )
    assignee = conversation["assignedTo"]["uniqueId"]
    return Scenario(
        conversation, {"member_id": assignee}, f"Unassigned the conversation with <bdi>{html(name)}</bdi>.",
        lambda c: "assignedTo" not in c, '<span class="unassigned">Unassigned</span>',
        [("GET", path), ("POST", f"{path}/unassign")],
    )


def current(sandbox, cid: str) -> dict:
    """The conversation as the sandbox's database holds it (the server's answers cannot say
    who is assigned)."""
    return as_answered(true_state(sandbox, cid))


ACTIONS = ["close", "reopen", "delete", "assign", "unassign"]
ALLOWED = {"close": "manager", "reopen": "closer", "delete": "moderator", "assign": "manager", "unassign": "manager"}
REFUSED = {"close": "agent", "reopen": "agent", "delete": "manager", "assign": "closer", "unassign": "closer"}


# Permission granted


@pytest.mark.parametrize("action", ACTIONS)
def test_with_htmx_an_allowed_action_redraws_only_the_card_with_a_notice(
    action, login_as, fresh_wapikit, warm_members, upstream_calls
):
    client = login_as(ALLOWED[action])
    case = scenario(fresh_wapikit, action)
    assert not case.changed(case.conversation)
    warm_members()
    upstream_calls.clear()

    response = client.post(f"/conversations/{case.cid}/{action}/", {**case.data, "next": NEXT}, **HTMX)

    assert response.status_code == 200
    body = body_of(response)
    assert body.lstrip().startswith('<article class="card')
    assert "<html" not in body
    assert body.count("<article") == 1
    assert f'id="c-{case.cid}"' in body
    assert case.notice_html in body
    assert case.shows in body
    assert case.took(current(fresh_wapikit, case.cid))
    assert [(c.method, c.path) for c in upstream_calls] == case.calls
    assert all(c.status == 200 for c in upstream_calls)


@pytest.mark.parametrize("action", ACTIONS)
def test_without_htmx_an_allowed_action_redirects_to_next_with_a_flash_message(
    action, login_as, fresh_wapikit
):
    client = login_as(ALLOWED[action])
    case = scenario(fresh_wapikit, action)

    response = client.post(f"/conversations/{case.cid}/{action}/", {**case.data, "next": NEXT})

    assert response.status_code == 302
    assert response["Location"] == NEXT
    assert case.took(current(fresh_wapikit, case.cid))
    following = body_of(client.get(response["Location"]))
    assert case.flash_html in following
    # Shown once only.
    assert case.notice not in body_of(client.get(NEXT))


def test_the_owner_may_delete_without_any_role(login_as, wapikit, warm_members, upstream_calls):
    """Owners hold every permission: the delete confirmation page is theirs to see (no change yet)."""
    client = login_as("owner")
    case = scenario(wapikit, "delete")
    warm_members()
    upstream_calls.clear()

    response = client.post(f"/conversations/{case.cid}/delete/", {"next": NEXT})

    assert response.status_code == 200
    assert '<input type="hidden" name="confirmed" value="yes">' in body_of(response)
    assert upstream_calls == []


def hidden_fields(form_html: str) -> dict[str, str]:
    """A form's hidden fields, as a browser would send them."""
    return {k: unescape(v) for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form_html)}


def form_fields(body: str, action_url: str) -> dict[str, str]:
    """The hidden fields of the form posting to `action_url`."""
    match = re.search(rf'<form[^>]*action="{re.escape(action_url)}"[^>]*>(.*?)</form>', body, re.S)
    assert match, f"no form posts to {action_url}"
    return hidden_fields(match.group(1))


def card_fields(body: str, cid: str) -> dict[str, str]:
    """The hidden fields of a card's action form, which each of its buttons posts."""
    card = body.split(f'id="c-{cid}"', 1)[1].split("</article>", 1)[0]
    match = re.search(r'<form class="actions"[^>]*>(.*?)</form>', card, re.S)
    assert match, f"card {cid} has no action form"
    return hidden_fields(match.group(1))


def test_the_forms_drawn_in_the_inbox_close_and_assign_when_submitted(login_as, fresh_wapikit):
    client = login_as("manager")
    case = scenario(fresh_wapikit, "assign")  # Active and unassigned, on the first inbox page
    agent = member_ids(fresh_wapikit)["agent@example.com"]
    inbox = body_of(client.get("/?per_page=50"))
    assert f'id="c-{case.cid}"' in inbox

    assert f'<button formaction="/conversations/{case.cid}/assign/">Reassign</button>' in inbox
    picker = body_of(client.post(f"/conversations/{case.cid}/assign/", card_fields(inbox, case.cid), **HTMX))
    assigned = client.post(
        f"/conversations/{case.cid}/assign/",
        {**form_fields(picker, f"/conversations/{case.cid}/assign/"), "member_id": agent},
        **HTMX,
    )

    assert assigned.status_code == 200
    assert "Assigned to <strong><bdi>Priya Raman</bdi></strong>" in body_of(assigned)
    # The card's one form carries the fields; its Close button posts them to the close URL.
    card_form = card_fields(body_of(assigned), case.cid)
    assert f'formaction="/conversations/{case.cid}/close/"' in body_of(assigned)
    closed = client.post(f"/conversations/{case.cid}/close/", card_form, **HTMX)
    assert closed.status_code == 200
    after = status_after(fresh_wapikit, "Closed", "Active")
    assert f'<span class="badge badge-{after.lower()}">{after}</span>' in body_of(closed)
    assert "Assigned to <strong><bdi>Priya Raman</bdi></strong>" in body_of(closed), "the card keeps its assignee"
    state = current(fresh_wapikit, case.cid)
    assert state["status"] == after
    assert state["assignedTo"]["uniqueId"] == agent


# Permission missing


@pytest.mark.parametrize("action", ACTIONS)
def test_with_htmx_a_refused_action_answers_403_and_sends_nothing_upstream(
    action, login_as, wapikit, warm_members, upstream_calls
):
    client = login_as(REFUSED[action])
    case = scenario(wapikit, action)
    before = current(wapikit, case.cid)
    warm_members()
    upstream_calls.clear()

    response = client.post(f"/conversations/{case.cid}/{action}/", {**case.data, "next": NEXT}, **HTMX)

    assert response.status_code == 403
    body = body_of(response)
    assert f"Your WapiKit role does not allow you to {action} conversations." in body
    assert "<article" not in body
    assert response["HX-Retarget"] == f"#c-{case.cid} .alert"
    assert conversation_calls(upstream_calls) == []
    assert upstream_calls == []
    assert current(wapikit, case.cid) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_without_htmx_a_refused_action_answers_403_with_an_error_and_changes_nothing(
    action, login_as, wapikit, warm_members, upstream_calls
):
    client = login_as(REFUSED[action])
    case = scenario(wapikit, action)
    before = current(wapikit, case.cid)
    warm_members()
    upstream_calls.clear()

    response = client.post(f"/conversations/{case.cid}/{action}/", {**case.data, "next": NEXT})

    assert response.status_code == 403
    body = body_of(response)
    assert f"Your WapiKit role does not allow you to {action} conversations." in body
    assert f'href="{html(NEXT)}"' in body, "offers the way back"
    assert conversation_calls(upstream_calls) == []
    assert current(wapikit, case.cid) == before


def test_a_member_without_any_role_cannot_close(login_as, wapikit, warm_members, upstream_calls):
    client = login_as("norole")
    case = scenario(wapikit, "close")
    warm_members()
    upstream_calls.clear()

    response = client.post(f"/conversations/{case.cid}/close/", {"next": NEXT}, **HTMX)

    assert response.status_code == 403
    assert upstream_calls == []
    assert current(wapikit, case.cid)["status"] == "Active"


# Delete needs a confirmation


def test_delete_without_confirmation_shows_a_confirmation_page_and_changes_nothing(
    login_as, wapikit, warm_members, upstream_calls
):
    client = login_as("moderator")
    case = scenario(wapikit, "delete")
    warm_members()
    upstream_calls.clear()

    response = client.post(
        f"/conversations/{case.cid}/delete/", {"next": NEXT, "contact": case.conversation["contact"]["name"]}
    )

    assert response.status_code == 200
    body = body_of(response)
    assert "Delete this conversation?" in body
    assert f'action="/conversations/{case.cid}/delete/"' in body
    assert '<input type="hidden" name="confirmed" value="yes">' in body
    assert f'<input type="hidden" name="next" value="{html(NEXT)}">' in body
    assert upstream_calls == []
    assert current(wapikit, case.cid)["status"] == "Active"


def test_confirming_the_delete_page_deletes(login_as, fresh_wapikit):
    client = login_as("moderator")
    case = scenario(fresh_wapikit, "delete")
    page = body_of(client.post(f"/conversations/{case.cid}/delete/", {"next": NEXT}))
    form = {k: unescape(v) for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)}
    assert form["confirmed"] == "yes"
    assert current(fresh_wapikit, case.cid)["status"] == "Active"

    response = client.post(f"/conversations/{case.cid}/delete/", form)

    assert response.status_code == 302
    assert response["Location"] == NEXT
    assert current(fresh_wapikit, case.cid)["status"] == status_after(fresh_wapikit, "Deleted", "Active")


# Bad input


@pytest.mark.parametrize(
    "action, bad_id",
    [(action, "not-a-uuid") for action in ACTIONS]
    + [("close", "12345"), ("close", "00000000-0000-0000-0000-00000000000g"), ("assign", "%2E%2E")],
)
def test_an_invalid_conversation_id_is_refused_with_400_before_any_upstream_call(
    action, bad_id, login_as, wapikit, upstream_calls
):
    client = login_as("owner")

    response = client.post(f"/conversations/{bad_id}/{action}/", {"next": NEXT, "confirmed": "yes"}, **HTMX)

    assert response.status_code == 400
    assert "That conversation or member id is not valid." in body_of(response)
    assert upstream_calls == []


def test_a_path_traversal_id_never_reaches_an_upstream_path(login_as, wapikit, upstream_calls):
    client = login_as("owner")

    response = client.post("/conversations/..%2F..%2Forganization%2Fmembers/close/", {"next": NEXT}, **HTMX)

    assert response.status_code in (400, 404)
    assert response.status_code != 200
    assert upstream_calls == []


def test_a_path_traversal_member_id_in_the_form_is_refused_with_400(
    login_as, wapikit, warm_members, upstream_calls
):
    client = login_as("manager")
    case = scenario(wapikit, "assign")
    warm_members()
    upstream_calls.clear()

    response = client.post(
        f"/conversations/{case.cid}/assign/",
        {"member_id": "../../organization/members", "next": NEXT},
        **HTMX,
    )

    assert response.status_code == 400
    assert "Choose a member to assign the conversation to." in body_of(response)
    assert response["HX-Retarget"] == f"#c-{case.cid} .alert"
    assert upstream_calls == []
    assert "assignedTo" not in current(wapikit, case.cid)


def test_without_htmx_an_invalid_id_answers_400_with_an_error(login_as, wapikit, upstream_calls):
    client = login_as("owner")

    response = client.post("/conversations/not-a-uuid/close/", {"next": NEXT})

    assert response.status_code == 400
    assert upstream_calls == []
    assert "That conversation or member id is not valid." in body_of(response)


def test_assigning_to_someone_outside_the_organisation_is_refused_with_400(
    login_as, wapikit, warm_members, upstream_calls
):
    client = login_as("manager")
    case = scenario(wapikit, "assign")
    warm_members()
    upstream_calls.clear()

    response = client.post(
        f"/conversations/{case.cid}/assign/", {"member_id": str(uuid.uuid4()), "next": NEXT}, **HTMX
    )

    assert response.status_code == 400
    assert "That member is not in this WapiKit organisation." in body_of(response)
    assert response["HX-Retarget"] == f"#c-{case.cid} .alert"
    assert upstream_calls == []
    assert "assignedTo" not in current(wapikit, case.cid)


def test_an_action_on_a_conversation_changed_since_it_was_drawn_is_held_back_until_confirmed(
    login_as, fresh_wapikit, warm_members, upstream_calls
):
    client = login_as("manager")
    if fresh_wapikit.profile == "server":
        # The server's single answer never names the assignee, so only a status change can be
        # seen; and its API changes no status, so the conversation is one that was already Closed.
        conversation = first_conversation(fresh_wapikit, "Closed")
        cid, seen, change = conversation["uniqueId"], {"next": NEXT, "seen": "Active:?"}, "its status changed from Active to Closed"
        action, shows = "reopen", '<span class="badge badge-closed">Closed</span>'
    else:
        case = scenario(fresh_wapikit, "assign")  # Active and unassigned when the card was drawn
        cid, seen, change = case.cid, {"next": NEXT, "seen": "Active:"}, "it was reassigned from nobody to Priya Raman"
        agent = member_ids(fresh_wapikit)["agent@example.com"]
        assert fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": agent}).ok
        action, shows = "close", "Assigned to <strong><bdi>Priya Raman</bdi></strong>"
    before = current(fresh_wapikit, cid)["status"]
    warm_members()
    upstream_calls.clear()

    held = client.post(f"/conversations/{cid}/{action}/", seen, **HTMX)

    assert held.status_code == 409
    body = body_of(held)
    assert f"Not applied: since you loaded this card, <bdi>{change}</bdi>" in body
    assert ">Apply anyway</button>" in body
    assert shows in body, "the card shows the current state"
    assert [c.method for c in upstream_calls] == ["GET"], "nothing was sent"
    assert current(fresh_wapikit, cid)["status"] == before

    applied = client.post(f"/conversations/{cid}/{action}/", {**seen, "force": "yes"}, **HTMX)

    assert applied.status_code == 200
    assert "POST" in [c.method for c in upstream_calls], "Apply anyway sends it"
    wanted = "Active" if action == "reopen" else "Closed"
    assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, wanted, before)


def test_closing_an_already_closed_conversation_changes_nothing_and_says_so(
    login_as, wapikit, warm_members, upstream_calls
):
    client = login_as("manager")
    case = scenario(wapikit, "reopen")  # a Closed conversation
    warm_members()
    upstream_calls.clear()

    response = client.post(f"/conversations/{case.cid}/close/", {"next": NEXT}, **HTMX)

    assert response.status_code == 200
    assert "Nothing to do: It is already closed." in body_of(response)
    assert [c.method for c in upstream_calls] == ["GET"]
    assert current(wapikit, case.cid)["status"] == "Closed"


def test_an_action_on_an_unknown_conversation_says_it_does_not_exist(login_as, wapikit, warm_members):
    client = login_as("manager")
    missing = str(uuid.uuid4())
    warm_members()

    response = client.post(f"/conversations/{missing}/close/", {"next": NEXT}, **HTMX)

    assert response.status_code == 404
    assert "WapiKit has no such conversation" in body_of(response)
    assert response["HX-Retarget"] == f"#c-{missing} .alert"


def test_actions_only_accept_post(login_as, wapikit, upstream_calls):
    client = login_as("owner")
    case = scenario(wapikit, "close")

    response = client.get(f"/conversations/{case.cid}/close/")

    assert response.status_code == 405
    assert current(wapikit, case.cid)["status"] == "Active"
    assert conversation_calls(upstream_calls) == []


# Where the browser is sent back to


def test_a_next_url_on_another_host_or_none_at_all_sends_the_browser_to_the_inbox(login_as, fresh_wapikit):
    client = login_as("manager")
    targets = [c["uniqueId"] for c in conversations_with(fresh_wapikit, "Active")[:5]]
    nexts = ["https://evil.example/", "//evil.example/path", "https:/\\evil.example", "javascript:alert(1)", None]

    for cid, next_url in zip(targets, nexts):
        response = client.post(f"/conversations/{cid}/close/", {} if next_url is None else {"next": next_url})

        assert response.status_code == 302, next_url
        assert response["Location"] == "/", next_url
        assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, "Closed", "Active"), (
            "the action itself is still sent"
        )


def test_without_next_the_browser_goes_back_to_the_page_it_came_from_on_this_site(login_as, fresh_wapikit):
    """Card forms carry no `next`: the Referer (sent in full on the same origin) says where the
    user was, filters and all; a Referer from another site is never followed."""
    client = login_as("manager")
    active = conversations_with(fresh_wapikit, "Active")[:4]
    targets = [c["uniqueId"] for c in active]
    cases = [
        ("http://testserver/?status=all&sort=waiting&per_page=50", "/?status=all&sort=waiting&per_page=50"),
        (f"http://testserver/conversations/{targets[1]}/", f"/conversations/{targets[1]}/"),
        ("https://evil.example/?status=all", "/"),
        ("http://testserver.evil.example/", "/"),
    ]

    for conversation, (referer, expected) in zip(active, cases):
        cid = conversation["uniqueId"]
        seen = "Active:" + (conversation.get("assignedTo") or {}).get("uniqueId", "")
        response = client.post(f"/conversations/{cid}/close/", {"seen": seen}, HTTP_REFERER=referer)

        assert response.status_code == 302, referer
        assert response["Location"] == expected, referer
        assert current(fresh_wapikit, cid)["status"] == status_after(fresh_wapikit, "Closed", "Active")


# CSRF


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(make_user, wapikit, upstream_calls):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("manager"))
    case = scenario(wapikit, "close")

    response = client.post(f"/conversations/{case.cid}/close/", {"next": NEXT}, **HTMX)

    assert response.status_code == 403
    assert current(wapikit, case.cid)["status"] == "Active"
    assert conversation_calls(upstream_calls) == []


def test_a_post_with_the_pages_csrf_token_is_accepted(make_user, wapikit, upstream_calls):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("moderator"))
    case = scenario(wapikit, "delete")
    page = body_of(client.get("/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    # Delete without confirmation only draws the confirmation page: accepted, nothing changed.
    response = client.post(f"/conversations/{case.cid}/delete/", {"next": NEXT, "csrfmiddlewaretoken": token})

    assert response.status_code == 200
    assert "Delete this conversation?" in body_of(response)
    assert current(wapikit, case.cid)["status"] == "Active"


# The member picker


def test_the_reassign_picker_lists_every_member_and_marks_the_current_assignee(login_as, wapikit):
    client = login_as("manager")
    case = scenario(wapikit, "unassign")
    assignee = case.conversation["assignedTo"]["uniqueId"]
    members = wapikit.get("/organization/members", page=1, per_page=50)["members"]

    response = client.post(f"/conversations/{case.cid}/assign/", {"seen": f"Active:{assignee}"}, **HTMX)

    assert response.status_code == 200
    body = body_of(response)
    assert "<html" not in body
    for member in members:
        assert f'value="{member["uniqueId"]}"' in body
        assert html(member["name"]) in body
    assert "current assignee" in body


def test_a_role_without_assign_cannot_open_the_picker(login_as, wapikit):
    client = login_as("closer")
    case = scenario(wapikit, "close")

    response = client.post(f"/conversations/{case.cid}/assign/", {"seen": "Active:"}, **HTMX)

    assert response.status_code == 403
    assert "does not allow you to assign" in body_of(response)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"HTTP_REFERER": "http://testserver//evil.example/x"}, id="referer-double-slash"),
        pytest.param({"HTTP_REFERER": "http://testserver/\\evil.example/x"}, id="referer-backslash"),
        pytest.param(
            {"HTTP_HX_CURRENT_URL": "http://testserver///evil.example/x", "HTTP_HX_REQUEST": "false"}, id="hx-current-url"
        ),
    ],
)
def test_a_path_on_this_site_that_looks_scheme_relative_never_sends_the_browser_off_site(
    headers, make_user, wapikit, upstream_calls
):
    """Regression (issue 10, finding 2): the path of a URL on this site was reused as it was,
    and `//evil.example/x` is a link to evil.example."""
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    agent, manager_delete = Client(), Client()
    agent.force_login(make_user("agent"))  # refused: the 403 page's Back link comes from the same value
    manager_delete.force_login(make_user("moderator"))  # the delete confirmation's Cancel link

    refused = agent.post(f"/conversations/{cid}/close/", {}, **headers)
    confirm = manager_delete.post(f"/conversations/{cid}/delete/", {}, **headers)

    for response in (refused, confirm):
        links = re.findall(r'href="([^"]*)"', body_of(response))
        back = [unescape(link) for link in links if "evil.example" in link]
        assert back, "the page links back to where the user was"
        for link in back:
            assert not link.startswith(("//", "/\\")), link
            assert link.startswith("/"), link
    assert upstream_calls == [] or all(c.method == "GET" for c in upstream_calls)


def test_a_scheme_relative_next_is_refused(login_as, fresh_wapikit):
    cid = first_conversation(fresh_wapikit, "Active")["uniqueId"]
    client = login_as("manager")

    response = client.post(f"/conversations/{cid}/close/", {"next": "http://testserver//evil.example/x"})

    assert response.status_code == 302
    assert not response["Location"].startswith("//")
    assert response["Location"].startswith("/")


# Acting from a filtered view

LEFT_VIEW = "This conversation changed and left this view."


def alert_of(card: str) -> str:
    match = re.search(r'<div class="alert"[^>]*>(.*?)</div>\s*(?:<form|<div class="picker-slot"|</article>)', card, re.S)
    assert match, "the card has no alert slot"
    return match.group(1)


def test_assigning_from_the_unassigned_view_says_the_card_left_it(login_as, fresh_wapikit):
    client = login_as("manager")
    agent = member_ids(fresh_wapikit)["agent@example.com"]
    cid = first_conversation(fresh_wapikit, "Active", assigned=False)["uniqueId"]

    response = client.post(
        f"/conversations/{cid}/assign/", {"member_id": agent, "next": "/?view=unassigned"}, **HTMX
    )

    assert response.status_code == 200
    alert = alert_of(body_of(response))
    assert "alert-success" in alert  # what was done, and
    assert LEFT_VIEW in alert  # that the card no longer belongs here
    # Marked as the live refresh marks a card that left, so that it is not redrawn back.
    assert re.search(rf'<p class="alert-warning left-view" role="status">{re.escape(html(LEFT_VIEW))}</p>', alert)


def test_closing_from_active_unassigned_says_the_card_left_the_view(login_as, fresh_wapikit):
    if fresh_wapikit.profile == "server":
        pytest.skip("the server accepts status changes and applies none: the card stays where it was")
    client = login_as("manager")
    cid = first_conversation(fresh_wapikit, "Active", assigned=False)["uniqueId"]

    response = client.post(f"/conversations/{cid}/close/", {"next": "/?status=active&view=unassigned"}, **HTMX)

    assert response.status_code == 200
    assert '<span class="badge badge-closed">Closed</span>' in body_of(response)
    assert LEFT_VIEW in alert_of(body_of(response))


@pytest.mark.parametrize("next_url", ["/?status=all&view=unassigned", "/?view=all", "/conversations/{cid}/"])
def test_a_card_still_in_its_view_does_not_say_it_left(login_as, fresh_wapikit, next_url):
    """Unassigning in the Unassigned or All view, or on the conversation's own page, leaves it shown."""
    client = login_as("manager")
    conversation = first_conversation(fresh_wapikit, "Active", assigned=True)
    cid = conversation["uniqueId"]

    response = client.post(
        f"/conversations/{cid}/unassign/",
        {"member_id": conversation["assignedTo"]["uniqueId"], "next": next_url.format(cid=cid)},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Unassigned the conversation" in body_of(response)
    assert LEFT_VIEW not in body_of(response)
