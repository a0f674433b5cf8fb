"""The sandbox's "server" profile answers as WapiKit's server code does (shared/wapikit/REAL-SERVER.md)
and its "legacy" profile as the older server does: raw HTTP against each, one test per behaviour."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import requests

from tests.conftest import running_sandbox

pytestmark = pytest.mark.integration

NOT_PERMITTED = "You are not authorized to access this resource."
DUPLICATE = 'pq: duplicate key value violates unique constraint "ConversationAssignment_pkey"'


@pytest.fixture(autouse=True)
def default_knobs(request) -> Iterator[None]:
    """Every test starts and ends with full rate-limit budgets and every control knob at its default."""
    sandboxes = [request.getfixturevalue(name) for name in ("server_sandbox", "legacy_sandbox") if name in request.fixturenames]
    for sandbox in sandboxes:
        sandbox.control(reset=True)
    yield
    for sandbox in sandboxes:
        sandbox.control(reset=True)


@pytest.fixture
def fresh_server(server_sandbox):
    """The server sandbox for a test that changes its data: seeded again afterwards."""
    yield server_sandbox
    server_sandbox.control(reset=True)
    server_sandbox.reseed()


@pytest.fixture
def fresh_legacy(legacy_sandbox):
    yield legacy_sandbox
    legacy_sandbox.control(reset=True)
    legacy_sandbox.reseed()


def member_key(sandbox) -> str:
    return f"{sandbox.api_key}-member"


def call(sandbox, method: str, path: str, *, key: str | None = "owner", **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["x-access-token"] = sandbox.api_key if key == "owner" else key
    return requests.request(method, f"{sandbox.base_url}{path}", headers=headers, timeout=5, **kwargs)


def conversations(sandbox, *, key: str | None = "owner", **params) -> requests.Response:
    return call(sandbox, "GET", "/conversations", key=key, params={"page": 1, "per_page": 50, **params})


def listed(sandbox, **params) -> list[dict]:
    """Every conversation the list gives for these filters, page by page: `total` is always 0, so
    the first short page is the last."""
    found: list[dict] = []
    for page in range(1, 20):
        answer = conversations(sandbox, page=page, **params).json()["conversations"]
        found.extend(answer)
        if len(answer) < 50:
            return found
    raise AssertionError("the list did not end")


def members(sandbox, *, page: int = 1, per_page: int = 100, **kwargs) -> requests.Response:
    return call(sandbox, "GET", "/organization/members", params={"page": page, "per_page": per_page}, **kwargs)


def member_ids(sandbox) -> dict[str, str]:
    """email -> member uniqueId."""
    return {m["email"]: m["uniqueId"] for m in members(sandbox).json()["members"]}


def one(sandbox, conversation_id: str) -> dict:
    return call(sandbox, "GET", f"/conversation/{conversation_id}").json()["conversation"]


def messages(sandbox, conversation_id: str, **params) -> requests.Response:
    return call(sandbox, "GET", f"/conversation/{conversation_id}/messages", params={"page": 1, "per_page": 200, **params})


def never_assigned(sandbox) -> dict:
    """An Active conversation with no assignment in its history (the list shows any it had)."""
    return next(c for c in listed(sandbox, status="Active") if "assignedTo" not in c)


def assign(sandbox, conversation_id: str, member_id: str, *, method: str = "POST") -> requests.Response:
    return call(sandbox, method, f"/conversation/{conversation_id}/assign", json={"organizationMemberId": member_id})


def unassign(sandbox, conversation_id: str, *, method: str = "POST", **kwargs) -> requests.Response:
    return call(sandbox, method, f"/conversation/{conversation_id}/unassign", **kwargs)


def inbound(sandbox, **body) -> dict:
    response = requests.post(
        f"{sandbox.root_url}/_sandbox/events", json=body, headers={"x-access-token": sandbox.api_key}, timeout=5
    )
    response.raise_for_status()
    return response.json()


# Live events: a raw Server-Sent Events reader


class EventStream:
    """`GET /api/events?token=...` read line by line, with no SSE library in between."""

    def __init__(self, sandbox, token: str) -> None:
        self.response = requests.get(f"{sandbox.base_url}/events", params={"token": token}, stream=True, timeout=5)
        self.lines = self.response.iter_lines()

    def frame(self) -> list[str]:
        """The lines of the next frame (without the blank line that ends it)."""
        lines: list[str] = []
        for raw in self.lines:
            if raw:
                lines.append(raw.decode())
            elif lines:
                return lines
        raise EOFError("the stream ended")

    def event(self) -> tuple[str, Any]:
        """The next event's type and decoded payload; a frame holds an event and data line only."""
        lines = self.frame()
        fields = dict(line.split(": ", 1) for line in lines)
        assert len(lines) == 2 and set(fields) == {"event", "data"}, lines
        return fields["event"], msgspec.msgpack.decode(base64.b64decode(fields["data"]))

    def close(self) -> None:
        self.response.close()


@contextlib.contextmanager
def streams(sandbox, *tokens: str) -> Iterator[list[EventStream]]:
    wait_for_streams(sandbox, 0)
    opened = [EventStream(sandbox, token) for token in tokens]
    try:
        for stream in opened:
            assert stream.frame() == ["event: connected", "data: OK"]
        yield opened
    finally:
        for stream in opened:
            stream.close()
        wait_for_streams(sandbox, 0)


def wait_for_streams(sandbox, count: int, *, seconds: float = 3) -> None:
    deadline = time.monotonic() + seconds
    while sandbox.control()["event_subscribers"] != count:
        assert time.monotonic() < deadline, f"the sandbox never had {count} open event streams"
        time.sleep(0.05)


def marker(sandbox, conversation_id: str) -> None:
    """A NewMessage to everyone: whatever a stream reads before it was sent to that stream."""
    inbound(sandbox, type="NewMessage", conversation_id=conversation_id, text="marker")


# Error bodies


def test_handler_errors_are_a_bare_json_string(server_sandbox):
    bad_id = call(server_sandbox, "GET", "/conversation/not-a-uuid")
    bad_page = conversations(server_sandbox, page=0)

    assert (bad_id.status_code, bad_id.json()) == (400, "invalid conversation id")
    assert bad_id.text == '"invalid conversation id"\n'
    assert (bad_page.status_code, bad_page.json()) == (400, "Invalid page or perPage value")


def test_a_page_past_int64_is_refused_and_one_whose_offset_wraps_around_fails_in_the_database(server_sandbox):
    past_int64 = conversations(server_sandbox, page=99999999999999999999999)
    wrapped = conversations(server_sandbox, page=2 * 10**17, per_page=50)  # (page - 1) × 50 wraps below zero

    assert past_int64.status_code == 400
    assert past_int64.json() == 'strconv.ParseInt: parsing "99999999999999999999999": value out of range'
    assert (wrapped.status_code, wrapped.json()) == (500, "pq: OFFSET must not be negative")


def test_an_unknown_status_fails_in_the_database_with_500(server_sandbox):
    response = conversations(server_sandbox, status="Archived")

    assert response.status_code == 500
    assert response.json() == 'pq: invalid input value for enum "ConversationStatusEnum": "Archived"'


def test_an_unknown_path_and_a_wrong_method_answer_echos_message_object(server_sandbox):
    unknown = call(server_sandbox, "GET", "/nowhere")
    wrong_method = call(server_sandbox, "PUT", "/conversations")

    assert (unknown.status_code, unknown.json()) == (404, {"message": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"message": "Method Not Allowed"})


# Keys


@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["no key", "wrong key"])
def test_a_bad_or_missing_key_is_refused_with_unauthorized_access(server_sandbox, key):
    response = conversations(server_sandbox, key=key)

    assert (response.status_code, response.json()) == (401, "Unauthorized access")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/conversations?page=1&per_page=5"),
        ("GET", "/conversation/{id}"),
        ("POST", "/conversation/{id}"),
        ("DELETE", "/conversation/{id}"),
        ("POST", "/conversation/{id}/assign"),
        ("POST", "/conversation/{id}/unassign"),
        ("GET", "/conversation/{id}/messages?page=1&per_page=5"),
        ("GET", "/organization/members?page=1&per_page=5"),
    ],
)
def test_the_member_key_is_refused_on_every_route_that_needs_a_permission(server_sandbox, method, path):
    conversation = conversations(server_sandbox).json()["conversations"][0]

    response = call(server_sandbox, method, path.format(id=conversation["uniqueId"]), key=member_key(server_sandbox), json={})

    assert (response.status_code, response.json()) == (401, NOT_PERMITTED)


def test_the_api_key_is_the_owners_and_the_member_key_a_member_whose_role_grants_the_permissions(server_sandbox):
    everyone = {m["email"]: m for m in members(server_sandbox).json()["members"]}

    assert everyone["owner@example.com"]["accessLevel"] == "Owner"
    manager = everyone["manager@example.com"]
    assert manager["accessLevel"] == "Member"
    assert {"Get:Conversation", "Get:OrganizationMember"} <= set(manager["roles"][0]["permissions"])


# Rate limits


def test_every_answer_carries_the_rate_limit_headers_in_unix_seconds(server_sandbox):
    before = int(time.time())

    answers = [conversations(server_sandbox), conversations(server_sandbox, key=None), conversations(server_sandbox, page=0)]

    assert [a.status_code for a in answers] == [200, 401, 400]
    assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["600"] * 3
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["599", "598", "597"]
    for answer in answers:
        assert before + 3600 <= int(answer.headers["X-RateLimit-Reset"]) <= int(time.time()) + 3600


@pytest.mark.parametrize(
    "method, path, limit",
    [
        ("GET", "/conversations?page=1&per_page=1", 600),
        ("GET", "/conversation/{id}", 600),
        ("POST", "/conversation/{id}/assign", 600),
        ("POST", "/conversation/{id}/unassign", 600),
        ("GET", "/conversation/{id}/messages?page=1&per_page=1", 600),
        ("GET", "/organization/members?page=1&per_page=1", 60),
    ],
)
def test_each_route_has_its_own_limit(server_sandbox, method, path, limit):
    # A member's key: refused by the permission check, so nothing changes, yet counted.
    response = call(server_sandbox, method, path.format(id=uuid.uuid4()), key=member_key(server_sandbox))

    assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == (str(limit), str(limit - 1))


def test_a_spent_budget_answers_429_with_error_remaining_and_reset_and_no_retry_after(server_sandbox):
    server_sandbox.control(rate_limits={"members": 3})

    answers = [members(server_sandbox) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    body = refused.json()
    assert body["error"] == "Rate limit exceeded" and body["remaining"] == 0
    assert set(body) == {"error", "remaining", "reset"}
    assert abs(body["reset"] - (time.time() + 60)) < 3
    assert "Retry-After" not in refused.headers
    assert (refused.headers["X-RateLimit-Limit"], refused.headers["X-RateLimit-Remaining"]) == ("3", "0")


def test_requests_are_counted_before_the_key_is_checked(server_sandbox):
    server_sandbox.control(rate_limits={"members": 2})

    refused_keys = [members(server_sandbox, key=None).status_code for _ in range(2)]

    assert refused_keys == [401, 401]
    assert members(server_sandbox).status_code == 429


def test_get_post_and_delete_of_one_conversation_share_a_budget_across_ids(server_sandbox):
    server_sandbox.control(rate_limits={"conversation": 3})
    conversation_id = conversations(server_sandbox).json()["conversations"][0]["uniqueId"]

    spent = [call(server_sandbox, m, f"/conversation/{conversation_id}").status_code for m in ("GET", "POST", "DELETE")]

    assert spent == [200, 200, 400]
    assert call(server_sandbox, "GET", f"/conversation/{uuid.uuid4()}").status_code == 429
    assert conversations(server_sandbox).status_code == 200, "the list is another route"


def test_budgets_are_counted_per_client_ip(server_sandbox):
    server_sandbox.control(rate_limits={"members": 1})

    first = members(server_sandbox, headers={"X-Forwarded-For": "203.0.113.7"})
    again = members(server_sandbox, headers={"X-Forwarded-For": "203.0.113.7"})
    other = members(server_sandbox, headers={"X-Forwarded-For": "203.0.113.8"})

    assert [first.status_code, again.status_code, other.status_code] == [200, 429, 200]


def test_reset_clears_the_counters_and_the_custom_limits(server_sandbox):
    server_sandbox.control(rate_limits={"members": 1})
    assert [members(server_sandbox).status_code for _ in range(2)] == [200, 429]

    server_sandbox.control(reset=True)

    answer = members(server_sandbox)
    assert answer.status_code == 200
    assert (answer.headers["X-RateLimit-Limit"], answer.headers["X-RateLimit-Remaining"]) == ("60", "59")


# Members


def test_a_member_without_roles_has_roles_null_and_a_role_without_permissions_permissions_null(server_sandbox):
    everyone = {m["email"]: m for m in members(server_sandbox).json()["members"]}

    assert everyone["owner@example.com"]["roles"] is None
    roles = [role for member in everyone.values() for role in member["roles"] or []]
    assert any(role["permissions"] is None for role in roles)
    assert all(role["permissions"] is None or role["permissions"] for role in roles)


def test_members_per_page_has_no_upper_limit(server_sandbox):
    answer = members(server_sandbox, per_page=5000)

    assert answer.status_code == 200
    assert answer.json()["paginationMeta"]["per_page"] == 5000


def test_members_are_paged_by_member_role_rows_so_a_member_can_straddle_two_pages(server_sandbox):
    everyone = members(server_sandbox).json()
    rows = sum(len(m["roles"] or [None]) for m in everyone["members"])
    assert everyone["paginationMeta"]["total"] == rows > len(everyone["members"])

    pages = [members(server_sandbox, page=page, per_page=1).json()["members"] for page in range(1, rows + 1)]

    assert all(len(page) == 1 for page in pages)
    two_roles = next(m for m in everyone["members"] if len(m["roles"] or []) == 2)
    halves = [page[0] for page in pages if page[0]["uniqueId"] == two_roles["uniqueId"]]
    assert [len(half["roles"]) for half in halves] == [1, 1]
    assert [half["roles"][0] for half in halves] == two_roles["roles"]


def test_an_empty_members_page_has_members_null_and_total_zero(server_sandbox):
    answer = members(server_sandbox, page=100, per_page=50).json()

    assert answer == {"members": None, "paginationMeta": {"page": 100, "per_page": 50, "total": 0}}


# The conversation list


def test_the_list_has_total_zero_no_messages_and_assignees_without_roles(server_sandbox):
    answer = conversations(server_sandbox).json()

    assert answer["paginationMeta"] == {"page": 1, "per_page": 50, "total": 0}
    assert all(c["messages"] == [] and c["totalMessages"] > 0 for c in answer["conversations"])
    assignees = [c["assignedTo"] for c in answer["conversations"] if "assignedTo" in c]
    assert assignees and all(a["roles"] == [] for a in assignees)


def test_the_list_has_no_order_and_ignores_order_contact_id_and_list_id(server_sandbox):
    default = [c["uniqueId"] for c in conversations(server_sandbox).json()["conversations"]]
    contact_id = conversations(server_sandbox).json()["conversations"][0]["contactId"]

    for params in ({"order": "asc"}, {"order": "desc"}, {"contact_id": contact_id}, {"list_id": str(uuid.uuid4())}):
        assert [c["uniqueId"] for c in conversations(server_sandbox, **params).json()["conversations"]] == default, params
    created = [c["createdAt"] for c in conversations(server_sandbox).json()["conversations"]]
    assert created not in (sorted(created), sorted(created, reverse=True))


def test_without_a_status_the_list_leaves_out_closed_and_deleted_but_not_resolved(server_sandbox):
    assert {c["status"] for c in listed(server_sandbox)} == {"Active", "Resolved"}


def test_resolved_is_a_status_and_the_seed_has_several(server_sandbox):
    resolved = listed(server_sandbox, status="Resolved")

    assert len(resolved) >= 5
    assert {c["status"] for c in resolved} == {"Resolved"}


def test_only_status_and_campaign_id_filter_the_list(server_sandbox):
    everything = listed(server_sandbox, status="Active")
    campaign_id = next(c["campaignId"] for c in everything if c["campaignId"])

    of_campaign = listed(server_sandbox, status="Active", campaign_id=campaign_id)

    assert {c["uniqueId"] for c in of_campaign} == {c["uniqueId"] for c in everything if c["campaignId"] == campaign_id}
    assert 0 < len(of_campaign) < len(everything)
    assert any(c["campaignId"] == "" for c in everything), "no campaign reads as an empty string"


# One conversation


def test_one_conversation_never_carries_its_assignee(server_sandbox):
    assigned = next(c for c in conversations(server_sandbox).json()["conversations"] if "assignedTo" in c)

    answer = one(server_sandbox, assigned["uniqueId"])

    assert "assignedTo" not in answer
    assert answer["uniqueId"] == assigned["uniqueId"] and answer["numberOfUnreadMessages"] == 0


def test_template_and_location_messages_read_as_null(server_sandbox):
    everything = listed(server_sandbox, status="Active")
    from_campaign = next(c for c in everything if c["campaignId"])
    # The seed stores a campaign's opening message as a Template, and only there.
    assert one(server_sandbox, from_campaign["uniqueId"])["messages"][0] is None

    with_location = None
    for conversation in (c for c in everything if not c["campaignId"]):
        if None in messages(server_sandbox, conversation["uniqueId"]).json()["messages"]:
            with_location = conversation
            break
    assert with_location is not None, "a Location message reads as null"
    assert None in one(server_sandbox, with_location["uniqueId"])["messages"]


# Messages


def test_messages_allow_up_to_200_per_page(server_sandbox):
    conversation_id = conversations(server_sandbox).json()["conversations"][0]["uniqueId"]

    assert messages(server_sandbox, conversation_id, per_page=200).status_code == 200
    too_many = messages(server_sandbox, conversation_id, per_page=201)
    assert (too_many.status_code, too_many.json()) == (400, "Invalid page or perPage value")


def test_page_one_holds_the_newest_messages_oldest_first_whatever_the_order(server_sandbox):
    conversation = next(c for c in conversations(server_sandbox).json()["conversations"] if c["totalMessages"] >= 6)
    oldest_first = messages(server_sandbox, conversation["uniqueId"]).json()["messages"]

    pages = [messages(server_sandbox, conversation["uniqueId"], page=p, per_page=3, order="asc").json() for p in (1, 2)]

    assert pages[0]["messages"] == oldest_first[-3:]
    assert pages[1]["messages"] == oldest_first[-6:-3]
    assert pages[0]["paginationMeta"]["total"] == conversation["totalMessages"] == len(oldest_first)
    desc = messages(server_sandbox, conversation["uniqueId"], per_page=3, order="desc").json()["messages"]
    assert desc == pages[0]["messages"]


# Updating and deleting


def test_updating_the_status_answers_200_with_an_empty_body_and_changes_nothing(server_sandbox):
    conversation = listed(server_sandbox, status="Active")[0]

    response = call(server_sandbox, "POST", f"/conversation/{conversation['uniqueId']}", json={"status": "Closed"})

    assert (response.status_code, response.content) == (200, b"")
    assert one(server_sandbox, conversation["uniqueId"])["status"] == "Active"


def test_deleting_answers_400_with_null_and_deletes_nothing(server_sandbox):
    conversation = listed(server_sandbox, status="Active")[0]

    response = call(server_sandbox, "DELETE", f"/conversation/{conversation['uniqueId']}")

    assert (response.status_code, response.text) == (400, "null\n")
    assert one(server_sandbox, conversation["uniqueId"])["status"] == "Active"


# Assignment


def test_assigning_answers_data_true_and_the_list_then_shows_the_assignee(fresh_server):
    conversation = never_assigned(fresh_server)
    agent_id = member_ids(fresh_server)["agent@example.com"]

    response = assign(fresh_server, conversation["uniqueId"], agent_id)

    assert (response.status_code, response.json()) == (200, {"data": True})
    listed_again = next(c for c in listed(fresh_server, status="Active") if c["uniqueId"] == conversation["uniqueId"])
    assert listed_again["assignedTo"]["uniqueId"] == agent_id


def test_assigning_a_member_who_was_assigned_before_fails_with_500(fresh_server):
    conversation_id = never_assigned(fresh_server)["uniqueId"]
    agent_id = member_ids(fresh_server)["agent@example.com"]
    assert assign(fresh_server, conversation_id, agent_id).status_code == 200
    assert unassign(fresh_server, conversation_id).status_code == 200

    again = assign(fresh_server, conversation_id, agent_id)

    assert (again.status_code, again.json()) == (500, DUPLICATE)


def test_assigning_an_unknown_member_answers_404(server_sandbox):
    conversation_id = never_assigned(server_sandbox)["uniqueId"]

    response = assign(server_sandbox, conversation_id, str(uuid.uuid4()))

    assert (response.status_code, response.json()) == (404, "organization member not found")


def test_assigning_does_not_end_the_current_assignment(fresh_server):
    conversation_id = never_assigned(fresh_server)["uniqueId"]
    ids = member_ids(fresh_server)
    fresh_server.control(unassign_event="assignee")
    with streams(fresh_server, fresh_server.api_key) as (owner,):
        assign(fresh_server, conversation_id, ids["owner@example.com"])
        assign(fresh_server, conversation_id, ids["manager@example.com"])

        unassign(fresh_server, conversation_id)
        marker(fresh_server, conversation_id)

        # Unassigning tells the first active assignee: still the owner, so the second
        # assignment did not end the first.
        assert [owner.event()[0] for _ in range(3)] == ["ChatAssignment", "ChatUnAssignment", "NewMessage"]


def test_unassigning_never_reads_the_body_and_ends_every_assignment(fresh_server):
    conversation_id = never_assigned(fresh_server)["uniqueId"]
    ids = member_ids(fresh_server)
    fresh_server.control(unassign_event="assignee")
    with streams(fresh_server, member_key(fresh_server)) as (manager,):
        assign(fresh_server, conversation_id, ids["owner@example.com"])
        assign(fresh_server, conversation_id, ids["manager@example.com"])

        first = unassign(fresh_server, conversation_id, data=b"not json", headers={"Content-Type": "text/plain"})
        second = unassign(fresh_server, conversation_id)
        marker(fresh_server, conversation_id)

        assert (first.status_code, first.json()) == (200, {"data": True})
        assert second.status_code == 200
        # Had the first unassign ended only the owner's assignment, the second would have told
        # the manager.
        assert [manager.event()[0] for _ in range(2)] == ["ChatAssignment", "NewMessage"]


def test_unassigning_a_conversation_never_assigned_fails_with_500(server_sandbox):
    response = unassign(server_sandbox, never_assigned(server_sandbox)["uniqueId"])

    assert (response.status_code, response.json()) == (500, "qrm: no rows in result set")


# A NULL contact attributes column


def test_null_contact_attributes_make_the_list_and_the_conversation_panic(fresh_server):
    conversation_id = fresh_server.control(null_attributes=True)["null_attributes"]
    panic = (500, {"message": "Internal Server Error"})

    listed_page = conversations(fresh_server)
    got = call(fresh_server, "GET", f"/conversation/{conversation_id}")

    assert (listed_page.status_code, listed_page.json()) == panic
    assert (got.status_code, got.json()) == panic
    fresh_server.control(reset=True)
    assert conversations(fresh_server).status_code == 200, "reset gives the attributes back"


# Live events


def test_a_bad_event_token_gets_401_and_one_error_frame(server_sandbox):
    response = requests.get(f"{server_sandbox.base_url}/events", params={"token": "wrong"}, timeout=5)

    assert (response.status_code, response.text) == (401, "event: error\ndata: Authorization failed\n\n")


def test_a_stream_opens_connected_then_sends_base64_messagepack_frames_with_json_tag_keys(fresh_server):
    conversation = listed(fresh_server, status="Active")[0]
    with streams(fresh_server, fresh_server.api_key) as (stream,):
        assert stream.response.headers["Content-Type"] == "text/event-stream"

        inbound(fresh_server, type="NewMessage", conversation_id=conversation["uniqueId"], text="Olá <b>")

        kind, payload = stream.event()
    assert kind == "NewMessage"
    assert set(payload) == {"conversation", "message"}
    assert payload["conversation"]["uniqueId"] == conversation["uniqueId"]
    assert payload["message"]["messageData"] == {"text": "Olá <b>"}
    # The payload went through JSON on its way: its numbers are floats.
    assert payload["conversation"]["numberOfUnreadMessages"] == 0.0
    assert isinstance(payload["conversation"]["numberOfUnreadMessages"], float)


def test_the_new_message_hook_stores_an_unread_inbound_text_message(fresh_server):
    conversation = listed(fresh_server, status="Active")[0]

    stored = inbound(fresh_server, type="NewMessage", conversation_id=conversation["uniqueId"], text="Any news?")

    newest = messages(fresh_server, conversation["uniqueId"], per_page=1).json()["messages"][0]
    assert newest["uniqueId"] == stored["message_id"]
    assert (newest["direction"], newest["messageType"], newest["status"]) == ("InBound", "Text", "Sent")
    again = next(c for c in listed(fresh_server, status="Active") if c["uniqueId"] == conversation["uniqueId"])
    assert again["numberOfUnreadMessages"] == conversation["numberOfUnreadMessages"] + 1


def test_a_new_message_goes_to_every_subscriber_of_the_organisation(fresh_server):
    conversation_id = listed(fresh_server, status="Active")[0]["uniqueId"]
    with streams(fresh_server, fresh_server.api_key, member_key(fresh_server)) as (owner, manager):
        delivered = inbound(fresh_server, type="NewMessage", conversation_id=conversation_id, text="Hi")["delivered"]

        assert delivered == {"NewMessage": 2}
        assert owner.event()[0] == manager.event()[0] == "NewMessage"


def test_a_new_conversation_is_published_then_its_first_message(fresh_server):
    with streams(fresh_server, fresh_server.api_key) as (stream,):
        created = inbound(fresh_server, type="NewConversation", text="Hello?", name="Ada Lovelace", phone="+447700900123")

        first, second = stream.event(), stream.event()
    assert first[0] == "NewConversation" and set(first[1]) == {"conversation"}
    assert first[1]["conversation"]["uniqueId"] == created["conversation_id"]
    assert first[1]["conversation"]["contact"]["name"] == "Ada Lovelace"
    assert second[0] == "NewMessage" and second[1]["message"]["uniqueId"] == created["message_id"]
    assert created["conversation_id"] in {c["uniqueId"] for c in listed(fresh_server, status="Active")}


def test_chat_assignment_goes_only_to_the_assignees_stream(fresh_server):
    conversation_id = never_assigned(fresh_server)["uniqueId"]
    manager_id = member_ids(fresh_server)["manager@example.com"]
    with streams(fresh_server, fresh_server.api_key, member_key(fresh_server)) as (owner, manager):
        assign(fresh_server, conversation_id, manager_id)
        marker(fresh_server, conversation_id)

        assert manager.event() == ("ChatAssignment", {"conversationId": conversation_id})
        assert owner.event()[0] == "NewMessage"


def test_chat_unassignment_goes_to_nobody_unless_the_control_option_sends_it_to_the_assignee(fresh_server):
    first, second = [c["uniqueId"] for c in listed(fresh_server, status="Active") if "assignedTo" not in c][:2]
    manager_id = member_ids(fresh_server)["manager@example.com"]
    with streams(fresh_server, member_key(fresh_server)) as (manager,):
        assign(fresh_server, first, manager_id)
        unassign(fresh_server, first)
        marker(fresh_server, first)
        assert [manager.event()[0] for _ in range(2)] == ["ChatAssignment", "NewMessage"]

        fresh_server.control(unassign_event="assignee")
        assign(fresh_server, second, manager_id)
        unassign(fresh_server, second)

        assert manager.event()[0] == "ChatAssignment"
        assert manager.event() == ("ChatUnAssignment", {"conversationId": second})


def test_the_event_keys_option_sends_go_field_names(fresh_server):
    conversation_id = never_assigned(fresh_server)["uniqueId"]
    fresh_server.control(event_keys="go")
    with streams(fresh_server, member_key(fresh_server)) as (manager,):
        assign(fresh_server, conversation_id, member_ids(fresh_server)["manager@example.com"])
        inbound(fresh_server, type="NewMessage", conversation_id=conversation_id, text="Hi")

        assignment, new_message = manager.event(), manager.event()
    assert assignment == ("ChatAssignment", {"ConversationId": conversation_id})
    assert set(new_message[1]) == {"Conversation", "Message"}
    assert new_message[1]["Conversation"]["UniqueId"] == conversation_id
    assert new_message[1]["Message"]["MessageData"] == {"Text": "Hi"}
    attributes = new_message[1]["Conversation"]["Contact"]["Attributes"]
    assert all(key == key.lower() for key in attributes), "a contact's attribute names are data, not fields"


# Event streams and the sandbox's threads


def test_a_stream_ends_when_its_client_disconnects(server_sandbox):
    wait_for_streams(server_sandbox, 0)
    stream = EventStream(server_sandbox, server_sandbox.api_key)
    assert stream.frame() == ["event: connected", "data: OK"]
    wait_for_streams(server_sandbox, 1)

    stream.close()

    wait_for_streams(server_sandbox, 0, seconds=2)


def test_opening_and_closing_many_streams_leaves_threads_for_other_requests(server_sandbox):
    for _ in range(60):
        stream = EventStream(server_sandbox, server_sandbox.api_key)
        assert stream.frame() == ["event: connected", "data: OK"]
        stream.close()
    wait_for_streams(server_sandbox, 0)

    answers = [conversations(server_sandbox, per_page=1) for _ in range(40)]

    assert {a.status_code for a in answers} == {200}


def test_streams_beyond_capacity_close_the_oldest_so_requests_still_get_threads(server_sandbox):
    wait_for_streams(server_sandbox, 0)
    opened = [EventStream(server_sandbox, server_sandbox.api_key) for _ in range(17)]
    try:
        for stream in opened:
            assert stream.frame() == ["event: connected", "data: OK"]

        with pytest.raises(EOFError):
            opened[0].frame()
        assert server_sandbox.control()["event_subscribers"] == 16
        assert conversations(server_sandbox, per_page=1).status_code == 200
    finally:
        for stream in opened:
            stream.close()
    wait_for_streams(server_sandbox, 0)


def test_streams_end_cleanly_and_at_once_when_the_sandbox_stops(tmp_path):
    ended: dict[str, float | bool] = {}

    def read_to_the_end(stream: EventStream) -> None:
        try:
            for _ in stream.lines:
                pass
            ended["cleanly"] = True
        except requests.RequestException:
            ended["cleanly"] = False
        ended["at"] = time.monotonic()
        stream.close()

    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(running_sandbox(tmp_path, "server"))
        stream = EventStream(sandbox, sandbox.api_key)
        assert stream.frame() == ["event: connected", "data: OK"]
        reader = threading.Thread(target=read_to_the_end, args=(stream,), daemon=True)
        reader.start()
        stopping = time.monotonic()
    stopped = time.monotonic() - stopping
    reader.join(5)

    assert ended["cleanly"] is True, "the stream got its end, not a cut connection"
    assert ended["at"] - stopping < 1
    assert stopped < 1.8, "the stop did not wait out gunicorn's graceful timeout"


# The legacy profile


def test_legacy_assign_and_unassign_are_get_routes_that_read_a_json_body(fresh_legacy):
    conversation_id = never_assigned(fresh_legacy)["uniqueId"]
    agent_id = member_ids(fresh_legacy)["agent@example.com"]

    posted = [assign(fresh_legacy, conversation_id, agent_id), unassign(fresh_legacy, conversation_id, json={"userId": agent_id})]
    got = [assign(fresh_legacy, conversation_id, agent_id, method="GET"), unassign(fresh_legacy, conversation_id, method="GET")]

    assert [(r.status_code, r.json()) for r in posted] == [(405, {"message": "Method Not Allowed"})] * 2
    assert [(r.status_code, r.json()) for r in got] == [(200, {"data": True})] * 2


def test_legacy_messages_say_message_type_and_tags_say_name(legacy_sandbox):
    conversation = next(c for c in conversations(legacy_sandbox).json()["conversations"] if c["tags"])

    message = messages(legacy_sandbox, conversation["uniqueId"]).json()["messages"][0]

    assert "message_type" in message and "messageType" not in message
    assert set(conversation["tags"][0]) == {"name", "uniqueId"}


def test_legacy_messages_are_never_null(legacy_sandbox):
    # d0a3506 writes every message as a plain struct: its Templates are readable.
    from_campaign = next(c for c in conversations(legacy_sandbox).json()["conversations"] if c["campaignId"])

    first = one(legacy_sandbox, from_campaign["uniqueId"])["messages"][0]

    assert first["message_type"] == "Template" and first["messageData"]["type"] == "template"


def test_legacy_errors_are_all_message_objects(legacy_sandbox):
    answers = [
        call(legacy_sandbox, "GET", "/conversation/not-a-uuid"),
        conversations(legacy_sandbox, key=None),
        conversations(legacy_sandbox, key=member_key(legacy_sandbox)),
        conversations(legacy_sandbox, page=0),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [
        (400, {"message": "invalid conversation id"}),
        (401, {"message": "Unauthorized access"}),
        (401, {"message": NOT_PERMITTED}),
        (400, {"message": "Invalid page or perPage value"}),
    ]


def test_legacy_has_no_rate_limits(legacy_sandbox):
    answers = [conversations(legacy_sandbox), members(legacy_sandbox)]

    assert all(a.status_code == 200 for a in answers)
    assert not [h for a in answers for h in a.headers if h.lower().startswith("x-ratelimit")]


def test_legacy_has_no_events_route(legacy_sandbox):
    response = requests.get(f"{legacy_sandbox.base_url}/events", params={"token": legacy_sandbox.api_key}, timeout=5)

    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
