"""What the inbox says while WapiKit cannot be reached, over real HTTP to the sandbox: the live
note names the real cause, and a page drawn from the last copy says so and since when (the
browser test, tests/browser/test_outage.py, stops a sandbox under an open inbox)."""

from __future__ import annotations

import time

from dashboard.conversations import live_state as state
from dashboard.live import delivery
from dashboard.live.streams import live_data
from dashboard.wapikit import get_client
from tests.integration.conftest import body_of, card_ids, first_conversation, html


def reported(**fields) -> state.StreamState:
    now = time.time()
    return state.StreamState(since=now, reported_at=now, **fields)


def wapikit_gone(settings) -> None:
    """Nothing listens at WapiKit's address any more, and every shared copy is past its lifetime.
    What the dashboard learned of this WapiKit is kept, as it is when the address stays."""
    learned = get_client().capabilities.all()
    settings.WAPIKIT_BASE_URL = "http://127.0.0.1:9/api"
    get_client.cache_clear()
    for name, value in learned.items():
        if value is not None:
            get_client().capabilities.learn(name, value)
    time.sleep(1.1)


def live_note(page: str) -> str:
    return page[page.index('id="live-note"') :][:400]


def test_the_live_note_names_wapikit_unreachable_when_the_listener_cannot_reach_it(login_as, wapikit):
    client = login_as("manager")
    delivery.store_state(reported(state=state.CONNECTING, failure=state.UNREACHABLE))

    note = live_note(body_of(client.get("/")))

    assert "Live updates are paused: <span id=\"live-cause\">WapiKit is unreachable</span>." in note
    assert "event stream is not connected" not in note


def test_the_live_note_says_when_no_listener_runs(login_as, wapikit):
    client = login_as("manager")

    note = live_note(body_of(client.get("/")))

    assert "the dashboard&#x27;s events listener is not running" in note


def test_open_pages_are_told_when_the_cause_changes_while_live_updates_stay_paused(wapikit, monkeypatch):
    published: list[dict] = []
    monkeypatch.setattr(delivery.bus, "publish", published.append)
    delivery.store_state(reported(state=state.CONNECTING))

    delivery.store_state(reported(state=state.CONNECTING, failure=state.UNREACHABLE))
    delivery.store_state(reported(state=state.CONNECTED))

    assert published[-2:] == [
        {"live": False, "why": "WapiKit is unreachable"},
        {"live": True, "why": "WapiKit's event stream is not connected"},
    ]
    assert live_data(False, "WapiKit is unreachable") == "0 WapiKit is unreachable"
    assert live_data(True, "") == "1"


def test_a_reload_while_wapikit_is_unreachable_shows_the_last_copy_and_since_when(login_as, wapikit, settings):
    settings.WAPIKIT_LIST_CACHE_SECONDS = 1
    settings.WAPIKIT_MEMBERS_CACHE_SECONDS = 1
    settings.WAPIKIT_SCAN_CACHE_SECONDS = 1
    client = login_as("owner")
    before = body_of(client.get("/"))
    wapikit_gone(settings)

    response = client.get("/")
    page = body_of(response)

    assert response.status_code == 200
    # The same conversations (the server profile's lists come in no order: the dashboard's own
    # order may have learned more since).
    assert set(card_ids(page)) == set(card_ids(before))
    assert "WapiKit unreachable since" in page and "showing what was read at" in page
    assert 'class="query"' in page, "the filters stay"


def test_a_view_never_read_before_wapikit_went_keeps_the_top_bar_s_links(login_as, wapikit, settings):
    settings.WAPIKIT_MEMBERS_CACHE_SECONDS = 1
    client = login_as("manager")
    assert ">Workload</a>" in body_of(client.get("/"))
    wapikit_gone(settings)

    # No copy of the Closed list was ever kept: the page says what failed, under the usual top bar.
    page = body_of(client.get("/?status=closed"))

    assert "Conversations could not be loaded." in page
    assert ">Workload</a>" in page


def test_a_conversation_page_reloaded_while_wapikit_is_unreachable_shows_its_last_copy(login_as, wapikit, settings):
    settings.WAPIKIT_CONVERSATION_CACHE_SECONDS = 1
    settings.WAPIKIT_MEMBERS_CACHE_SECONDS = 1
    client = login_as("owner")
    conversation = first_conversation(wapikit)
    path = f"/conversations/{conversation['uniqueId']}/"
    assert client.get(path).status_code == 200
    wapikit_gone(settings)

    response = client.get(path)
    page = body_of(response)

    assert response.status_code == 200
    assert 'id="outage-note"' in page and "WapiKit unreachable since" in page
    assert html(conversation["contact"]["name"]) in page
