"""The response targets page, end to end against the sandbox (which says who is an Owner): Owners
and staff set the team's targets with a plain form, and every clock counts with what they saved;
anyone else is refused; input that cannot be a target is refused field by field, saving nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.conversations import clocks, targets
from dashboard.conversations.models import ResponseTargets
from tests.integration.conftest import body_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

URL = "/settings/targets/"
SAVE = "/settings/targets/save/"
LINK = f'href="{URL}"'
GOOD = {
    "first_response_minutes": "30",
    "next_response_minutes": "90",
    "due_soon_minutes": "10",
    "window_warning_minutes": "60",
    "business_hours": "on",
    "time_zone": "Europe/Berlin",
    "working_days": ["0", "1", "2", "3", "4"],
    "day_starts": "09:00",
    "day_ends": "17:00",
}


@dataclass
class Life:
    first_inbound_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None


def test_an_owner_sees_the_defaults_from_the_settings_and_the_link_to_the_page(wapikit, login_as, settings):
    settings.FIRST_RESPONSE_TARGET_MINUTES = 25
    owner = login_as("owner")

    answer = owner.get(URL)

    body = body_of(answer)
    assert answer.status_code == 200
    assert LINK in body and 'aria-current="page">Targets</a>' in body
    assert 'name="first_response_minutes" value="25"' in body
    assert "Nobody has set them yet" in body


def test_an_owner_saves_the_targets_and_the_clock_counts_with_them(wapikit, login_as, caplog):
    owner = login_as("owner")
    now = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # a Friday, 16:00 in Berlin
    waiting = Life(first_inbound_at=now - timedelta(minutes=18), last_inbound_at=now - timedelta(minutes=18))
    assert clocks.clock_for(waiting, targets.current(), now).state is clocks.State.OVERDUE  # 15 by default

    with caplog.at_level(logging.INFO, logger="dashboard.conversations"):
        answer = owner.post(SAVE, GOOD)

    assert answer.status_code == 302 and answer["Location"] == URL
    page = body_of(owner.get(URL))
    assert "Response targets saved" in page
    assert 'name="first_response_minutes" value="30"' in page
    assert "Last changed by" in page and "owner@example.com" in page
    assert "response targets changed by owner@example.com: first_response_minutes 15 -> 30" in caplog.text
    saved = targets.current()
    assert saved == clocks.Targets(
        first_response=30, next_response=90, due_soon=10, window_warning=60,
        hours=clocks.BusinessHours(
            zone=ZoneInfo("Europe/Berlin"), days=frozenset(range(5)), opens=time(9), closes=time(17)
        ),
    )
    clock = clocks.clock_for(waiting, saved, now)
    assert (clock.state, clock.minutes_left) == (clocks.State.ON_TIME, 12)
    # A message at 16:50 on Friday: 10 minutes of the target that day, the other 20 on Monday from 09:00 CET.
    late = Life(first_inbound_at=now + timedelta(minutes=50))
    assert clocks.clock_for(late, saved, now).due_at == datetime(2026, 3, 23, 8, 20, tzinfo=UTC)


def test_staff_may_set_the_targets_without_a_wapikit_member(wapikit, make_user, client):
    staff = make_user("staff@example.com")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)

    answer = client.post(SAVE, {**GOOD, "business_hours": ""})

    assert answer.status_code == 302
    assert targets.current().hours is None
    assert ResponseTargets.objects.get().changed_by == "staff@example.com"


@pytest.mark.parametrize("kind", ["manager", "agent"])
def test_a_member_who_is_not_an_owner_is_refused_with_a_page_that_says_why(wapikit, login_as, kind):
    member = login_as(kind)

    shown = member.get(URL)
    posted = member.post(SAVE, GOOD)

    assert shown.status_code == posted.status_code == 403
    assert "Only WapiKit owners and dashboard staff may set the team's response targets." in body_of(shown)
    assert 'name="first_response_minutes"' not in body_of(shown)
    assert LINK not in body_of(shown)
    assert not ResponseTargets.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_response_minutes", "-5", "A target is at least 1 minute."),
        ("due_soon_minutes", "-1", "Minutes cannot be negative."),
        ("next_response_minutes", "soon", "Enter a whole number."),
        ("day_ends", "08:00", "The working day must end after it starts (on the same day)."),
        ("time_zone", "Mars/Olympus_Mons", "Unknown time zone: give an IANA name, such as Europe/Berlin."),
        ("time_zone", "../../etc/passwd", "Unknown time zone: give an IANA name, such as Europe/Berlin."),
        ("working_days", [], "Business hours need at least one working day."),
    ],
)
def test_bad_input_is_refused_with_what_is_wrong_and_nothing_is_saved(wapikit, login_as, field, value, message):
    owner = login_as("owner")

    answer = owner.post(SAVE, {**GOOD, field: value})

    body = body_of(answer)
    assert answer.status_code == 400
    assert "Nothing was saved." in body
    assert message.replace("'", "&#x27;") in body
    assert not ResponseTargets.objects.exists()
    assert targets.current() == targets.defaults()


def test_the_page_is_read_with_get_and_the_form_posted_to_its_own_route(wapikit, login_as):
    owner = login_as("owner")

    assert owner.post(URL, GOOD).status_code == 405
    assert owner.get(SAVE).status_code == 405
    assert f'action="{SAVE}"' in body_of(owner.get(URL))
    assert not ResponseTargets.objects.exists()
