"""The inbox's layout is the user's own: kept on their profile by the Layout switch, read once a
session, and drawn on their inbox; an unknown layout or a `next` off this site changes nothing
it should not."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.accounts.models import Profile
from tests.integration.conftest import body_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def cards_section(body: str) -> str:
    start = body.index('id="cards"')
    return body[body.rindex("<section", 0, start):start]


def test_the_layout_switch_keeps_the_choice_for_the_user_and_goes_back_to_their_view(login_as, wapikit):
    client = login_as("manager")
    assert "compact" not in cards_section(body_of(client.get("/?view=unassigned")))

    answer = client.post("/account/inbox-layout/", {"layout": "compact", "next": "/?view=unassigned"})

    assert answer.status_code == 302 and answer["Location"] == "/?view=unassigned"
    assert Profile.objects.get(user__email="manager@example.com").inbox_layout == "compact"
    assert 'class="cards compact"' in cards_section(body_of(client.get("/?view=unassigned")))
    # Another session of the same user (another browser) reads it from the profile.
    other = Client()
    other.force_login(Profile.objects.get(user__email="manager@example.com").user)
    assert 'class="cards compact"' in cards_section(body_of(other.get("/")))
    # Nobody else's inbox changes.
    assert "compact" not in cards_section(body_of(login_as("owner").get("/")))


@pytest.mark.parametrize("layout", ["", "tiles", "compact" * 3])
def test_an_unknown_layout_is_refused_and_nothing_is_kept(layout, login_as):
    client = login_as("manager")

    answer = client.post("/account/inbox-layout/", {"layout": layout, "next": "/"})

    assert answer.status_code == 400
    assert not Profile.objects.filter(user__email="manager@example.com", inbox_layout="compact").exists()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example/", ""])
def test_the_switch_never_sends_the_user_off_this_site(next_url, login_as):
    answer = login_as("manager").post("/account/inbox-layout/", {"layout": "compact", "next": next_url})

    assert answer.status_code == 302 and answer["Location"] == "/"


def test_the_switch_is_for_signed_in_users_only(client):
    answer = client.post("/account/inbox-layout/", {"layout": "compact"})

    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert not Profile.objects.exists()
