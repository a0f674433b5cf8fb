"""When WapiKit cannot be reached or refuses the key, every page says so in words, never
with a 500 or a traceback, and an action shows the failure where the user clicked."""

from __future__ import annotations

import pytest

from dashboard.wapikit import get_client
from tests.conftest import free_port
from tests.integration.conftest import body_of, first_conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
UNREACHABLE = "WapiKit is unreachable"
BAD_KEY = "WapiKit refused the dashboard&#x27;s API key"


@pytest.fixture
def wapikit_down(wapikit, settings):
    """The dashboard pointed at a loopback port where nothing listens."""

    def down() -> None:
        settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
        get_client.cache_clear()

    return down


def assert_readable_error(response, *, expected: str) -> str:
    assert response.status_code not in (200, 500)
    assert 400 <= response.status_code < 600
    body = body_of(response)
    assert expected in body
    assert "Traceback" not in body
    assert "ConnectionError" not in body
    assert "127.0.0.1" not in body
    return body


def test_the_inbox_says_wapikit_is_unreachable(login_as, wapikit_down):
    client = login_as("manager")
    wapikit_down()

    response = client.get("/")

    body = assert_readable_error(response, expected=UNREACHABLE)
    assert response.status_code == 502
    assert "Conversations could not be loaded." in body
    assert "<article" not in body


def test_the_inbox_says_wapikit_is_unreachable_even_with_a_warm_member_cache(login_as, wapikit, wapikit_down):
    client = login_as("manager")
    assert client.get("/").status_code == 200
    wapikit_down()

    response = client.get("/")

    assert_readable_error(response, expected=UNREACHABLE)
    assert "<article" not in body_of(response)


def test_the_conversation_page_says_wapikit_is_unreachable(login_as, wapikit, wapikit_down):
    conversation = first_conversation(wapikit, "Active")
    client = login_as("manager")
    wapikit_down()

    response = client.get(f"/conversations/{conversation['uniqueId']}/")

    body = assert_readable_error(response, expected=UNREACHABLE)
    assert "This conversation could not be loaded." in body


def test_with_htmx_a_failed_close_shows_the_error_in_the_cards_alert_area(
    login_as, wapikit, warm_members, wapikit_down
):
    conversation = first_conversation(wapikit, "Active")
    cid = conversation["uniqueId"]
    client = login_as("manager")
    warm_members()
    wapikit_down()

    response = client.post(f"/conversations/{cid}/close/", {"next": "/"}, **HTMX)

    body = assert_readable_error(response, expected=UNREACHABLE)
    assert response["HX-Retarget"] == f"#c-{cid} .alert"
    assert response["HX-Reswap"] == "innerHTML show:none"  # an answer never scrolls the page
    assert body.lstrip().startswith('<p class="alert-error" role="alert">')
    assert "<html" not in body
    assert wapikit.get(f"/conversation/{cid}")["conversation"]["status"] == "Active"


def test_with_htmx_a_close_with_a_cold_member_cache_also_fails_in_the_alert_area(login_as, wapikit, wapikit_down):
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    client = login_as("manager")
    wapikit_down()

    response = client.post(f"/conversations/{cid}/close/", {"next": "/"}, **HTMX)

    assert_readable_error(response, expected=UNREACHABLE)
    assert response["HX-Retarget"] == f"#c-{cid} .alert"


def test_without_htmx_a_failed_close_redirects_with_the_error_as_a_flash(
    login_as, wapikit, warm_members, wapikit_down
):
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    client = login_as("manager")
    warm_members()
    wapikit_down()

    response = client.post(f"/conversations/{cid}/close/", {"next": "/?status=closed"})

    assert response.status_code == 302
    assert response["Location"] == "/?status=closed"
    following = client.get(response["Location"])
    body = body_of(following)
    assert '<li class="flash-error">WapiKit is unreachable.' in body
    assert "Traceback" not in body
    assert wapikit.get(f"/conversation/{cid}")["conversation"]["status"] == "Active"


def test_a_wrong_api_key_is_reported_as_refused_by_wapikit(login_as, wapikit, settings):
    client = login_as("manager")
    settings.WAPIKIT_API_KEY = "wrong"
    get_client.cache_clear()

    response = client.get("/")

    body = assert_readable_error(response, expected=BAD_KEY)
    assert "WAPIKIT_API_KEY" in body
    assert "<article" not in body
    assert "wrong" not in body.split('<main id="main">')[1].replace("wrong with", "")


def test_a_wrong_api_key_on_an_action_is_shown_in_the_card(login_as, wapikit, warm_members, settings):
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    client = login_as("manager")
    warm_members()
    settings.WAPIKIT_API_KEY = "wrong"
    get_client.cache_clear()

    response = client.post(f"/conversations/{cid}/close/", {"next": "/"}, **HTMX)

    assert_readable_error(response, expected=BAD_KEY)
    assert response["HX-Retarget"] == f"#c-{cid} .alert"
    assert wapikit.get(f"/conversation/{cid}")["conversation"]["status"] == "Active"


def test_a_slow_wapikit_past_the_read_timeout_is_reported_as_not_answering(login_as, wapikit, settings):
    settings.WAPIKIT_SCAN_CACHE_SECONDS = 0  # the server's unordered lists are read through the scan
    client = login_as("manager")
    assert client.get("/").status_code == 200
    settings.WAPIKIT_TIMEOUT = "1,0.2"
    get_client.cache_clear()
    wapikit.control(latency_ms=400)
    try:
        response = client.get("/")
    finally:
        wapikit.control(latency_ms=0)

    assert_readable_error(response, expected="WapiKit did not answer in time.")
    assert response.status_code == 504
