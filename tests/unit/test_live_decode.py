"""Event frames as the listener decodes them: built as the sandbox builds WapiKit's (base64 of a
MessagePack map, keys as JSON tag names with float numbers, or as Go field names), and broken."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import msgpack
import pytest

from dashboard.wapikit.decode import AssignmentChanged, NewConversation, NewMessage, Undecodable, decode_frame
from dashboard.wapikit.events import Frame, FrameParser
from devtools.sandbox.events import encode_frame

CONVERSATION_ID = "6f1c2a4e-6d0b-4a53-9a8e-0c6d5a1b2c3d"
MESSAGE_ID = "0e5d4c3b-2a19-4f8e-8d7c-6b5a49382716"
CONTACT_ID = "11111111-2222-4333-8444-555555555555"
MEMBER_ID = "99999999-8888-4777-8666-555555555555"


def conversation(**changes) -> dict:
    """A conversation as WapiKit's webhook publishes it (sandbox `webhook._event_conversation`)."""
    payload = {
        "assignedTo": {"uniqueId": MEMBER_ID, "accessLevel": "Member", "name": "Priya", "email": "p@example.com", "roles": None},
        "campaignId": "",
        "contact": {
            "uniqueId": CONTACT_ID,
            "name": "Ada Lovelace",
            "phone": "+447700900123",
            "attributes": {"preferred_language": "en", "VIP": True},
            "createdAt": "2026-03-01T09:30:00Z",
            "status": "Active",
        },
        "contactId": CONTACT_ID,
        "createdAt": "2026-03-01T09:30:00Z",
        "initiatedBy": "Contact",
        "messages": [],
        "numberOfUnreadMessages": 3,
        "organizationId": "22222222-3333-4444-8555-666666666666",
        "status": "Active",
        "tags": [],
        "uniqueId": CONVERSATION_ID,
        "businessAccountId": "100000000000001",
        "whatsAppBusinessAccountDetails": {"accessToken": "", "businessAccountId": "", "webhookSecret": ""},
    }
    payload.update(changes)
    return payload


def message(text: str = "Olá, is my order on its way?") -> dict:
    return {
        "conversationId": CONVERSATION_ID,
        "createdAt": "2026-03-02T10:00:05Z",
        "direction": "InBound",
        "messageData": {"text": text},
        "messageType": "Text",
        "status": "Sent",
        "uniqueId": MESSAGE_ID,
    }


def frame_of(event_type: str, data: dict, *, keys: str) -> Frame:
    """The one frame the sandbox writes for this event with this `event_keys` option."""
    (frame,) = FrameParser().feed(encode_frame(event_type, data, go_field_names=keys == "go"))
    return frame


def raw_frame(event_type: str, payload: object) -> Frame:
    return Frame(event_type, base64.b64encode(msgpack.packb(payload)).decode())


@pytest.mark.parametrize("keys", ["json", "go"])
def test_a_new_message_decodes_to_its_conversation_and_message(keys):
    frame = frame_of("NewMessage", {"conversation": conversation(), "message": message()}, keys=keys)
    assert set(msgpack.unpackb(base64.b64decode(frame.data))) == (
        {"Conversation", "Message"} if keys == "go" else {"conversation", "message"}
    )

    event = decode_frame(frame)

    assert isinstance(event, NewMessage)
    assert event.conversation.unique_id == CONVERSATION_ID
    assert event.conversation.contact.name == "Ada Lovelace"
    assert event.conversation.assigned_to.unique_id == MEMBER_ID
    assert event.message.unique_id == MESSAGE_ID
    assert event.message.message_data.text == "Olá, is my order on its way?"
    assert event.message.message_type == "Text"
    assert event.message.inbound
    assert event.message.created_at == datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize("keys", ["json", "go"])
def test_a_new_conversation_decodes_with_its_contact(keys):
    event = decode_frame(frame_of("NewConversation", {"conversation": conversation()}, keys=keys))

    assert isinstance(event, NewConversation)
    assert event.conversation.unique_id == CONVERSATION_ID
    assert event.conversation.contact_id == CONTACT_ID
    assert event.conversation.status == "Active"


@pytest.mark.parametrize("keys", ["json", "go"])
def test_a_contact_s_attribute_names_are_kept_as_written(keys):
    event = decode_frame(frame_of("NewConversation", {"conversation": conversation()}, keys=keys))

    assert event.conversation.contact.attributes == {"preferred_language": "en", "VIP": True}


@pytest.mark.parametrize("keys", ["json", "go"])
@pytest.mark.parametrize(("event_type", "assigned"), [("ChatAssignment", True), ("ChatUnAssignment", False)])
def test_assignment_events_name_the_conversation_and_which_way_it_changed(keys, event_type, assigned):
    event = decode_frame(frame_of(event_type, {"conversationId": CONVERSATION_ID}, keys=keys))

    assert event == AssignmentChanged(conversation_id=CONVERSATION_ID, assigned=assigned)


def test_numbers_that_went_through_json_as_floats_read_as_counts():
    frame = frame_of("NewConversation", {"conversation": conversation(numberOfUnreadMessages=3, totalMessages=7)}, keys="json")
    assert msgpack.unpackb(base64.b64decode(frame.data))["conversation"]["numberOfUnreadMessages"] == 3.0

    event = decode_frame(frame)

    assert event.conversation.number_of_unread_messages == 3
    assert isinstance(event.conversation.number_of_unread_messages, int)
    assert event.conversation.total_messages == 7


def test_a_count_with_a_fraction_is_no_count():
    frame = raw_frame("NewConversation", {"conversation": conversation(numberOfUnreadMessages=2.5)})

    with pytest.raises(Undecodable, match="numberOfUnreadMessages"):
        decode_frame(frame)


def test_a_time_written_as_a_messagepack_timestamp_reads_as_a_time():
    created = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)
    data = {"conversation": conversation(), "message": {**message(), "createdAt": created}}
    frame = Frame("NewMessage", base64.b64encode(msgpack.packb(data, datetime=True)).decode())

    assert decode_frame(frame).message.created_at == created


def test_the_connected_frame_and_unknown_types_are_no_events():
    assert decode_frame(Frame("connected", "OK")) is None
    assert decode_frame(raw_frame("ConversationClosed", {"conversationId": CONVERSATION_ID})) is None
    assert decode_frame(Frame("message", "not even base64!")) is None


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (Frame("NewMessage", "this is not base64 at all!"), "not base64"),
        (Frame("NewMessage", base64.b64encode(b"\xc1\xc1\xc1").decode()), "not MessagePack"),
        (Frame("NewMessage", base64.b64encode(msgpack.packb({"a": 1}) + b"\x01").decode()), "not MessagePack"),
        (Frame("NewMessage", ""), "not MessagePack"),
        (raw_frame("NewMessage", [1, 2, 3]), "not a map"),
        (raw_frame("NewMessage", "Hello"), "not a map"),
        (raw_frame("NewMessage", {"message": message()}), "conversation"),
        (raw_frame("NewConversation", {"conversation": {"uniqueId": CONVERSATION_ID}}), "contact"),
        (raw_frame("NewMessage", {"conversation": conversation(), "message": None}), "message"),
        (raw_frame("ChatAssignment", {"conversationId": 42}), "conversationId"),
        (raw_frame("ChatAssignment", {}), "conversationId"),
    ],
    ids=[
        "bad base64", "bad msgpack", "trailing bytes", "empty", "a list", "a string",
        "no conversation", "no contact", "null message", "a number for an id", "no id",
    ],
)
def test_a_broken_frame_is_undecodable_with_a_reason(frame, reason):
    with pytest.raises(Undecodable, match=reason) as raised:
        decode_frame(frame)

    assert str(raised.value).startswith(frame.event + ": ")


def test_the_reason_never_quotes_what_the_customer_wrote():
    secret = "my card number is 4111 1111 1111 1111"
    broken = {"conversation": conversation(contact={"name": secret}), "message": message(secret)}

    with pytest.raises(Undecodable) as raised:
        decode_frame(raw_frame("NewMessage", broken))

    assert secret not in str(raised.value)
    assert "4111" not in str(raised.value)
