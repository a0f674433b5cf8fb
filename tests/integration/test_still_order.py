"""The inbox's order stays still after the user's own action on WapiKit's server profile, whose
lists come in no order and carry no messages (REAL-SERVER.md): with nothing known of the
conversations' messages, "Oldest waiting first" ties them all, and the order of the ties must
not change because the dashboard learned of one change (issue 20, "the list stays still")."""

from __future__ import annotations

import pytest

from tests.integration.conftest import body_of, card_ids, member_ids, true_state

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reseeded_server(server_wapikit):
    yield server_wapikit
    server_wapikit.reseed()


def test_reassigning_the_first_card_leaves_every_other_card_in_its_order(login_as, reseeded_server, settings):
    settings.WAPIKIT_SCAN_CACHE_SECONDS = 300  # the scan held between the two reads, as in production
    client = login_as("manager")
    view = "/?view=unassigned&sort=waiting"
    before = card_ids(body_of(client.get(view)))
    assert len(before) == 25, "a full first page"
    first = before[0]
    had = set(true_state(reseeded_server, first)["ever_assigned"])
    member = next(i for i in member_ids(reseeded_server).values() if i not in had)

    answer = client.post(f"/conversations/{first}/assign/", {"seen": "Active:", "member_id": member}, **HTMX)

    assert answer.status_code == 200
    assert true_state(reseeded_server, first)["assignee"] == member
    after = card_ids(body_of(client.get(view)))
    assert first not in after
    assert after[:24] == before[1:], "the other cards kept their order; the next page's first came up"
