"""Routing in real Chromium: a new conversation WapiKit publishes is given to the member who has
the dashboard open, and appears on their open inbox ("Mine") as theirs, with no click."""

from __future__ import annotations

import re
import threading
import uuid

import requests
from django.db import close_old_connections
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect

from dashboard.routing import running
from dashboard.routing.models import Presence, Rule
from tests.browser.conftest import sign_in
from tests.integration.conftest import member_ids


def test_a_new_conversation_appears_on_its_assignees_open_inbox_as_theirs(
    new_page, asgi_dashboard, listening, make_user
):
    mei = member_ids(listening)["mei.chen@example.com"]
    Rule.objects.create(name="Support", member_ids=[mei], presence=Presence.ONLINE, capacity=500)
    stop = threading.Event()
    thread = threading.Thread(target=routing_worker, args=(stop,), name="routing-worker", daemon=True)
    thread.start()
    try:
        page = new_page()
        sign_in(page, asgi_dashboard, make_user("mei.chen@example.com"))
        page.goto(f"{asgi_dashboard}/?view=mine")
        expect(page.locator("#live-note")).to_be_hidden(timeout=10_000)
        name = f"Ada Routing {uuid.uuid4().hex[:6]}"

        published = requests.post(
            f"{listening.root_url}/_sandbox/events",
            json={"type": "NewConversation", "text": "Hello, is anyone there?", "name": name, "phone": "+447700900123"},
            headers={"x-access-token": listening.api_key},
            timeout=5,
        )

        assert published.ok
        # The list stays still: the conversation routed to her waits in the summary's bar.
        expect(page.locator("#new-bar .new-count")).to_contain_text(re.compile(r"^1 (new|more)\b"), timeout=15_000)
        page.locator("#new-bar").get_by_role("button", name=re.compile("^Show")).click()
        card = page.locator(".card", has_text=name)
        expect(card).to_be_visible(timeout=15_000)
        expect(card.locator(".assignee")).to_contain_text("Assigned to Mei Chen")
        assert page.console_errors == []
    finally:
        stop.set()
        thread.join(timeout=10)
        listening.reseed()


def routing_worker(stop: threading.Event) -> None:
    """The task worker's part this test needs: routing's runs, as `manage.py db_worker` runs them
    (its own loop locks SQLite, which this process shares with the dashboard, for each poll)."""
    done: set = set()
    while not stop.wait(0.2):
        close_old_connections()
        ready = DBTaskResult.objects.ready().filter(task_path__endswith="running.route_task")
        for row in ready.exclude(pk__in=done):
            done.add(row.pk)
            running.route_task.call(*row.args_kwargs["args"])
