"""Error pages as a user meets them (issue 20): the dashboard's own 404 under DEBUG too, no
"Read from WapiKit at …" on a page that shows nothing read, and "Try again" only where trying
again could help."""

from __future__ import annotations

import uuid

from dashboard.wapikit import get_client
from tests.integration.conftest import body_of, first_conversation

READ_AT = "Read from WapiKit at"


def test_a_missing_page_under_debug_is_the_dashboard_s_404_not_the_url_patterns(login_as, wapikit, settings):
    client = login_as("owner")
    settings.DEBUG = True

    response = client.get("/no-such-page/")
    page = body_of(response)

    assert response.status_code == 404
    assert "There is no such page." in page
    assert "URLconf" not in page and "conversations/&lt;str:conversation_id&gt;/" not in page
    assert READ_AT not in page


def test_a_missing_page_under_debug_still_redirects_to_the_path_with_its_slash(login_as, wapikit, settings):
    client = login_as("owner")
    settings.DEBUG = True

    response = client.get("/audit")

    assert response.status_code == 301 and response["Location"] == "/audit/"


def test_an_invalid_conversation_id_offers_no_try_again(login_as, wapikit):
    client = login_as("owner")

    response = client.get("/conversations/not-an-id/")
    page = body_of(response)

    assert response.status_code == 400
    assert "not valid" in page
    assert "Try again" not in page
    assert READ_AT not in page


def test_a_missing_conversation_says_nothing_was_read_and_offers_no_try_again(login_as, wapikit):
    client = login_as("owner")

    response = client.get(f"/conversations/{uuid.uuid4()}/")
    page = body_of(response)

    assert response.status_code == 404
    assert "Try again" not in page
    assert READ_AT not in page, "the member list was read, but the page shows nothing of WapiKit's"


def test_an_unreachable_wapikit_still_offers_try_again(login_as, wapikit, settings):
    client = login_as("owner")
    conversation_id = first_conversation(wapikit)["uniqueId"]
    settings.WAPIKIT_BASE_URL = "http://127.0.0.1:9/api"
    get_client.cache_clear()

    page = body_of(client.get(f"/conversations/{conversation_id}/"))

    assert "Try again" in page


def test_a_page_that_was_read_still_says_when(login_as, wapikit):
    client = login_as("owner")

    assert READ_AT in body_of(client.get("/"))


def test_only_a_page_that_failed_for_a_passing_reason_asks_again_by_itself(login_as, wapikit, settings):
    client = login_as("owner")
    invalid = body_of(client.get("/conversations/not-an-id/"))
    settings.WAPIKIT_BASE_URL = "http://127.0.0.1:9/api"
    get_client.cache_clear()

    unreachable = body_of(client.get(f"/conversations/{uuid.uuid4()}/"))

    assert "data-recovers" not in invalid
    assert "data-recovers" in unreachable
