"""Times are shown in each user's zone: the one they chose on their profile page, else the one
their browser reports in the `tz` cookie (static/js/app.js), else settings.TIME_ZONE. None
of these needs WapiKit: a staff user reads the audit log without asking it who they are."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.accounts.models import Profile
from dashboard.conversations.models import AuditEntry
from tests.integration.conftest import body_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# 14:30 UTC: 15:30 in Berlin (CET), 20:00 in Kolkata (IST), 09:30 in New York (EST).
MOMENT = datetime(2025, 1, 15, 14, 30, 5, tzinfo=UTC)


@pytest.fixture
def staff(client, make_user):
    user = make_user("staff@example.com")
    user.is_staff = True
    user.save()
    client.force_login(user)
    return user


@pytest.fixture
def logged():
    return AuditEntry.objects.create(
        user_email="someone@example.com",
        conversation_id="11111111-1111-1111-1111-111111111111",
        action="close",
        via=AuditEntry.Via.CARD,
        outcome=AuditEntry.Outcome.SUCCEEDED,
        started_at=MOMENT,
        completed_at=MOMENT,
    )


def audit_time(client) -> str:
    body = body_of(client.get("/audit/"))
    start = body.index('<time datetime="')
    return body[body.index(">", start) + 1 : body.index("</time>", start)]


def test_without_a_choice_or_a_cookie_times_are_in_the_servers_zone(client, staff, logged):
    assert audit_time(client) == "15 Jan 2025 14:30:05 UTC"


def test_the_browsers_cookie_alone_sets_the_zone(client, staff, logged):
    client.cookies["tz"] = "Asia/Kolkata"
    assert audit_time(client) == "15 Jan 2025 20:00:05 IST"


@pytest.mark.parametrize(
    "cookie", ["Mars/Olympus_Mons", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "Europe/Berlin%00", "", "x" * 5000]
)
def test_a_cookie_that_names_no_zone_is_ignored(client, staff, logged, cookie):
    client.cookies["tz"] = cookie
    assert audit_time(client) == "15 Jan 2025 14:30:05 UTC"


def test_the_chosen_zone_wins_over_the_browsers(client, staff, logged):
    client.cookies["tz"] = "Asia/Kolkata"
    response = client.post("/account/time-zone/", {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert Profile.objects.get(user=staff).time_zone == "Europe/Berlin"
    assert "Saved: times are shown in Europe/Berlin." in body_of(client.get("/account/"))
    assert audit_time(client) == "15 Jan 2025 15:30:05 CET"


def test_the_choice_is_read_once_a_session(client, staff, logged):
    Profile.objects.create(user=staff, time_zone="America/New_York")
    with CaptureQueriesContext(connection) as first:
        assert audit_time(client) == "15 Jan 2025 09:30:05 EST"
    with CaptureQueriesContext(connection) as second:
        assert audit_time(client) == "15 Jan 2025 09:30:05 EST"
    profile_reads = [q["sql"] for q in first.captured_queries if "accounts_profile" in q["sql"]]
    assert len(profile_reads) == 1
    assert not any("accounts_profile" in q["sql"] for q in second.captured_queries)


def test_an_anonymous_request_asks_nothing_of_the_database_for_its_zone(client):
    client.cookies["tz"] = "Europe/Berlin"
    with CaptureQueriesContext(connection) as seen:
        assert client.get("/accounts/login/").status_code == 200
    assert not any("accounts_profile" in q["sql"] for q in seen.captured_queries)


def test_the_profile_page_preselects_the_browsers_zone_until_one_is_chosen(client, staff):
    client.cookies["tz"] = "Asia/Kolkata"
    body = body_of(client.get("/account/"))
    assert '<option value="Asia/Kolkata" selected>Asia/Kolkata</option>' in body
    assert body.count(" selected>") == 1
    assert "times follow your browser's, Asia/Kolkata" in body.replace("&#x27;", "'")


def test_the_profile_page_is_linked_from_the_top_bar(client, staff):
    body = body_of(client.get("/audit/"))
    assert '<a href="/account/">Profile</a>' in body


def test_the_form_refuses_a_zone_it_does_not_know(client, staff):
    response = client.post("/account/time-zone/", {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    assert "Select a valid choice" in body_of(response)
    assert not Profile.objects.filter(user=staff).exists()


def test_the_profile_page_needs_a_signed_in_user(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_audit_filters_dates_are_days_in_the_readers_zone(client, staff, logged):
    # 14:30 UTC on the 15th is already the 16th in Auckland (UTC+13).
    client.cookies["tz"] = "Pacific/Auckland"
    assert "No entries." not in body_of(client.get("/audit/?since=2025-01-16"))
    client.cookies["tz"] = "UTC"
    assert "No entries." in body_of(client.get("/audit/?since=2025-01-16"))


def test_the_audit_filters_first_and_last_days_of_the_calendar_are_no_500(client, staff, logged):
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        client.cookies["tz"] = zone
        response = client.get(f"/audit/?since={date.min.isoformat()}&until={date.max.isoformat()}")
        assert response.status_code == 200
        assert "No entries." not in body_of(response)


def test_gos_zero_time_is_shown_west_of_utc_without_a_500(client, staff):
    AuditEntry.objects.create(
        user_email="someone@example.com",
        conversation_id="11111111-1111-1111-1111-111111111111",
        action="close",
        via=AuditEntry.Via.CARD,
        outcome=AuditEntry.Outcome.SUCCEEDED,
        started_at=datetime(1, 1, 1, tzinfo=UTC),
        completed_at=timezone.now(),
    )
    client.cookies["tz"] = "America/New_York"
    assert audit_time(client).startswith("1 Jan 0001 00:00:00")
