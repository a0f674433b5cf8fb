"""Live updates in real Chromium, with the dashboard under ASGI as `make run` serves it: a
message WapiKit publishes shows on an open card without the tab asking WapiKit, and one user's
Close shows on another user's open inbox."""

from __future__ import annotations

import threading

import pytest
import requests
from playwright.sync_api import expect

from dashboard.live import delivery
from dashboard.live.listener import Listener
from tests.conftest import PASSWORD
from tests.integration.conftest import first_conversation


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture
def listening(server_wapikit):
    """WapiKit's events read as `manage.py listen_events` reads them, applied in this process."""
    listener = Listener(on_event=delivery.apply, on_state=delivery.store_state)
    thread = threading.Thread(target=listener.run, name="listener", daemon=True)
    thread.start()
    yield server_wapikit
    listener.stop()
    thread.join(timeout=60)


def test_a_message_published_by_wapikit_shows_on_the_open_card(
    new_page, asgi_dashboard, listening, make_user, settings
):
    settings.WAPIKIT_LIST_CACHE_SECONDS = 15
    page = new_page()
    sign_in(page, asgi_dashboard, make_user("owner"))
    expect(page.locator("#live-note")).to_be_hidden(timeout=10_000)
    card = page.locator(".card").nth(2)
    conversation_id = card.get_attribute("id").removeprefix("c-")

    published = requests.post(
        f"{listening.root_url}/_sandbox/events",
        json={"type": "NewMessage", "conversation_id": conversation_id, "text": "Did my parcel leave the depot?"},
        headers={"x-access-token": listening.api_key},
        timeout=5,
    )

    assert published.ok
    expect(page.locator(f"#c-{conversation_id}")).to_contain_text("Did my parcel leave the depot?", timeout=5_000)
    assert page.console_errors == []


def test_one_manager_s_close_shows_on_another_s_open_inbox(new_page, asgi_dashboard, fresh_wapikit, make_user):
    if fresh_wapikit.profile == "server":
        pytest.skip("WapiKit's server accepts a status change and applies nothing (REAL-SERVER.md)")
    watching = new_page()
    acting = new_page()
    sign_in(watching, asgi_dashboard, make_user("owner"))
    sign_in(acting, asgi_dashboard, make_user("manager"))
    target = acting.locator(".card.status-active").first
    conversation_id = target.get_attribute("id").removeprefix("c-")
    # The watcher's inbox shows it as Active, and will not poll for two minutes.
    expect(watching.locator(f"#c-{conversation_id} .badge-active")).to_be_visible()

    target.get_by_role("button", name="Close").click()
    expect(acting.locator(f"#c-{conversation_id} .badge-closed")).to_be_visible()

    # Active view: the watcher is told it left the view, or sees it closed.
    expect(watching.locator(f"#c-{conversation_id}")).to_contain_text("left this view", timeout=5_000)
    assert watching.console_errors == []


def test_a_message_published_by_wapikit_shows_in_the_open_conversation(
    new_page, asgi_dashboard, listening, make_user, settings
):
    settings.WAPIKIT_CONVERSATION_CACHE_SECONDS = 15
    page = new_page()
    sign_in(page, asgi_dashboard, make_user("owner"))
    conversation_id = page.locator(".card").first.get_attribute("id").removeprefix("c-")
    page.goto(f"{asgi_dashboard}/conversations/{conversation_id}/")
    page.wait_for_selector('body[data-live="1"]', timeout=10_000)

    requests.post(
        f"{listening.root_url}/_sandbox/events",
        json={"type": "NewMessage", "conversation_id": conversation_id, "text": "Can I change the delivery address?"},
        headers={"x-access-token": listening.api_key},
        timeout=5,
    ).raise_for_status()

    expect(page.locator("#thread")).to_contain_text("Can I change the delivery address?", timeout=5_000)
    assert page.console_errors == []
