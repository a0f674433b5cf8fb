"""Helpers for the integration tests: find conversations in the running sandbox instead of
hard-coding ids, and read the few things the tests need out of the dashboard's HTML."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import requests
from django.utils import timezone
from django.utils.html import escape

from dashboard.conversations import members

CARD_RE = re.compile(r'<article class="card status-(?P<status>\w+)[^"]*"\s+id="c-(?P<id>[0-9a-f-]{36})"')


def card_ids(body: str) -> list[str]:
    return [m.group("id") for m in CARD_RE.finditer(body)]


def card_statuses(body: str) -> list[str]:
    return [m.group("status") for m in CARD_RE.finditer(body)]


def html(text: str) -> str:
    """How a string from WapiKit appears in a page: autoescaped."""
    return escape(text)


def body_of(response) -> str:
    return response.content.decode()


def _pages(sandbox, status: str, pages: int):
    """Pages of a status from the sandbox, until the total it states or (the server states
    none) a short page."""
    for page in range(1, pages + 1):
        answer = sandbox.get("/conversations", page=page, per_page=50, status=status)
        batch = answer["conversations"] or []
        yield batch
        total = answer["paginationMeta"]["total"]
        if (total and page * 50 >= total) or len(batch) < 50:
            return


def conversations_with(sandbox, status: str = "Active", *, pages: int = 5) -> list[dict]:
    """Every conversation of a status, straight from the sandbox (newest activity first)."""
    return [c for batch in _pages(sandbox, status, pages) for c in batch]


def as_listed(sandbox, status: str = "Active", *, page: int = 1, per_page: int = 25) -> list[dict]:
    """A page of the inbox's default view ("Most recent activity") as the dashboard shows it.
    Documented WapiKit lists conversations newest activity first, and the dashboard shows its
    pages as they are. The server's lists carry no messages and come in no order: the dashboard
    orders the whole status by what its timeline knows, which, in a test that taught it nothing,
    is when each conversation began (ties in the order WapiKit listed them)."""
    if sandbox.profile != "server":
        return sandbox.get("/conversations", page=page, per_page=per_page, status=status, order="desc")["conversations"]
    everything = conversations_with(sandbox, status, pages=20)
    everything.sort(key=lambda c: datetime.fromisoformat(c["createdAt"]), reverse=True)
    return everything[(page - 1) * per_page : page * per_page]


def first_conversation(sandbox, status: str = "Active", *, assigned: bool | None = None) -> dict:
    """The newest conversation of a status (optionally assigned or not), read page by page."""
    for batch in _pages(sandbox, status, 20):
        for conversation in batch:
            if assigned is None or bool(conversation.get("assignedTo")) == assigned:
                return conversation
    pytest.fail(f"the sandbox has no {status} conversation with assigned={assigned}")


def true_state(sandbox, cid: str) -> dict:
    """What the sandbox's database holds for a conversation: {"status", "assignee"} ("" for
    nobody). The server's answers cannot say (a single answer never names the assignee)."""
    response = requests.get(
        f"{sandbox.root_url}/_sandbox/state/{cid}", headers={"x-access-token": sandbox.api_key}, timeout=5
    )
    response.raise_for_status()
    state = response.json()
    return {
        "status": state["status"],
        "assignee": state["assignee_ids"][-1] if state["assignee_ids"] else "",
        "ever_assigned": state["ever_assigned_ids"],
    }


def as_answered(state: dict) -> dict:
    """A true state in the shape of a spec answer: "status", and "assignedTo" when assigned."""
    assigned = {"assignedTo": {"uniqueId": state["assignee"]}} if state["assignee"] else {}
    return {"status": state["status"], **assigned}


def status_after(sandbox, wanted: str, before: str) -> str:
    """The status a change leaves: the one asked for, except on the server, which applies none."""
    return before if sandbox.profile == "server" else wanted


def never_assigned_to(sandbox, member_id: str) -> dict:
    """An unassigned Active conversation that `member_id` never had (the server refuses to
    assign a member twice)."""
    for conversation in conversations_with(sandbox, "Active"):
        if conversation.get("assignedTo"):
            continue
        if member_id not in true_state(sandbox, conversation["uniqueId"])["ever_assigned"]:
            return conversation
    pytest.fail("no unassigned conversation that this member never had")


def ignored_notice(status: str) -> str:
    """What a card says when the server accepts a status change and applies nothing."""
    return f"WapiKit accepted the request but did not change the status: the conversation is still {status}."


def member_ids(sandbox) -> dict[str, str]:
    """email -> member uniqueId."""
    answer = sandbox.get("/organization/members", page=1, per_page=50)
    return {m["email"]: m["uniqueId"] for m in answer["members"]}


@pytest.fixture
def warm_members(wapikit):
    """Fill the dashboard's member cache, so that later calls count only conversation traffic."""

    def warm() -> None:
        members.members_list()

    return warm


def conversation_calls(calls) -> list:
    return [c for c in calls if c.path.startswith("/conversation")]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are signed in with force_login: their password hash only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sandbox_event(sandbox, **body) -> dict:
    """What WapiKit's webhook does when a contact writes ("NewMessage"), or a reply sent outside
    the dashboard ("Reply"); no listener runs here, so no event reaches the dashboard."""
    answer = requests.post(
        f"{sandbox.root_url}/_sandbox/events", json=body, headers={"x-access-token": sandbox.api_key}, timeout=5
    )
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def clock(monkeypatch):
    """The dashboard's clock, moved on by `clock.advance(minutes=…)`."""

    class Clock:
        offset = timedelta(0)

        def advance(self, **delta) -> None:
            self.offset += timedelta(**delta)

    real_now = timezone.now
    moved = Clock()
    monkeypatch.setattr(timezone, "now", lambda: real_now() + moved.offset)
    return moved
