"""Live updates in real Chromium, with the dashboard under ASGI as `make run` serves it: a
message WapiKit publishes shows on an open card without the tab asking WapiKit, and one user's
Close shows on another user's open inbox."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.integration.conftest import first_conversation


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


def test_a_tab_whose_stream_a_newer_tab_replaced_stops_reconnecting_and_polls(
    new_page, asgi_dashboard, wapikit, make_user, settings
):
    settings.LIVE_STREAMS_PER_USER = 1
    user = make_user("manager")
    older = new_page()
    sign_in(older, asgi_dashboard, user)
    expect(older.locator("#live")).to_have_count(1)
    newer = older.context.new_page()

    newer.goto(f"{asgi_dashboard}/")

    # The older tab is told why its stream ended and lets it go, instead of taking the stream
    # back (which would end the newer tab's, and so on, every two seconds).
    expect(older.locator("#live")).to_have_count(0, timeout=5_000)
    expect(older.locator("body")).to_have_attribute("data-live", "0")
    newer.wait_for_timeout(3_000)  # longer than a reconnect's delay
    expect(newer.locator("#live")).to_have_count(1)
    expect(older.locator("#live")).to_have_count(0)


def test_a_member_who_may_not_view_conversations_gets_no_stream_and_no_reconnect_loop(
    new_page, asgi_dashboard, wapikit, make_user
):
    page = new_page()
    streams: list[str] = []
    page.on("request", lambda request: "/live/stream/" in request.url and streams.append(request.url))

    sign_in(page, asgi_dashboard, make_user("norole"))

    expect(page.locator("#live")).to_have_count(0, timeout=5_000)
    page.wait_for_timeout(3_000)  # longer than a reconnect's delay
    assert len(streams) == 1
