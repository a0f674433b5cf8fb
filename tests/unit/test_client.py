"""Unit tests of the WapiKit HTTP client (dashboard/wapikit/client.py).

The upstream is faked at the HTTP boundary with `responses`; the client is built directly,
so no Django settings or database are involved. `time.sleep` in the client module is
replaced by a recorder so retries are instant and their waits can be asserted."""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from dashboard.wapikit import errors, transport
from dashboard.wapikit.client import WapiKitClient
from dashboard.wapikit.types import Conversation, Member, Message

BASE = "http://wapikit.test/api"
API_KEY = "k-secret"

CONV_ID = "3f2b8c1e-5d4a-4e7b-9c2d-1a6f0e8b7c54"
CONTACT_ID = "8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CAMPAIGN_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
LIST_ID = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
ORG_ID = "0b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d3e"
MEMBER_ID = "7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a"
OTHER_MEMBER_ID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
ROLE_ID = "1e2d3c4b-5a69-4788-96a5-b4c3d2e1f0a9"
TAG_VIP_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
TAG_BILLING_ID = "2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b"
MSG_IDS = [
    "6b0e7f1a-2c3d-4e5f-8a9b-0c1d2e3f4a51",
    "6b0e7f1a-2c3d-4e5f-8a9b-0c1d2e3f4a52",
    "6b0e7f1a-2c3d-4e5f-8a9b-0c1d2e3f4a53",
    "6b0e7f1a-2c3d-4e5f-8a9b-0c1d2e3f4a54",
    "6b0e7f1a-2c3d-4e5f-8a9b-0c1d2e3f4a55",
]

CONV_URL = f"{BASE}/conversation/{CONV_ID}"
CONVERSATIONS_URL = f"{BASE}/conversations"
MEMBERS_URL = f"{BASE}/organization/members"
ANY_URL = re.compile(r"https?://.*")

BAD_IDS = ["../organization/members", "abc", "1 OR 1=1", "%2e%2e", "", f"{CONV_ID}/../../organization/members"]


# Fixtures and builders


def make_client(**overrides) -> WapiKitClient:
    options = dict(base_url=BASE, api_key=API_KEY, timeout=(1, 2), backoff=0, max_retry_wait=2)
    options.update(overrides)
    return WapiKitClient(**options)


@pytest.fixture
def client() -> WapiKitClient:
    return make_client()


@pytest.fixture
def upstream():
    """A fake WapiKit. Tests count calls themselves, so unfired registrations are allowed."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def sleeps(monkeypatch) -> list[float]:
    """Every wait the client asks for, in order; nothing actually sleeps."""
    recorded: list[float] = []
    monkeypatch.setattr(transport.time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def seen() -> list[tuple[str, str, int | None]]:
    """What `request_listeners` reports, one entry per attempt."""
    log: list[tuple[str, str, int | None]] = []

    def listener(call: transport.UpstreamCall) -> None:
        log.append((call.method, call.path, call.status))

    transport.request_listeners.append(listener)
    try:
        yield log
    finally:
        transport.request_listeners.remove(listener)


def member_json(
    unique_id: str = MEMBER_ID,
    *,
    name: str = "Priya Raman",
    access_level: str = "Member",
    permissions: list[str] | None = None,
) -> dict:
    return {
        "uniqueId": unique_id,
        "createdAt": "2024-01-15T09:00:00Z",
        "accessLevel": access_level,
        "name": name,
        "email": f"{name.split()[0].lower()}@example.com",
        "roles": [
            {
                "uniqueId": ROLE_ID,
                "name": "Support agent",
                "description": "Handles customer conversations",
                "permissions": (
                    permissions
                    if permissions is not None
                    else ["Get:Conversation", "Update:Conversation", "Assign:Conversation"]
                ),
            }
        ],
    }


def conversation_json(**overrides) -> dict:
    """A conversation in the shape of the "update a conversation" page, with real values."""
    conv = {
        "contact": {
            "uniqueId": CONTACT_ID,
            "name": "Amara Okafor",
            "phone": "+2348012345678",
            "attributes": {"city": "Lagos", "plan": "pro"},
            "createdAt": "2024-02-01T08:15:00Z",
            "status": "Active",
        },
        "uniqueId": CONV_ID,
        "contactId": CONTACT_ID,
        "campaignId": CAMPAIGN_ID,
        "organizationId": ORG_ID,
        "initiatedBy": "Contact",
        "messages": [
            {
                "uniqueId": MSG_IDS[0],
                "conversationId": CONV_ID,
                "direction": "InBound",
                "status": "Read",
                "messageType": "Text",
                "createdAt": "2024-03-10T10:00:00Z",
                "replyToMessageId": None,
                "whatsAppMessageId": "wamid.HBgLMjM0ODAxMjM0NTY3OBUCABIYFjNFQjBDMEE0",
                "messageData": {"text": "Hi, my invoice looks wrong"},
            },
            {
                "uniqueId": MSG_IDS[1],
                "conversationId": CONV_ID,
                "direction": "InBound",
                "status": "Read",
                "messageType": "Image",
                "createdAt": "2024-03-10T10:01:00Z",
                "messageData": {
                    "id": "1234567890123456",
                    "link": "https://media.example.com/invoice.jpg",
                    "caption": "Screenshot of the invoice",
                },
            },
            {
                "uniqueId": MSG_IDS[2],
                "conversationId": CONV_ID,
                "direction": "OutBound",
                "status": "Delivered",
                "messageType": "Document",
                "createdAt": "2024-03-10T10:05:00Z",
                "replyToMessageId": MSG_IDS[1],
                "messageData": {
                    "id": "9876543210987654",
                    "link": "https://media.example.com/invoice-corrected.pdf",
                    "fileName": "invoice-corrected.pdf",
                },
            },
            {
                "uniqueId": MSG_IDS[3],
                "conversationId": CONV_ID,
                "direction": "InBound",
                "status": "Read",
                "messageType": "Location",
                "createdAt": "2024-03-10T10:07:00Z",
                "messageData": {
                    "latitude": 6.5244,
                    "longitude": 3.3792,
                    "name": "Head office",
                    "address": "12 Marina Rd, Lagos",
                },
            },
            {
                "uniqueId": MSG_IDS[4],
                "conversationId": CONV_ID,
                "direction": "InBound",
                "status": "Read",
                "messageType": "Reaction",
                "createdAt": "2024-03-10T10:08:00Z",
                "messageData": {"reaction": "\U0001f44d", "messageId": MSG_IDS[2]},
            },
        ],
        "createdAt": "2024-03-10T09:59:00Z",
        "numberOfUnreadMessages": 3,
        "totalMessages": 42,
        "status": "Active",
        "assignedTo": member_json(),
        "tags": [
            {"label": "VIP", "uniqueId": TAG_VIP_ID},
            {"label": "Billing", "uniqueId": TAG_BILLING_ID},
        ],
    }
    conv.update(overrides)
    return conv


def page_meta(page: int = 1, per_page: int = 25, total: int = 1) -> dict:
    # WapiKit's PaginationMeta really is snake_case `per_page` (openapi.yaml, PaginationMeta;
    # README "paginationMeta carries page, per_page, total"), unlike every other field.
    # CLIENT BUG: types.PaginationMeta inherits rename="camel" and so demands `perPage`; every
    # test that decodes a page fails with BadResponse until that is fixed (see
    # test_pagination_meta_is_read_from_wapikit_s_snake_case_per_page).
    return {"page": page, "per_page": per_page, "total": total}


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


def body(call) -> dict:
    return json.loads(call.request.body)


def register_everything(mock: responses.RequestsMock) -> None:
    """Answer any request at all, so a request that should not happen is counted, not refused."""
    for method in (responses.GET, responses.POST, responses.PUT, responses.PATCH, responses.DELETE):
        mock.add(method, ANY_URL, json={"data": True})


# Authentication and request basics


def test_every_call_sends_the_api_key_in_x_access_token(client, upstream):
    upstream.get(CONVERSATIONS_URL, json={"conversations": [], "paginationMeta": page_meta(total=0)})
    upstream.get(CONV_URL, json={"conversation": conversation_json()})
    upstream.post(CONV_URL, json={"conversation": conversation_json(status="Closed")})
    upstream.post(f"{CONV_URL}/assign", json={"data": True})
    upstream.post(f"{CONV_URL}/unassign", json={"data": True})
    upstream.get(f"{CONV_URL}/messages", json={"messages": [], "paginationMeta": page_meta(total=0)})
    upstream.get(MEMBERS_URL, json={"members": [member_json()], "paginationMeta": page_meta(total=1)})

    client.list_conversations()
    client.get_conversation(CONV_ID)
    client.update_conversation_status(CONV_ID, status="Closed")
    client.assign_conversation(CONV_ID, member_id=MEMBER_ID)
    client.unassign_conversation(CONV_ID, member_id=MEMBER_ID)
    client.list_messages(CONV_ID)
    client.list_members()

    assert len(upstream.calls) == 7
    for call in upstream.calls:
        assert call.request.headers["x-access-token"] == API_KEY


def test_a_custom_auth_header_name_carries_the_key_instead(upstream):
    client = make_client(auth_header="x-access-key")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    client.get_conversation(CONV_ID)

    headers = upstream.calls[0].request.headers
    assert headers["x-access-key"] == API_KEY
    assert "x-access-token" not in headers


def test_requests_ask_for_json_and_use_the_configured_connect_and_read_timeouts(client, upstream):
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    client.get_conversation(CONV_ID)

    call = upstream.calls[0]
    assert call.request.headers["Accept"] == "application/json"
    assert call.request.req_kwargs["timeout"] == (1, 2)


def test_a_single_number_timeout_string_applies_to_connect_and_read(upstream):
    client = make_client(timeout="4")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    client.get_conversation(CONV_ID)

    assert upstream.calls[0].request.req_kwargs["timeout"] == (4.0, 4.0)


def test_a_trailing_slash_on_the_base_url_does_not_double_up(upstream):
    client = make_client(base_url=BASE + "/")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    client.get_conversation(CONV_ID)

    assert upstream.calls[0].request.url == CONV_URL


# Listing conversations


def test_listing_sends_page_per_page_order_status_and_filters_as_query_params(client, upstream):
    upstream.get(CONVERSATIONS_URL, json={"conversations": [], "paginationMeta": page_meta(3, 50, 0)})

    client.list_conversations(
        page=3,
        per_page=50,
        order="asc",
        status="Closed",
        campaign_id=CAMPAIGN_ID,
        contact_id=CONTACT_ID,
        list_id=LIST_ID,
    )

    assert len(upstream.calls) == 1
    call = upstream.calls[0]
    assert call.request.method == "GET"
    assert urlsplit(call.request.url).path == "/api/conversations"
    assert query(call) == {
        "page": ["3"],
        "per_page": ["50"],
        "order": ["asc"],
        "status": ["Closed"],
        "campaign_id": [CAMPAIGN_ID],
        "contact_id": [CONTACT_ID],
        "list_id": [LIST_ID],
    }


def test_listing_by_default_asks_for_the_first_25_newest_first_with_no_status_or_filters(client, upstream):
    upstream.get(CONVERSATIONS_URL, json={"conversations": [], "paginationMeta": page_meta(total=0)})

    client.list_conversations()

    assert query(upstream.calls[0]) == {"page": ["1"], "per_page": ["25"], "order": ["desc"]}


def test_filter_ids_are_sent_in_canonical_uuid_form(client, upstream):
    upstream.get(CONVERSATIONS_URL, json={"conversations": [], "paginationMeta": page_meta(total=0)})

    client.list_conversations(campaign_id=CAMPAIGN_ID.upper())

    assert query(upstream.calls[0])["campaign_id"] == [CAMPAIGN_ID]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"per_page": 51}, id="per_page-above-50"),
        pytest.param({"per_page": 0}, id="per_page-zero"),
        pytest.param({"page": 0}, id="page-zero"),
        pytest.param({"page": -1}, id="page-negative"),
        pytest.param({"status": "Open"}, id="unknown-status"),
        pytest.param({"status": "closed"}, id="status-wrong-case"),
        pytest.param({"order": "newest"}, id="unknown-order"),
    ],
)
def test_listing_with_invalid_arguments_raises_value_error_without_a_request(client, upstream, kwargs):
    register_everything(upstream)

    with pytest.raises(ValueError):
        client.list_conversations(**kwargs)

    assert len(upstream.calls) == 0


@pytest.mark.parametrize("filter_name", ["campaign_id", "contact_id", "list_id"])
@pytest.mark.parametrize("bad_id", BAD_IDS[:4])
def test_listing_with_a_non_uuid_filter_raises_invalid_id_without_a_request(client, upstream, filter_name, bad_id):
    register_everything(upstream)

    with pytest.raises(errors.InvalidId):
        client.list_conversations(**{filter_name: bad_id})

    assert len(upstream.calls) == 0


def test_listing_decodes_a_realistic_conversation_into_typed_objects(client, upstream):
    upstream.get(
        CONVERSATIONS_URL,
        json={"conversations": [conversation_json()], "paginationMeta": page_meta(1, 25, 1)},
    )

    page = client.list_conversations()

    assert page.pagination_meta.page == 1
    assert page.pagination_meta.per_page == 25
    assert page.pagination_meta.total == 1
    [conv] = page.conversations
    assert isinstance(conv, Conversation)
    assert conv.unique_id == CONV_ID
    assert conv.contact_id == CONTACT_ID
    assert conv.campaign_id == CAMPAIGN_ID
    assert conv.organization_id == ORG_ID
    assert conv.initiated_by == "Contact"
    assert conv.status == "Active"
    assert conv.created_at == datetime(2024, 3, 10, 9, 59, tzinfo=timezone.utc)

    assert conv.contact.name == "Amara Okafor"
    assert conv.contact.phone == "+2348012345678"
    assert conv.contact.attributes == {"city": "Lagos", "plan": "pro"}

    assert conv.number_of_unread_messages == 3
    assert conv.total_messages == 42

    assert isinstance(conv.assigned_to, Member)
    assert conv.assigned_to.unique_id == MEMBER_ID
    assert conv.assigned_to.name == "Priya Raman"
    assert conv.assigned_to.access_level == "Member"
    assert [role.name for role in conv.assigned_to.roles] == ["Support agent"]
    assert conv.assigned_to.roles[0].permissions == [
        "Get:Conversation",
        "Update:Conversation",
        "Assign:Conversation",
    ]

    assert [tag.label for tag in conv.tags] == ["VIP", "Billing"]
    assert [tag.unique_id for tag in conv.tags] == [TAG_VIP_ID, TAG_BILLING_ID]

    assert len(conv.messages) == 5
    assert conv.last_message is not None
    assert conv.last_message.unique_id == MSG_IDS[4]
    assert conv.last_message.message_type == "Reaction"
    assert conv.last_activity == datetime(2024, 3, 10, 10, 8, tzinfo=timezone.utc)


def test_each_message_type_decodes_with_its_own_payload(client, upstream):
    upstream.get(CONVERSATIONS_URL, json={"conversations": [conversation_json()], "paginationMeta": page_meta()})

    [conv] = client.list_conversations().conversations
    text, image, document, location, reaction = conv.messages

    assert all(isinstance(m, Message) for m in conv.messages)
    assert text.message_type == "Text"
    assert text.message_data.text == "Hi, my invoice looks wrong"
    assert text.inbound is True
    assert text.whats_app_message_id == "wamid.HBgLMjM0ODAxMjM0NTY3OBUCABIYFjNFQjBDMEE0"
    assert text.reply_to_message_id is None

    assert image.message_type == "Image"
    assert image.message_data.id == "1234567890123456"
    assert image.message_data.caption == "Screenshot of the invoice"
    assert image.message_data.link == "https://media.example.com/invoice.jpg"

    assert document.message_type == "Document"
    assert document.message_data.file_name == "invoice-corrected.pdf"
    assert document.inbound is False
    assert document.reply_to_message_id == MSG_IDS[1]

    assert location.message_type == "Location"
    assert location.message_data.latitude == pytest.approx(6.5244)
    assert location.message_data.longitude == pytest.approx(3.3792)
    assert location.message_data.address == "12 Marina Rd, Lagos"

    assert reaction.message_type == "Reaction"
    assert reaction.message_data.reaction == "\U0001f44d"
    assert reaction.message_data.message_id == MSG_IDS[2]


def test_unknown_extra_fields_anywhere_in_the_answer_are_ignored(client, upstream):
    conv = conversation_json(newTopLevelField={"nested": [1, 2, 3]}, sentimentScore=0.7)
    conv["contact"]["avatarUrl"] = "https://media.example.com/a.png"
    conv["messages"][0]["messageData"]["previewUrl"] = True
    conv["messages"][0]["isForwarded"] = False
    conv["assignedTo"]["lastSeenAt"] = "2024-03-10T11:00:00Z"
    conv["assignedTo"]["roles"][0]["color"] = "#ff0000"
    conv["tags"][0]["color"] = "gold"
    upstream.get(
        CONVERSATIONS_URL,
        json={"conversations": [conv], "paginationMeta": {**page_meta(), "hasNext": False}, "requestId": "r-1"},
    )

    [decoded] = client.list_conversations().conversations

    assert decoded.unique_id == CONV_ID
    assert decoded.tags[0].label == "VIP"
    assert not hasattr(decoded, "sentiment_score")


def test_a_conversation_with_no_assignee_campaign_or_total_decodes(client, upstream):
    conv = conversation_json(assignedTo=None, campaignId=None, initiatedBy="Campaign", messages=[], tags=[])
    del conv["totalMessages"]
    upstream.get(CONVERSATIONS_URL, json={"conversations": [conv], "paginationMeta": page_meta()})

    [decoded] = client.list_conversations().conversations

    assert decoded.assigned_to is None
    assert decoded.campaign_id is None
    assert decoded.total_messages is None
    assert decoded.last_message is None
    assert decoded.last_activity == decoded.created_at


def test_last_message_is_the_latest_by_time_not_by_position(client, upstream):
    conv = conversation_json()
    conv["messages"] = list(reversed(conv["messages"]))
    upstream.get(CONVERSATIONS_URL, json={"conversations": [conv], "paginationMeta": page_meta()})

    [decoded] = client.list_conversations().conversations

    assert decoded.last_message.unique_id == MSG_IDS[4]


# Single conversation operations


def test_getting_a_conversation_fetches_it_by_id_and_unwraps_the_envelope(client, upstream):
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    conv = client.get_conversation(CONV_ID)

    assert isinstance(conv, Conversation)
    assert conv.unique_id == CONV_ID
    assert len(upstream.calls) == 1
    assert upstream.calls[0].request.method == "GET"
    assert upstream.calls[0].request.url == CONV_URL


def test_an_uppercase_or_braced_uuid_is_normalised_before_it_reaches_the_path(client, upstream):
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    client.get_conversation(CONV_ID.upper())
    client.get_conversation("{" + CONV_ID + "}")

    assert [c.request.url for c in upstream.calls] == [CONV_URL, CONV_URL]


def test_closing_sends_status_and_decodes_the_whole_conversation(client, upstream):
    upstream.post(CONV_URL, json={"conversation": conversation_json(status="Closed", numberOfUnreadMessages=0)})

    conv = client.update_conversation_status(CONV_ID, status="Closed")

    assert len(upstream.calls) == 1
    call = upstream.calls[0]
    assert call.request.method == "POST"
    assert call.request.url == CONV_URL
    assert call.request.headers["Content-Type"] == "application/json"
    assert body(call) == {"status": "Closed"}
    assert isinstance(conv, Conversation)
    assert conv.status == "Closed"
    assert conv.number_of_unread_messages == 0
    assert conv.contact.name == "Amara Okafor"
    assert len(conv.messages) == 5


@pytest.mark.parametrize("status", ["Active", "Deleted"])
def test_reopening_and_deleting_send_their_status(client, upstream, status):
    upstream.post(CONV_URL, json={"conversation": conversation_json(status=status)})

    conv = client.update_conversation_status(CONV_ID, status=status)

    assert body(upstream.calls[0]) == {"status": status}
    assert conv.status == status


@pytest.mark.parametrize("status", ["Open", "closed", "", "Archived"])
def test_updating_to_an_unknown_status_raises_value_error_without_a_request(client, upstream, status):
    register_everything(upstream)

    with pytest.raises(ValueError):
        client.update_conversation_status(CONV_ID, status=status)

    assert len(upstream.calls) == 0


def test_assigning_posts_the_organization_member_id_and_accepts_data_true(client, upstream):
    upstream.post(f"{CONV_URL}/assign", json={"data": True})

    result = client.assign_conversation(CONV_ID, member_id=MEMBER_ID)

    assert result is None
    assert len(upstream.calls) == 1
    call = upstream.calls[0]
    assert call.request.method == "POST"
    assert call.request.url == f"{CONV_URL}/assign"
    assert body(call) == {"organizationMemberId": MEMBER_ID}


def test_unassigning_posts_the_user_id(client, upstream):
    upstream.post(f"{CONV_URL}/unassign", json={"data": True})

    result = client.unassign_conversation(CONV_ID, member_id=MEMBER_ID)

    assert result is None
    assert len(upstream.calls) == 1
    call = upstream.calls[0]
    assert call.request.method == "POST"
    assert call.request.url == f"{CONV_URL}/unassign"
    assert body(call) == {"userId": MEMBER_ID}


def test_an_assign_answer_without_the_data_flag_is_a_bad_response(client, upstream):
    upstream.post(f"{CONV_URL}/assign", json={"ok": True})

    with pytest.raises(errors.BadResponse):
        client.assign_conversation(CONV_ID, member_id=MEMBER_ID)


# Messages


def test_listing_messages_sends_page_per_page_and_order(client, upstream):
    conv = conversation_json()
    upstream.get(
        f"{CONV_URL}/messages",
        json={"messages": conv["messages"], "paginationMeta": page_meta(2, 10, 15)},
    )

    page = client.list_messages(CONV_ID, page=2, per_page=10, order="desc")

    call = upstream.calls[0]
    assert urlsplit(call.request.url).path == f"/api/conversation/{CONV_ID}/messages"
    assert query(call) == {"page": ["2"], "per_page": ["10"], "order": ["desc"]}
    assert [m.unique_id for m in page.messages] == MSG_IDS
    assert page.messages[1].message_data.caption == "Screenshot of the invoice"
    assert page.pagination_meta.total == 15


def test_listing_messages_by_default_asks_for_50_oldest_first(client, upstream):
    upstream.get(f"{CONV_URL}/messages", json={"messages": [], "paginationMeta": page_meta(1, 50, 0)})

    client.list_messages(CONV_ID)

    assert query(upstream.calls[0]) == {"page": ["1"], "per_page": ["50"], "order": ["asc"]}


@pytest.mark.parametrize(
    "kwargs",
    [{"page": 0}, {"per_page": 51}, {"per_page": 0}, {"order": "sideways"}],
    ids=["page-zero", "per_page-above-50", "per_page-zero", "unknown-order"],
)
def test_listing_messages_with_invalid_paging_raises_value_error_without_a_request(client, upstream, kwargs):
    register_everything(upstream)

    with pytest.raises(ValueError):
        client.list_messages(CONV_ID, **kwargs)

    assert len(upstream.calls) == 0


# Members


def _member_page(count: int, start: int, page: int, per_page: int, total: int) -> dict:
    members = [
        member_json(f"00000000-0000-4000-8000-{start + i:012d}", name=f"Agent {start + i}") for i in range(count)
    ]
    return {"members": members, "paginationMeta": page_meta(page, per_page, total)}


def test_listing_members_fetches_every_page_until_the_total_is_reached(client, upstream):
    upstream.get(MEMBERS_URL, json=_member_page(50, 0, 1, 50, 120))
    upstream.get(MEMBERS_URL, json=_member_page(50, 50, 2, 50, 120))
    upstream.get(MEMBERS_URL, json=_member_page(20, 100, 3, 50, 120))
    # A fourth page would be a wasted (rate-limited) call; make it visible if it happens.
    upstream.get(MEMBERS_URL, json=_member_page(0, 0, 4, 50, 120))

    members = client.list_members()

    assert len(upstream.calls) == 3
    assert [query(c) for c in upstream.calls] == [
        {"page": ["1"], "per_page": ["50"]},
        {"page": ["2"], "per_page": ["50"]},
        {"page": ["3"], "per_page": ["50"]},
    ]
    assert len(members) == 120
    assert len({m.unique_id for m in members}) == 120
    assert members[0].name == "Agent 0"
    assert members[-1].name == "Agent 119"


def test_listing_members_stops_on_an_empty_page_even_if_the_total_says_more(client, upstream):
    upstream.get(MEMBERS_URL, json=_member_page(50, 0, 1, 50, 500))
    upstream.get(MEMBERS_URL, json=_member_page(0, 0, 2, 50, 500))
    upstream.get(MEMBERS_URL, json=_member_page(50, 50, 3, 50, 500))

    members = client.list_members()

    assert len(upstream.calls) == 2
    assert len(members) == 50


def test_listing_members_makes_one_request_when_everyone_fits_on_a_page(client, upstream):
    upstream.get(MEMBERS_URL, json=_member_page(7, 0, 1, 50, 7))

    members = client.list_members()

    assert len(upstream.calls) == 1
    assert len(members) == 7


def test_listing_members_honours_a_smaller_page_size(client, upstream):
    upstream.get(MEMBERS_URL, json=_member_page(10, 0, 1, 10, 15))
    upstream.get(MEMBERS_URL, json=_member_page(5, 10, 2, 10, 15))

    members = client.list_members(per_page=10)

    assert [query(c)["per_page"] for c in upstream.calls] == [["10"], ["10"]]
    assert len(members) == 15


def test_members_decode_access_level_and_role_permissions(client, upstream):
    owner = member_json(OTHER_MEMBER_ID, name="Olu Owner", access_level="Owner", permissions=[])
    agent = member_json(MEMBER_ID, name="Priya Raman", permissions=["Get:Conversation", "Unassign:Conversation"])
    upstream.get(MEMBERS_URL, json={"members": [owner, agent], "paginationMeta": page_meta(1, 50, 2)})

    first, second = client.list_members()

    assert first.access_level == "Owner" and first.is_owner
    assert first.can("Delete:Conversation")
    assert second.access_level == "Member" and not second.is_owner
    assert second.roles[0].permissions == ["Get:Conversation", "Unassign:Conversation"]
    assert second.permissions == frozenset({"Get:Conversation", "Unassign:Conversation"})
    assert second.can("Unassign:Conversation")
    assert not second.can("Assign:Conversation")
    assert second.created_at == datetime(2024, 1, 15, 9, 0, tzinfo=timezone.utc)


# Ids that are not UUIDs never reach the upstream


ID_OPERATIONS = {
    "get_conversation": lambda c, bad: c.get_conversation(bad),
    "update_status": lambda c, bad: c.update_conversation_status(bad, status="Closed"),
    "assign_conversation_id": lambda c, bad: c.assign_conversation(bad, member_id=MEMBER_ID),
    "assign_member_id": lambda c, bad: c.assign_conversation(CONV_ID, member_id=bad),
    "unassign_conversation_id": lambda c, bad: c.unassign_conversation(bad, member_id=MEMBER_ID),
    "unassign_member_id": lambda c, bad: c.unassign_conversation(CONV_ID, member_id=bad),
    "list_messages": lambda c, bad: c.list_messages(bad),
}


@pytest.mark.parametrize("operation", list(ID_OPERATIONS), ids=list(ID_OPERATIONS))
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_a_non_uuid_id_raises_invalid_id_and_makes_no_request(client, upstream, seen, operation, bad_id):
    register_everything(upstream)

    with pytest.raises(errors.InvalidId) as caught:
        ID_OPERATIONS[operation](client, bad_id)

    assert len(upstream.calls) == 0
    assert seen == []
    assert isinstance(caught.value, errors.WapiKitError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.user_message == "That conversation or member id is not valid."


@pytest.mark.parametrize("bad_id", [None, 12345, ["x"]], ids=["none", "int", "list"])
def test_a_non_string_id_raises_invalid_id_and_makes_no_request(client, upstream, bad_id):
    register_everything(upstream)

    with pytest.raises(errors.InvalidId):
        client.get_conversation(bad_id)

    assert len(upstream.calls) == 0


# Error mapping


def test_a_400_becomes_rejected_carrying_wapikit_s_message(client, upstream):
    upstream.post(CONV_URL, status=400, json={"message": "bad status"})

    with pytest.raises(errors.Rejected) as caught:
        client.update_conversation_status(CONV_ID, status="Closed")

    exc = caught.value
    assert exc.status == 400
    assert exc.detail == "bad status"
    assert "bad status" in exc.user_message
    assert exc.kind == "rejected"
    assert len(upstream.calls) == 1


def test_a_400_without_a_message_still_gives_a_readable_rejection(client, upstream):
    upstream.post(CONV_URL, status=400, body="Bad Request", content_type="text/plain")

    with pytest.raises(errors.Rejected) as caught:
        client.update_conversation_status(CONV_ID, status="Closed")

    assert caught.value.detail == ""
    assert caught.value.user_message == "WapiKit rejected the change."


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_becomes_unauthorized(client, upstream, status):
    upstream.get(CONV_URL, status=status, json={"message": "invalid access token"})

    with pytest.raises(errors.Unauthorized) as caught:
        client.get_conversation(CONV_ID)

    assert caught.value.status == status
    assert "WAPIKIT_API_KEY" in caught.value.user_message
    assert len(upstream.calls) == 1


def test_a_404_becomes_not_found(client, upstream):
    upstream.get(CONV_URL, status=404, json={"message": "conversation not found"})

    with pytest.raises(errors.NotFound) as caught:
        client.get_conversation(CONV_ID)

    assert caught.value.status == 404
    assert caught.value.detail == "conversation not found"
    assert len(upstream.calls) == 1


def test_a_429_becomes_rate_limited_with_the_reset_from_the_body(client, upstream):
    upstream.get(
        CONVERSATIONS_URL,
        status=429,
        json={"message": "too many requests", "remaining": 0, "reset": 30},
    )

    with pytest.raises(errors.RateLimited) as caught:
        client.list_conversations()

    exc = caught.value
    assert exc.status == 429
    assert exc.retry_after == 30
    assert exc.detail == "too many requests"
    assert "30 seconds" in exc.user_message
    assert len(upstream.calls) == 1  # a 429 is not retried


def test_a_429_retry_after_header_takes_precedence_over_the_body_reset(client, upstream):
    upstream.get(
        CONVERSATIONS_URL,
        status=429,
        headers={"Retry-After": "7"},
        json={"message": "too many requests", "remaining": 0, "reset": 30},
    )

    with pytest.raises(errors.RateLimited) as caught:
        client.list_conversations()

    assert caught.value.retry_after == 7
    assert "7 seconds" in caught.value.user_message


def test_a_429_reset_given_as_a_unix_time_becomes_seconds_from_now(client, upstream):
    upstream.get(
        CONVERSATIONS_URL,
        status=429,
        json={"message": "slow down", "remaining": 0, "reset": int(time.time()) + 600},
    )

    with pytest.raises(errors.RateLimited) as caught:
        client.list_conversations()

    assert 590 <= caught.value.retry_after <= 600
    assert "10 minutes" in caught.value.user_message


def test_a_429_without_any_hint_says_try_again_in_a_minute(client, upstream):
    upstream.get(CONVERSATIONS_URL, status=429, body="")

    with pytest.raises(errors.RateLimited) as caught:
        client.list_conversations()

    assert caught.value.retry_after is None
    assert "in a minute" in caught.value.user_message


def test_a_500_becomes_server_error_with_its_status(client, upstream):
    upstream.get(CONV_URL, status=500, json={"message": "internal server error"})

    with pytest.raises(errors.ServerError) as caught:
        client.get_conversation(CONV_ID)

    exc = caught.value
    assert exc.status == 500
    assert exc.retry_after is None
    assert "(500)" in exc.user_message
    assert len(upstream.calls) == 1  # 500 is not in the retried set


def test_a_500_with_an_html_body_is_still_a_server_error(client, upstream):
    upstream.get(CONV_URL, status=500, body="<html><h1>Oops</h1></html>", content_type="text/html")

    with pytest.raises(errors.ServerError) as caught:
        client.get_conversation(CONV_ID)

    assert caught.value.status == 500
    assert caught.value.detail == ""


def test_a_503_with_retry_after_120_says_come_back_in_2_minutes(client, upstream):
    upstream.post(CONV_URL, status=503, headers={"Retry-After": "120"}, json={"message": "maintenance"})

    with pytest.raises(errors.ServerError) as caught:
        client.update_conversation_status(CONV_ID, status="Closed")

    exc = caught.value
    assert exc.status == 503
    assert exc.retry_after == 120
    assert "2 minutes" in exc.user_message


def test_an_unexpected_status_is_a_bad_response(client, upstream):
    upstream.get(CONV_URL, status=418, json={"message": "teapot"})

    with pytest.raises(errors.BadResponse) as caught:
        client.get_conversation(CONV_ID)

    assert caught.value.status == 418


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("<html>Gateway says hello</html>", id="html"),
        pytest.param("", id="empty"),
        pytest.param('{"conversation": ', id="truncated-json"),
    ],
)
def test_a_200_whose_body_is_not_json_is_a_bad_response(client, upstream, raw):
    upstream.get(CONV_URL, status=200, body=raw, content_type="text/html")

    with pytest.raises(errors.BadResponse) as caught:
        client.get_conversation(CONV_ID)

    assert caught.value.status == 200
    assert "could not read" in caught.value.user_message


def _without(conv: dict, key: str) -> dict:
    conv = copy.deepcopy(conv)
    del conv[key]
    return conv


def _text_message_without_text() -> dict:
    conv = conversation_json()
    conv["messages"][0]["messageData"] = {}
    return conv


def _message_without_data(kind: str) -> dict:
    conv = conversation_json()
    index = {"Image": 1, "Document": 2, "Location": 3, "Reaction": 4}[kind]
    conv["messages"][index]["messageData"] = None
    return conv


@pytest.mark.parametrize(
    "conv",
    [
        pytest.param(_without(conversation_json(), "status"), id="missing-status"),
        pytest.param(_without(conversation_json(), "contact"), id="missing-contact"),
        pytest.param(conversation_json(numberOfUnreadMessages="3"), id="unread-count-as-string"),
        pytest.param(conversation_json(createdAt="yesterday"), id="unparseable-date"),
    ],
)
def test_json_of_the_wrong_shape_is_a_bad_response(client, upstream, conv):
    upstream.get(CONV_URL, json={"conversation": conv})

    with pytest.raises(errors.BadResponse) as caught:
        client.get_conversation(CONV_ID)

    assert caught.value.status == 200
    assert len(upstream.calls) == 1  # a malformed answer is not retried


def test_what_the_server_sends_outside_the_spec_is_read_not_refused(client, upstream):
    # WapiKit's server code: a status outside the spec, nil slices as null, messages whose
    # content it cannot describe, a list page without paginationMeta.
    conv = conversation_json(status="Resolved", tags=None)
    text = _text_message_without_text()["messages"][0]
    location = _message_without_data("Location")["messages"][3]
    conv["messages"] = [None, text, location]
    upstream.get(CONV_URL, json={"conversation": conv})
    upstream.get(CONVERSATIONS_URL, json={"conversations": [conversation_json()]})

    conversation = client.get_conversation(CONV_ID)
    page = client.list_conversations(page=1, per_page=25)

    assert conversation.status == "Resolved"
    assert conversation.tags == []
    assert conversation.undescribed_messages == 1
    assert [m.message_type for m in conversation.messages] == ["Text", "Location"]
    assert len(page.conversations) == 1 and page.pagination_meta.total == 0


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param([conversation_json()], id="bare-list"),
        pytest.param({"conversations": {}, "paginationMeta": page_meta()}, id="conversations-not-a-list"),
    ],
)
def test_a_conversation_page_of_the_wrong_shape_is_a_bad_response(client, upstream, answer):
    upstream.get(CONVERSATIONS_URL, json=answer)

    with pytest.raises(errors.BadResponse):
        client.list_conversations()


# Transport failures


def test_a_connection_error_becomes_unreachable(client, upstream):
    upstream.post(CONV_URL, body=requests.ConnectionError("Connection refused"))

    with pytest.raises(errors.Unreachable) as caught:
        client.update_conversation_status(CONV_ID, status="Closed")

    assert caught.value.status is None
    assert "unreachable" in caught.value.user_message


def test_a_connect_timeout_becomes_timed_out(client, upstream):
    upstream.post(CONV_URL, body=requests.ConnectTimeout("connect timed out"))

    with pytest.raises(errors.TimedOut) as caught:
        client.update_conversation_status(CONV_ID, status="Closed")

    assert "did not answer in time" in caught.value.user_message
    assert len(upstream.calls) == 1


def test_a_read_timeout_becomes_timed_out_and_is_not_retried_even_for_a_get(client, upstream, sleeps):
    upstream.get(CONV_URL, body=requests.ReadTimeout("read timed out"))
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    with pytest.raises(errors.TimedOut):
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 1
    assert sleeps == []


def test_other_request_failures_become_unreachable_without_retry(client, upstream):
    upstream.get(CONV_URL, body=requests.exceptions.ChunkedEncodingError("connection broken"))
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    with pytest.raises(errors.Unreachable):
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 1


# Retries


@pytest.mark.parametrize("failing_status", [502, 503, 504])
def test_a_get_is_retried_on_a_gateway_error_and_succeeds_when_a_later_attempt_does(
    client, upstream, sleeps, failing_status
):
    upstream.get(CONV_URL, status=failing_status, body="")
    upstream.get(CONV_URL, status=failing_status, body="")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    conv = client.get_conversation(CONV_ID)

    assert conv.unique_id == CONV_ID
    assert len(upstream.calls) == 3
    assert len(sleeps) == 2


def test_a_get_gives_up_after_three_attempts_and_reports_the_last_error(client, upstream, sleeps):
    upstream.get(CONV_URL, status=502, body="")
    upstream.get(CONV_URL, status=504, body="")
    upstream.get(CONV_URL, status=503, json={"message": "still down"})
    upstream.get(CONV_URL, json={"conversation": conversation_json()})  # must not be reached

    with pytest.raises(errors.ServerError) as caught:
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 3
    assert caught.value.status == 503
    assert caught.value.detail == "still down"
    assert len(sleeps) == 2


def test_get_retries_is_configurable(upstream):
    client = make_client(get_retries=0)
    upstream.get(CONV_URL, status=503, body="")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    with pytest.raises(errors.ServerError):
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 1


def test_a_get_is_retried_after_connection_errors_and_succeeds(client, upstream, sleeps):
    upstream.get(CONV_URL, body=requests.ConnectionError("reset by peer"))
    upstream.get(CONV_URL, body=requests.ConnectTimeout("connect timed out"))
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    conv = client.get_conversation(CONV_ID)

    assert conv.unique_id == CONV_ID
    assert len(upstream.calls) == 3
    assert len(sleeps) == 2


def test_a_get_that_never_connects_is_unreachable_after_three_attempts(client, upstream):
    upstream.get(CONV_URL, body=requests.ConnectionError("refused"))

    with pytest.raises(errors.Unreachable):
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 3


def test_a_get_whose_connects_keep_timing_out_is_timed_out_after_three_attempts(client, upstream):
    upstream.get(CONV_URL, body=requests.ConnectTimeout("connect timed out"))

    with pytest.raises(errors.TimedOut):
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 3


def test_retries_without_a_hint_back_off_exponentially(upstream, sleeps):
    client = make_client(backoff=0.5)
    upstream.get(CONV_URL, status=502, body="")
    upstream.get(CONV_URL, status=502, body="")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    client.get_conversation(CONV_ID)

    assert sleeps == [0.5, 1.0]


def test_a_small_retry_after_is_waited_out_before_retrying(client, upstream, sleeps):
    upstream.get(CONV_URL, status=503, headers={"Retry-After": "1"}, body="")
    upstream.get(CONV_URL, status=503, headers={"Retry-After": "2"}, body="")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    conv = client.get_conversation(CONV_ID)

    assert conv.unique_id == CONV_ID
    assert sleeps == [1, 2]
    assert len(upstream.calls) == 3


def test_a_retry_after_longer_than_max_retry_wait_is_not_waited_out(client, upstream, sleeps):
    upstream.get(CONV_URL, status=503, headers={"Retry-After": "120"}, json={"message": "maintenance"})
    upstream.get(CONV_URL, json={"conversation": conversation_json()})  # must not be reached

    with pytest.raises(errors.ServerError) as caught:
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 1
    assert sleeps == []
    assert caught.value.status == 503
    assert caught.value.retry_after == 120
    assert "2 minutes" in caught.value.user_message


def test_a_retry_after_of_exactly_max_retry_wait_is_waited_out(client, upstream, sleeps):
    upstream.get(CONV_URL, status=503, headers={"Retry-After": "2"}, body="")
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    client.get_conversation(CONV_ID)

    assert sleeps == [2]


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500])
def test_a_get_is_not_retried_on_other_errors(client, upstream, sleeps, status):
    upstream.get(CONV_URL, status=status, json={"message": "no"})
    upstream.get(CONV_URL, json={"conversation": conversation_json()})

    with pytest.raises(errors.WapiKitError):
        client.get_conversation(CONV_ID)

    assert len(upstream.calls) == 1
    assert sleeps == []


POST_OPERATIONS = {
    "update_status": (CONV_URL, lambda c: c.update_conversation_status(CONV_ID, status="Closed")),
    "assign": (f"{CONV_URL}/assign", lambda c: c.assign_conversation(CONV_ID, member_id=MEMBER_ID)),
    "unassign": (f"{CONV_URL}/unassign", lambda c: c.unassign_conversation(CONV_ID, member_id=MEMBER_ID)),
}


@pytest.mark.parametrize("operation", list(POST_OPERATIONS))
@pytest.mark.parametrize(
    "failure, expected",
    [
        pytest.param({"status": 503, "body": ""}, errors.ServerError, id="503"),
        pytest.param({"status": 502, "body": ""}, errors.ServerError, id="502"),
        pytest.param({"status": 503, "headers": {"Retry-After": "1"}, "body": ""}, errors.ServerError, id="503-short-retry-after"),
        pytest.param({"body": requests.ConnectionError("refused")}, errors.Unreachable, id="connection-error"),
        pytest.param({"body": requests.ConnectTimeout("timed out")}, errors.TimedOut, id="connect-timeout"),
        pytest.param({"body": requests.ReadTimeout("timed out")}, errors.TimedOut, id="read-timeout"),
    ],
)
def test_a_post_is_never_retried(client, upstream, sleeps, operation, failure, expected):
    url, call = POST_OPERATIONS[operation]
    upstream.post(url, **failure)
    upstream.post(url, json={"conversation": conversation_json(), "data": True})  # must not be reached

    with pytest.raises(expected):
        call(client)

    assert len(upstream.calls) == 1
    assert sleeps == []


# Every failure is a WapiKitError, and none of them leaks the API key


ERROR_CASES = {
    "400": ({"status": 400, "json": {"message": "bad status"}}, errors.Rejected),
    "401": ({"status": 401, "json": {"message": "invalid access token"}}, errors.Unauthorized),
    "403": ({"status": 403, "json": {"message": "forbidden"}}, errors.Unauthorized),
    "404": ({"status": 404, "json": {"message": "not found"}}, errors.NotFound),
    "429": ({"status": 429, "json": {"message": "slow down", "remaining": 0, "reset": 30}}, errors.RateLimited),
    "500": ({"status": 500, "json": {"message": "boom"}}, errors.ServerError),
    "503": ({"status": 503, "headers": {"Retry-After": "120"}, "json": {"message": "maintenance"}}, errors.ServerError),
    "418": ({"status": 418, "body": "teapot"}, errors.BadResponse),
    "200-not-json": ({"status": 200, "body": "<html>"}, errors.BadResponse),
    "200-wrong-shape": ({"status": 200, "json": {"conversation": {"status": "Active"}}}, errors.BadResponse),
    "connection-error": ({"body": requests.ConnectionError("refused")}, errors.Unreachable),
    "connect-timeout": ({"body": requests.ConnectTimeout("timed out")}, errors.TimedOut),
    "read-timeout": ({"body": requests.ReadTimeout("timed out")}, errors.TimedOut),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_every_failure_is_a_wapikit_error_with_a_user_message(client, upstream, case):
    response, expected = ERROR_CASES[case]
    upstream.get(CONV_URL, **response)

    with pytest.raises(expected) as caught:
        client.get_conversation(CONV_ID)

    assert isinstance(caught.value, errors.WapiKitError)
    assert caught.value.user_message
    assert str(caught.value)


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_the_api_key_never_appears_in_an_error(upstream, seen, case):
    secret = "wk_live_3c9f1e2a7b5d4c8e"
    client = make_client(api_key=secret)
    response, _ = ERROR_CASES[case]
    upstream.get(CONV_URL, **response)
    upstream.post(CONV_URL, **response)

    failures = []
    for call in (lambda: client.get_conversation(CONV_ID), lambda: client.update_conversation_status(CONV_ID, status="Closed")):
        with pytest.raises(errors.WapiKitError) as caught:
            call()
        failures.append(caught.value)

    for exc in failures:
        for text in (str(exc), repr(exc), exc.user_message, exc.detail, repr(exc.args)):
            assert secret not in text
    for method, path, _status in seen:
        assert secret not in method + path


# Request listeners


def test_listeners_hear_method_path_and_status_of_each_attempt(client, upstream, seen):
    upstream.get(CONV_URL, status=503, body="")
    upstream.get(CONV_URL, body=requests.ConnectionError("reset"))
    upstream.get(CONV_URL, json={"conversation": conversation_json()})
    upstream.post(f"{CONV_URL}/assign", json={"data": True})
    upstream.get(MEMBERS_URL, json=_member_page(1, 0, 1, 50, 1))

    client.get_conversation(CONV_ID)
    client.assign_conversation(CONV_ID, member_id=MEMBER_ID)
    client.list_members()

    assert seen == [
        ("GET", f"/conversation/{CONV_ID}", 503),
        ("GET", f"/conversation/{CONV_ID}", None),
        ("GET", f"/conversation/{CONV_ID}", 200),
        ("POST", f"/conversation/{CONV_ID}/assign", 200),
        ("GET", "/organization/members", 200),
    ]


def test_listeners_hear_errors_and_timeouts_too(client, upstream, seen):
    upstream.get(CONV_URL, status=404, json={"message": "gone"})
    upstream.post(CONV_URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(errors.NotFound):
        client.get_conversation(CONV_ID)
    with pytest.raises(errors.TimedOut):
        client.update_conversation_status(CONV_ID, status="Closed")

    assert seen == [
        ("GET", f"/conversation/{CONV_ID}", 404),
        ("POST", f"/conversation/{CONV_ID}", None),
    ]


# Client bugs found while writing these tests. Each asserts the CORRECT behaviour and is
# expected to fail against the current client until the client is fixed.


def test_pagination_meta_is_read_from_wapikit_s_snake_case_per_page(client, upstream):
    # CLIENT BUG: `paginationMeta` is {"page", "per_page", "total"} upstream, but
    # types.PaginationMeta (rename="camel") only accepts "perPage", so every real page of
    # conversations, messages or members is rejected as a BadResponse.
    upstream.get(
        CONVERSATIONS_URL,
        json={"conversations": [], "paginationMeta": {"page": 2, "per_page": 50, "total": 120}},
    )

    page = client.list_conversations(page=2, per_page=50)

    assert page.pagination_meta.per_page == 50
    assert page.pagination_meta.total == 120


def test_a_redirect_to_another_host_never_receives_the_api_key(client, upstream):
    # CLIENT BUG: the session follows redirects, and requests only strips `Authorization` on a
    # cross-host redirect, not a custom header such as `x-access-token`. A 3xx from WapiKit (or
    # anything in front of it) pointing elsewhere hands the API key to that other host.
    upstream.get(CONV_URL, status=302, headers={"Location": "http://attacker.test/collect"})
    upstream.get("http://attacker.test/collect", json={"conversation": conversation_json()})

    try:
        client.get_conversation(CONV_ID)
    except errors.WapiKitError:
        pass  # refusing to follow the redirect is an acceptable outcome

    for call in upstream.calls:
        if urlsplit(call.request.url).hostname != "wapikit.test":
            assert API_KEY not in call.request.headers.values()


@pytest.mark.parametrize("retry_after", ["\u00b2", "\u00b9\u00b2\u00b3"])
def test_a_retry_after_of_non_ascii_digits_is_ignored_not_a_crash(client, upstream, retry_after):
    # CLIENT BUG: `_retry_after` checks `str.isdigit()`, which is true for superscript digits
    # (a Latin-1 header byte such as 0xB2 decodes to "²"), then `int()` raises a plain
    # ValueError that escapes the WapiKitError hierarchy.
    upstream.get(CONVERSATIONS_URL, status=429, headers={"Retry-After": retry_after}, json={"message": "slow"})

    with pytest.raises(errors.RateLimited):
        client.list_conversations()


# Campaigns

CAMPAIGNS_URL = f"{BASE}/campaigns"


def campaign_json(unique_id: str, name: str, **overrides) -> dict:
    """A campaign as the spec's CampaignSchema describes it, every required field present."""
    campaign = {
        "uniqueId": unique_id,
        "name": name,
        "description": "",
        "status": "Running",
        "createdAt": "2026-03-01T10:00:00Z",
        "lists": [{"uniqueId": LIST_ID, "name": "Customers"}],
        "tags": [],
        "isLinkTrackingEnabled": False,
        "progress": {"totalMessages": 120, "sent": 80},
    }
    campaign.update(overrides)
    return campaign


def _campaign_page(count: int, start: int, page: int, per_page: int, total: int) -> dict:
    campaigns = [campaign_json(f"00000000-0000-4000-9000-{start + i:012d}", f"Campaign {start + i}") for i in range(count)]
    return {"campaigns": campaigns, "paginationMeta": page_meta(page, per_page, total)}


def test_listing_campaigns_reads_ids_and_names_with_one_get(client, upstream, seen):
    upstream.get(
        CAMPAIGNS_URL,
        json={
            "campaigns": [campaign_json(CAMPAIGN_ID, "Spring sale 2026"), campaign_json(LIST_ID, "Welcome series")],
            "paginationMeta": page_meta(1, 50, 2),
        },
    )

    campaigns = client.list_campaigns()

    assert [(c.unique_id, c.name) for c in campaigns] == [(CAMPAIGN_ID, "Spring sale 2026"), (LIST_ID, "Welcome series")]
    assert campaigns[0].status == "Running"
    assert query(upstream.calls[0]) == {"page": ["1"], "per_page": ["50"], "order": ["asc"]}
    assert upstream.calls[0].request.headers["x-access-token"] == API_KEY
    assert seen == [("GET", "/campaigns", 200)]


def test_campaigns_decode_tolerantly_nulls_missing_fields_and_unknown_statuses(client, upstream):
    sparse = {"uniqueId": CAMPAIGN_ID, "name": "Order follow-up", "lists": None, "tags": None, "status": "Archived"}
    unnamed = {"uniqueId": LIST_ID}
    upstream.get(CAMPAIGNS_URL, json={"campaigns": [sparse, unnamed], "paginationMeta": page_meta(1, 50, 0)})

    first, second = client.list_campaigns()

    assert (first.name, first.status, first.created_at) == ("Order follow-up", "Archived", None)
    assert (second.unique_id, second.name) == (LIST_ID, "")


def test_an_empty_campaign_list_may_arrive_as_null(client, upstream):
    upstream.get(CAMPAIGNS_URL, json={"campaigns": None, "paginationMeta": page_meta(1, 50, 0)})

    assert client.list_campaigns() == []


def test_listing_campaigns_fetches_every_page_until_a_short_one(client, upstream):
    upstream.get(CAMPAIGNS_URL, json=_campaign_page(50, 0, 1, 50, 0))
    upstream.get(CAMPAIGNS_URL, json=_campaign_page(3, 50, 2, 50, 0))
    upstream.get(CAMPAIGNS_URL, json=_campaign_page(50, 100, 3, 50, 0))

    campaigns = client.list_campaigns()

    assert [query(c)["page"] for c in upstream.calls] == [["1"], ["2"]]
    assert len(campaigns) == 53


def test_a_campaign_without_an_id_makes_the_answer_unreadable(client, upstream):
    upstream.get(CAMPAIGNS_URL, json={"campaigns": [{"name": "No id"}], "paginationMeta": page_meta(1, 50, 1)})

    with pytest.raises(errors.BadResponse):
        client.list_campaigns()
