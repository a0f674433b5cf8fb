"""One conversation's page: its card, then its messages oldest first, each type rendered as
something a person can read; missing or malformed ids answer a page that says so."""

from __future__ import annotations

import re
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.integration.conftest import body_of, card_ids, conversations_with, first_conversation, html

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MESSAGE_TIME_RE = re.compile(r'<li class="msg msg-(?:inbound|outbound)">\s*<p class="meta">.*?<time datetime="([^"]+)"', re.S)


def all_messages(sandbox, conversation_id: str) -> list[dict]:
    return sandbox.get(f"/conversation/{conversation_id}/messages", page=1, per_page=50, order="asc")["messages"]


@pytest.fixture(scope="module")
def examples(sandbox) -> dict[str, tuple[str, dict]]:
    """For each message type the seed has, one conversation id and one such message. Message
    ids and contents do not change when the sandbox is re-seeded; only statuses do."""
    wanted = {"Document", "Location", "Reaction", "Image"}
    found: dict[str, tuple[str, dict]] = {}
    for status in ("Active", "Closed", "Deleted"):
        for conversation in conversations_with(sandbox, status):
            # The list carries the last three messages: enough to find every type quickly.
            for message in conversation["messages"]:
                kind = message["messageType"]
                if kind in wanted and kind not in found:
                    found[kind] = (conversation["uniqueId"], message)
            if wanted <= found.keys():
                return found
    return found


def test_the_page_shows_the_card_and_every_message_oldest_first(login_as, wapikit):
    client = login_as("manager")
    conversation = next(c for c in conversations_with(wapikit, "Active") if c["totalMessages"] >= 4)
    messages = all_messages(wapikit, conversation["uniqueId"])

    response = client.get(f"/conversations/{conversation['uniqueId']}/")

    assert response.status_code == 200
    body = body_of(response)
    assert card_ids(body) == [conversation["uniqueId"]]
    assert f"<title>{html(conversation['contact']['name'])} · WapiKit dashboard</title>" in body
    assert f'<span class="muted">({len(messages)})</span>' in body
    times = MESSAGE_TIME_RE.findall(body)
    assert len(times) == len(messages) == conversation["totalMessages"]
    assert times == sorted(times), "oldest message first"
    assert times[0] < times[-1]
    first_text = next(m for m in messages if m["messageType"] == "Text")["messageData"]["text"]
    assert html(first_text.splitlines()[0]) in body


def test_inbound_messages_carry_the_contacts_name_and_outbound_ones_business(login_as, wapikit):
    client = login_as("manager")
    conversation = next(
        c
        for c in conversations_with(wapikit, "Active")
        if {m["direction"] for m in all_messages(wapikit, c["uniqueId"])} == {"InBound", "OutBound"}
    )

    body = body_of(client.get(f"/conversations/{conversation['uniqueId']}/"))

    assert '<li class="msg msg-inbound">' in body
    assert '<li class="msg msg-outbound">' in body
    assert re.search(rf'<p class="meta">\s*<bdi>{re.escape(html(conversation["contact"]["name"]))}</bdi>\s+· ', body)
    assert re.search(r'<p class="meta">\s*Business\s+· ', body)


def test_a_document_message_shows_its_file_name(login_as, wapikit, examples):
    if "Document" not in examples:
        pytest.skip("the seed has no Document message")
    conversation_id, message = examples["Document"]

    body = body_of(login_as("manager").get(f"/conversations/{conversation_id}/"))

    assert re.search(rf'<span class="label">Document</span>\s+{re.escape(html(message["messageData"]["fileName"]))}', body)
    assert ">download</a>" in body


def test_a_location_message_shows_its_place(login_as, wapikit, examples):
    if "Location" not in examples:
        pytest.skip("the seed has no Location message")
    conversation_id, message = examples["Location"]
    data = message["messageData"]

    body = body_of(login_as("manager").get(f"/conversations/{conversation_id}/"))

    assert '<span class="label">Location</span>' in body
    assert html(data["address"]) in body
    assert html(data["name"]) in body
    lat, lon = (Decimal(str(data[k])).quantize(Decimal("0.00001"), ROUND_HALF_UP) for k in ("latitude", "longitude"))
    assert f'<span class="coords">({lat}, {lon})</span>' in body


def test_a_reaction_message_shows_the_reaction(login_as, wapikit, examples):
    if "Reaction" not in examples:
        pytest.skip("the seed has no Reaction message")
    conversation_id, message = examples["Reaction"]

    body = body_of(login_as("manager").get(f"/conversations/{conversation_id}/"))

    assert f'<p class="body reaction">Reacted {message["messageData"]["reaction"]}</p>' in body


def test_an_image_message_shows_a_photo_label_and_a_safe_link(login_as, wapikit, examples):
    if "Image" not in examples:
        pytest.skip("the seed has no Image message")
    conversation_id, message = examples["Image"]

    body = body_of(login_as("manager").get(f"/conversations/{conversation_id}/"))

    assert '<span class="label">Photo</span>' in body
    assert f'<a href="{message["messageData"]["link"]}" rel="noopener noreferrer nofollow" target="_blank">open</a>' in body


def test_long_conversations_are_paged_fifty_messages_at_a_time(login_as, wapikit):
    long = [
        c
        for status in ("Active", "Closed", "Deleted")
        for c in conversations_with(wapikit, status)
        if (c.get("totalMessages") or 0) > 50
    ]
    if not long:
        pytest.skip("the seeded sandbox has no conversation with more than 50 messages")
    conversation = long[0]
    client = login_as("manager")

    first = body_of(client.get(f"/conversations/{conversation['uniqueId']}/"))
    second = body_of(client.get(f"/conversations/{conversation['uniqueId']}/?page=2"))

    assert len(MESSAGE_TIME_RE.findall(first)) == 50
    assert 'rel="next"' in first
    assert MESSAGE_TIME_RE.findall(second) and max(MESSAGE_TIME_RE.findall(first)) <= min(MESSAGE_TIME_RE.findall(second))
    assert 'rel="prev"' in second


def test_a_short_conversation_has_no_pager_and_odd_page_numbers_are_not_an_error(login_as, wapikit):
    client = login_as("manager")
    conversation = first_conversation(wapikit, "Active")
    url = f"/conversations/{conversation['uniqueId']}/"

    first = client.get(url)

    assert 'aria-label="Message pages"' not in body_of(first)
    for odd in ("?page=2", "?page=0", "?page=abc", "?page=-1"):
        response = client.get(url + odd)
        assert response.status_code == 200, odd
        assert card_ids(body_of(response)) == [conversation["uniqueId"]], odd


def test_a_closed_conversation_can_still_be_opened(login_as, wapikit):
    conversation = first_conversation(wapikit, "Closed")

    response = login_as("manager").get(f"/conversations/{conversation['uniqueId']}/")

    assert response.status_code == 200
    assert '<span class="badge badge-closed">Closed</span>' in body_of(response)
    assert ">Reopen</button>" in body_of(response)


def test_an_unknown_conversation_answers_a_404_page_that_says_so(login_as, wapikit):
    response = login_as("manager").get(f"/conversations/{uuid.uuid4()}/")

    assert response.status_code == 404
    body = body_of(response)
    assert "This conversation could not be loaded." in body
    assert "WapiKit has no such conversation" in body
    assert "Traceback" not in body
    assert "<article" not in body


def test_a_malformed_conversation_id_answers_400_without_calling_wapikit(login_as, wapikit, upstream_calls):
    response = login_as("manager").get("/conversations/not-a-uuid/")

    assert response.status_code == 400
    assert "That conversation or member id is not valid." in body_of(response)
    assert upstream_calls == []


def test_a_member_without_get_conversation_cannot_open_a_conversation(login_as, wapikit, upstream_calls):
    conversation = first_conversation(wapikit, "Active")
    client = login_as("norole")

    response = client.get(f"/conversations/{conversation['uniqueId']}/")

    assert response.status_code == 403
    body = body_of(response)
    assert "You may not view conversations." in body
    assert html(conversation["contact"]["name"]) not in body
    assert not [c for c in upstream_calls if c.path.startswith("/conversation")]


def test_an_agent_reads_the_conversation_without_action_buttons(login_as, wapikit):
    conversation = first_conversation(wapikit, "Active")

    response = login_as("agent").get(f"/conversations/{conversation['uniqueId']}/")

    assert response.status_code == 200
    assert card_ids(body_of(response)) == [conversation["uniqueId"]]
    main = body_of(response).split('<main id="main">')[1].split("</main>")[0]
    assert "</button>" not in main
    assert ">Reassign</a>" not in main
