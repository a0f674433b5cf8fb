"""Campaigns by name: the sandbox serves the campaigns it seeds in every profile, the client
reads them, the shared reads keep them, and the inbox page offers them (id and name) to its
campaign filter, whose URL parameter stays the id."""

from __future__ import annotations

import logging
import re

import pytest

from dashboard.conversations import shared
from dashboard.wapikit import errors, get_client
from dashboard.wapikit.breaker import CircuitOpen
from devtools.sandbox.seed import CAMPAIGNS
from tests.integration.conftest import body_of, html

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PROFILES = ["wapikit", "server_wapikit", "legacy_wapikit"]
SEEDED = sorted(name for name, _, _ in CAMPAIGNS)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_sandbox_serves_the_campaigns_it_seeds_and_the_client_reads_them(profile, request):
    request.getfixturevalue(profile)

    campaigns = get_client().list_campaigns()

    assert sorted(c.name for c in campaigns) == SEEDED
    assert len({c.unique_id for c in campaigns}) == len(SEEDED)


def test_the_spec_answer_carries_every_field_the_spec_requires(wapikit):
    if wapikit.profile != "spec":
        pytest.skip("this run's sandbox answers as the server")
    answer = wapikit.get("/campaigns", page=1, per_page=50)

    assert answer["paginationMeta"] == {"page": 1, "per_page": 50, "total": len(SEEDED)}
    for campaign in answer["campaigns"]:
        assert {"uniqueId", "name", "status", "lists", "tags", "isLinkTrackingEnabled", "createdAt"} <= campaign.keys()


def test_the_server_answer_sends_nil_slices_as_null(server_wapikit):
    answer = server_wapikit.get("/campaigns", page=1, per_page=2)

    assert len(answer["campaigns"]) == 2
    assert all(c["lists"] is None and c["tags"] is None for c in answer["campaigns"])
    assert server_wapikit.get("/campaigns", page=9, per_page=2)["campaigns"] is None


@pytest.mark.parametrize("profile", ["wapikit", "server_wapikit"])
def test_the_inbox_offers_the_campaigns_by_name_with_their_ids(profile, request, login_as):
    sandbox = request.getfixturevalue(profile)
    ids_by_name = {c["name"]: c["uniqueId"] for c in sandbox.get("/campaigns", page=1, per_page=50)["campaigns"]}

    response = login_as("manager").get("/")

    assert response.status_code == 200
    assert response.context["campaigns"] == [(ids_by_name[name], name) for name in SEEDED]


def test_the_campaign_filter_keeps_taking_the_id(login_as, wapikit):
    client = login_as("manager")
    campaign_id, _ = client.get("/").context["campaigns"][0]

    response = client.get(f"/?campaign={campaign_id}&status=all")

    assert response.status_code == 200
    assert response.context["query"].campaign == campaign_id
    assert all(c.campaign_id == campaign_id for c in response.context["inbox"].conversations)


def test_campaign_names_are_read_once_for_everyone_within_their_lifetime(login_as, wapikit, upstream_calls, settings):
    settings.WAPIKIT_CAMPAIGNS_CACHE_SECONDS = 300
    login_as("manager").get("/")
    login_as("owner").get("/")  # another user, the same names

    assert [c.path for c in upstream_calls if c.path == "/campaigns"] == ["/campaigns"]


def test_the_inbox_still_loads_when_wapikit_will_not_list_campaigns(login_as, wapikit, monkeypatch):
    def refuse(**_):
        raise errors.NotFound("Not Found", status=404)

    monkeypatch.setattr(type(get_client()), "list_campaigns", lambda self, **kw: refuse())

    response = login_as("manager").get("/")

    assert response.status_code == 200
    assert response.context["campaigns"] == []
    assert shared.ages().stale == []


def test_missing_campaign_names_are_logged_once_when_they_go_and_once_when_they_return(
    login_as, wapikit, monkeypatch, settings, caplog
):
    settings.WAPIKIT_CAMPAIGNS_CACHE_SECONDS = 0  # every inbox asks WapiKit for the names
    client = login_as("manager")
    client.get("/")  # the names are there, whatever an earlier test left behind
    listing = type(get_client()).list_campaigns
    caplog.set_level(logging.INFO, logger="dashboard.inbox.views.inbox")
    caplog.clear()

    def refuse(self, **_):
        raise CircuitOpen("circuit open")

    monkeypatch.setattr(type(get_client()), "list_campaigns", refuse)
    for _ in range(5):
        assert client.get("/").status_code == 200
    monkeypatch.setattr(type(get_client()), "list_campaigns", listing)
    for _ in range(3):
        assert client.get("/").context["campaigns"]

    assert [r.getMessage() for r in caplog.records if r.name == "dashboard.inbox.views.inbox"] == [
        "No campaign names for the filter: circuit open",
        "Campaign names for the filter are back",
    ]


def test_the_filter_form_offers_campaigns_by_name_and_keeps_the_chosen_one(login_as, wapikit):
    client = login_as("manager")
    campaign_id, name = client.get("/").context["campaigns"][0]

    page = body_of(client.get(f"/?campaign={campaign_id}"))

    form = page[page.index('<select name="campaign">'):]
    form = form[: form.index("</select>")]
    assert '<option value="">Any campaign</option>' in form
    assert re.search(rf'<option value="{campaign_id}"\s+selected>{re.escape(html(name))}</option>', form)
    assert 'placeholder="Campaign id"' not in page


def test_without_wapikit_s_campaigns_the_filter_takes_the_id(login_as, wapikit, monkeypatch):
    client = login_as("manager")
    monkeypatch.setattr("dashboard.conversations.selectors.campaign_choices", lambda: [])

    page = body_of(client.get("/"))

    assert 'placeholder="Campaign id"' in page
    assert '<select name="campaign">' not in page
