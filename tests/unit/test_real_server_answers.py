"""The client against answers the way WapiKit's server code gives them (REAL-SERVER.md), faked
at the HTTP boundary: every error shape carries WapiKit's words, the two 401s differ, member
pages count member×role rows, a status update may answer nothing, and the older server's
assign is a GET."""

from __future__ import annotations

import json
import time

import pytest
import responses
from django.core.cache import cache

from dashboard.wapikit import capabilities, errors
from tests.unit.test_client import (
    BASE,
    CONV_ID,
    CONV_URL,
    CONVERSATIONS_URL,
    MEMBER_ID,
    MEMBERS_URL,
    OTHER_MEMBER_ID,
    conversation_json,
    make_client,
    member_json,
    page_meta,
)

THIRD_MEMBER_ID = "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e"
SECOND_ROLE_ID = "4c5d6e7f-8091-4a2b-9c3d-4e5f60718293"


@pytest.fixture(autouse=True)
def fresh_capabilities():
    """What the client learns of a WapiKit lives in Django's cache: start each test unlearned."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client():
    return make_client()


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# Error bodies


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(json.dumps("status must be one of Active, Closed"), id="bare-string"),
        pytest.param(json.dumps({"message": "status must be one of Active, Closed"}), id="message"),
        pytest.param(json.dumps({"error": "status must be one of Active, Closed"}), id="error"),
    ],
)
def test_wapikit_s_own_words_reach_the_user_in_every_error_shape(client, upstream, body):
    upstream.post(CONV_URL, body=body, status=400, content_type="application/json")

    with pytest.raises(errors.Rejected) as caught:
        client.update_conversation_status(CONV_ID, status="Closed")

    assert caught.value.user_message == "WapiKit rejected the change: status must be one of Active, Closed"


def test_a_429_in_the_server_s_shape_says_when_to_come_back(client, upstream):
    reset = int(time.time()) + 600  # the server's reset is a Unix time
    upstream.get(
        CONVERSATIONS_URL,
        json={"error": "Too many requests", "remaining": 0, "reset": reset},
        status=429,
        headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )

    with pytest.raises(errors.RateLimited) as caught:
        client.list_conversations(page=1, per_page=25)

    assert caught.value.detail == "Too many requests"
    assert caught.value.user_message == "WapiKit is rate-limiting requests. Try again in 10 minutes."
    assert client.rate_limits["/conversations"].remaining == 0


def test_a_rejected_key_and_a_key_that_is_not_an_owner_s_get_different_messages(client, upstream):
    upstream.get(CONVERSATIONS_URL, json="Unauthorized access", status=401)
    upstream.get(MEMBERS_URL, json="You are not authorized to access this resource.", status=401)

    with pytest.raises(errors.Unauthorized) as rejected:
        client.list_conversations(page=1, per_page=25)
    with pytest.raises(errors.KeyNotOwner) as not_owner:
        client.list_members()

    assert type(rejected.value) is errors.Unauthorized
    assert "refused the dashboard's API key" in rejected.value.user_message
    assert "only lets an Owner's key" in not_owner.value.user_message
    assert "WAPIKIT_API_KEY" in not_owner.value.user_message


def test_a_500_quotes_what_wapikit_said(client, upstream):
    upstream.get(CONV_URL, json="pq: duplicate key value violates unique constraint", status=500)

    with pytest.raises(errors.ServerError) as caught:
        make_client(get_retries=0).get_conversation(CONV_ID)

    assert "internal error (500)" in caught.value.user_message
    assert "“pq: duplicate key value violates unique constraint”" in caught.value.user_message


def test_rate_limit_headers_are_kept_per_route_pattern(client, upstream):
    upstream.get(
        CONV_URL,
        json={"conversation": conversation_json()},
        headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "411", "X-RateLimit-Reset": "1893456000"},
    )

    client.get_conversation(CONV_ID)

    budget = client.rate_limits["/conversation/:id"]
    assert (budget.limit, budget.remaining, budget.reset) == (600, 411, 1893456000)


# Members


def _member_with_roles(unique_id: str, name: str, role_ids: list[str]) -> dict:
    member = member_json(unique_id, name=name)
    template = member["roles"][0]
    member["roles"] = [{**template, "uniqueId": role_id, "name": f"Role {role_id[:4]}"} for role_id in role_ids]
    return member


def test_members_are_read_until_a_short_page_and_merged_across_pages(client, upstream):
    # Pages of 2 member×role rows: Priya's two roles straddle pages 1 and 2; total counts rows.
    per_page = 2
    pages = [
        [member_json(OTHER_MEMBER_ID, name="Ana Lima"), _member_with_roles(MEMBER_ID, "Priya Raman", ["1e2d3c4b-5a69-4788-96a5-b4c3d2e1f0a9"])],
        [_member_with_roles(MEMBER_ID, "Priya Raman", [SECOND_ROLE_ID]), {**member_json(THIRD_MEMBER_ID, name="Jonas Becker"), "roles": None}],
        [],
    ]
    for number, members in enumerate(pages, start=1):
        upstream.get(
            MEMBERS_URL,
            match=[responses.matchers.query_param_matcher({"page": str(number), "per_page": str(per_page)})],
            json={"members": members or None, "paginationMeta": {"page": number, "per_page": per_page, "total": 0}},
        )

    members = client.list_members(per_page=per_page)

    assert [m.name for m in members] == ["Ana Lima", "Priya Raman", "Jonas Becker"]
    priya = members[1]
    assert {r.unique_id for r in priya.roles} == {"1e2d3c4b-5a69-4788-96a5-b4c3d2e1f0a9", SECOND_ROLE_ID}
    assert members[2].roles == [] and members[2].permissions == frozenset()
    assert len(upstream.calls) == 3  # the third page is empty: the end


def test_a_short_member_page_is_the_last_one(client, upstream):
    upstream.get(
        MEMBERS_URL,
        json={"members": [member_json()], "paginationMeta": page_meta(1, 50, 0)},
    )

    members = client.list_members()

    assert [m.unique_id for m in members] == [MEMBER_ID]
    assert len(upstream.calls) == 1


def test_a_role_without_permissions_grants_nothing(client, upstream):
    member = member_json()
    member["roles"][0]["permissions"] = None
    upstream.get(MEMBERS_URL, json={"members": [member], "paginationMeta": page_meta(1, 50, 1)})

    (read,) = client.list_members()

    assert read.roles[0].permissions == []
    assert not read.can("Get:Conversation")


# Status updates and assignment


def test_a_status_update_answered_with_an_empty_body_returns_none_to_be_read_back(client, upstream):
    upstream.post(CONV_URL, body=b"", status=200)

    assert client.update_conversation_status(CONV_ID, status="Closed") is None


def test_the_older_server_s_405_to_assign_is_retried_once_as_a_get_and_remembered(client, upstream):
    assign_url = f"{CONV_URL}/assign"
    upstream.post(assign_url, json={"message": "Method Not Allowed"}, status=405)
    upstream.get(assign_url, json={"data": True})

    client.assign_conversation(CONV_ID, member_id=MEMBER_ID)
    client.assign_conversation(CONV_ID, member_id=MEMBER_ID)

    assert [c.request.method for c in upstream.calls] == ["POST", "GET", "GET"]
    assert json.loads(upstream.calls[1].request.body) == {"organizationMemberId": MEMBER_ID}
    assert client.capabilities.get(capabilities.ASSIGN_BY_GET) is True


def test_a_404_to_assign_says_whether_the_member_or_the_conversation_is_missing(client, upstream):
    assign_url = f"{CONV_URL}/assign"
    upstream.post(assign_url, json="organization member not found", status=404)

    with pytest.raises(errors.MemberNotFound) as member_missing:
        client.assign_conversation(CONV_ID, member_id=MEMBER_ID)
    upstream.replace(responses.POST, assign_url, json="conversation not found", status=404)
    with pytest.raises(errors.NotFound) as conversation_missing:
        client.assign_conversation(CONV_ID, member_id=MEMBER_ID)

    assert "no such member" in member_missing.value.user_message
    assert type(conversation_missing.value) is errors.NotFound
    assert "no such conversation" in conversation_missing.value.user_message


def test_a_single_answer_naming_an_assignee_teaches_the_client_that_it_can(client, upstream):
    upstream.get(CONV_URL, json={"conversation": conversation_json()})
    assert client.capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE) is None

    client.get_conversation(CONV_ID)

    assert client.capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE) is True


def test_capabilities_are_kept_per_upstream(upstream):
    first, second = make_client(), make_client(base_url=BASE.replace("wapikit.test", "other.test"))

    first.capabilities.learn(capabilities.STATUS_UPDATES_APPLY, False)

    assert first.capabilities.get(capabilities.STATUS_UPDATES_APPLY) is False
    assert second.capabilities.get(capabilities.STATUS_UPDATES_APPLY) is None
