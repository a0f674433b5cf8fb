"""The team's targets: the settings' defaults until an Owner saves some, read from the database
at most once a request however many clocks a page draws, and a saved row read back as it was set."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from dashboard.conversations import targets
from dashboard.conversations.clocks import BusinessHours, Targets
from dashboard.conversations.models import ResponseTargets
from dashboard.observability.context import current_request_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_a_request():
    def enter(request_id: str):
        return current_request_id.set(request_id)

    tokens = []
    yield lambda request_id: tokens.append(enter(request_id))
    for token in reversed(tokens):
        current_request_id.reset(token)


def save_row(**values) -> ResponseTargets:
    row = dict(
        first_response_minutes=20, next_response_minutes=45, due_soon_minutes=3, window_warning_minutes=90,
        business_hours=True, time_zone="America/Sao_Paulo", working_days="0246", day_starts=time(8, 30),
        day_ends=time(18),
    )
    return ResponseTargets.objects.create(pk=ResponseTargets.TEAM, **{**row, **values})


def test_until_an_owner_saves_targets_the_settings_apply(settings):
    settings.FIRST_RESPONSE_TARGET_MINUTES = 7
    settings.NEXT_RESPONSE_TARGET_MINUTES = 33
    settings.DUE_SOON_WARNING_MINUTES = 2
    settings.REPLY_WINDOW_WARNING_MINUTES = 45

    assert targets.current() == Targets(first_response=7, next_response=33, due_soon=2, window_warning=45)


def test_a_saved_row_is_read_back_with_its_business_hours():
    save_row()

    assert targets.current() == Targets(
        first_response=20, next_response=45, due_soon=3, window_warning=90,
        hours=BusinessHours(
            zone=ZoneInfo("America/Sao_Paulo"), days=frozenset({0, 2, 4, 6}), opens=time(8, 30), closes=time(18)
        ),
    )


def test_business_hours_switched_off_are_kept_but_not_counted():
    save_row(business_hours=False)

    assert targets.current().hours is None


def test_a_request_reads_the_targets_once_however_many_clocks_it_draws(in_a_request, django_assert_num_queries):
    save_row()
    in_a_request("request-one")
    with django_assert_num_queries(1):
        found = [targets.current() for _ in range(50)]
    assert len(set(found)) == 1

    in_a_request("request-two")
    with django_assert_num_queries(1):
        targets.current()
        targets.current()


def test_outside_a_request_each_read_asks_the_database(django_assert_num_queries):
    with django_assert_num_queries(2):
        targets.current()
        targets.current()


def test_a_request_that_saves_counts_with_what_it_saved(in_a_request, django_user_model):
    in_a_request("request-that-saves")
    assert targets.current() == targets.defaults()
    form = targets.TargetsForm(
        {
            "first_response_minutes": "9", "next_response_minutes": "30", "due_soon_minutes": "1",
            "window_warning_minutes": "60", "time_zone": "UTC", "working_days": ["0"],
            "day_starts": "09:00", "day_ends": "10:00",
        }
    )
    assert form.is_valid(), form.errors
    user = django_user_model.objects.create_user(email="owner@example.com", password="x")

    targets.targets_save(form=form, user=user)

    assert targets.current().first_response == 9
