"""Helpers for the integration tests: find conversations in the running sandbox instead of
hard-coding ids, and read the few things the tests need out of the dashboard's HTML."""

from __future__ import annotations

import re

import pytest
from django.utils.html import escape

from dashboard.inbox import selectors

CARD_RE = re.compile(r'<article class="card status-(?P<status>\w+)[^"]*" id="c-(?P<id>[0-9a-f-]{36})"')


def card_ids(body: str) -> list[str]:
    return [m.group("id") for m in CARD_RE.finditer(body)]


def card_statuses(body: str) -> list[str]:
    return [m.group("status") for m in CARD_RE.finditer(body)]


def html(text: str) -> str:
    """How a string from WapiKit appears in a page: autoescaped."""
    return escape(text)


def body_of(response) -> str:
    return response.content.decode()


def conversations_with(sandbox, status: str = "Active", *, pages: int = 5) -> list[dict]:
    """Every conversation of a status, straight from the sandbox (newest activity first)."""
    found: list[dict] = []
    for page in range(1, pages + 1):
        answer = sandbox.get("/conversations", page=page, per_page=50, status=status)
        found.extend(answer["conversations"])
        if page * 50 >= answer["paginationMeta"]["total"]:
            break
    return found


def first_conversation(sandbox, status: str = "Active", *, assigned: bool | None = None) -> dict:
    """The newest conversation of a status (optionally assigned or not), read page by page."""
    page = 1
    while True:
        answer = sandbox.get("/conversations", page=page, per_page=50, status=status)
        for conversation in answer["conversations"]:
            if assigned is None or bool(conversation.get("assignedTo")) == assigned:
                return conversation
        if page * 50 >= answer["paginationMeta"]["total"]:
            pytest.fail(f"the sandbox has no {status} conversation with assigned={assigned}")
        page += 1


def member_ids(sandbox) -> dict[str, str]:
    """email -> member uniqueId."""
    answer = sandbox.get("/organization/members", page=1, per_page=50)
    return {m["email"]: m["uniqueId"] for m in answer["members"]}


@pytest.fixture
def warm_members(wapikit):
    """Fill the dashboard's member cache, so that later calls count only conversation traffic."""

    def warm() -> None:
        selectors.members_list()

    return warm


def conversation_calls(calls) -> list:
    return [c for c in calls if c.path.startswith("/conversation")]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are signed in with force_login: their password hash only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
