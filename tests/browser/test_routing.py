"""Routing in real Chromium: a new conversation WapiKit publishes is given to the member who has
the dashboard open, and appears on their open inbox ("Mine") as theirs, with no click; a
conversation taken back from a silent assignee is redrawn on open pages, and managers are told."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import requests
from django.db import OperationalError, close_old_connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect

from dashboard.routing import facts, running, takeback
from dashboard.routing.models import Presence, Rule, TakeBackTo
from tests.browser.conftest import sign_in
from tests.integration.conftest import member_ids, true_state
from tests.integration.test_routing import customer_writes, never_had


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
        try:
            ready = DBTaskResult.objects.ready().filter(task_path__endswith="running.route_task")
            for row in ready.exclude(pk__in=done):
                running.route_task.call(*row.args_kwargs["args"])
                done.add(row.pk)
        except OperationalError:
            # The test database's in-memory tables, shared by this process's threads, answer
            # "table is locked" at once where a database file would wait: the next poll tries again.
            continue


def test_a_take_back_is_told_to_the_managers_open_pages(new_page, asgi_dashboard, listening, make_user):
    """Routing takes a conversation back from the assignee it gave it to, who did not answer, and
    gives it to the other member: the manager's open inbox shows a notice saying so, pushed, with
    no reload; an agent's open inbox shows none (take-backs are for those who may assign). That
    open pages redraw the card, as after any action, is tests/integration/test_routing_told.py's."""
    ids = member_ids(listening)
    mei, fatima = ids["mei.chen@example.com"], ids["fatima.elamrani@example.com"]
    Rule.objects.create(
        name="Support", member_ids=[mei, fatima], presence=Presence.ANYONE, capacity=500, unanswered_minutes=15,
        take_back_to=TakeBackTo.RULE,
    )
    pool = never_had(listening, mei, count=12)
    cid = next(c for c in pool if fatima not in true_state(listening, c)["ever_assigned"])
    try:
        assert running.route_conversation(cid, trigger=running.NEW) == "assigned"
        names = {m.unique_id: m.name for m in facts.members()}
        given = true_state(listening, cid)["assignee"]
        first, second = names[given], names[fatima if given == mei else mei]
        customer_writes(cid, minutes_ago=1)
        page, agents = new_page(), new_page()
        sign_in(page, asgi_dashboard, make_user("manager"))
        sign_in(agents, asgi_dashboard, make_user("agent"))
        for opened in (page, agents):
            opened.wait_for_selector('body[data-live="1"]', timeout=10_000)
        expect(page.locator(".clock-alerts")).to_be_hidden()

        assert takeback.take_back(cid, moment=timezone.now() + timedelta(minutes=16)) == "reassigned"

        notice = page.locator("#clock-alerts .take-back")
        expect(notice).to_have_count(1, timeout=5_000)
        said = " ".join(notice.inner_text().split())
        assert re.match(rf"Routing took .+ back from {re.escape(first)} \(not answered within 15 min, rule “Support”\)"
                        rf" at \d\d:\d\d: now with {re.escape(second)}\.$", said), said
        expect(notice.locator("a")).to_have_attribute("href", f"/conversations/{cid}/")
        expect(page.locator(".clock-alerts")).to_be_visible()
        agents.wait_for_timeout(1_000)  # time for the agent's page to ask, were the notice for them
        expect(agents.locator("#clock-alerts .take-back")).to_have_count(0)
        assert page.console_errors == [] and agents.console_errors == []
    finally:
        listening.reseed()
