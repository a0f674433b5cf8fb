"""The conversation object against its documentation page, `update-a-conversation.txt`, which
the README names the authority for that object where it and the spec disagree.

Both agree on the property names and types. Where they differ is what an answer carries: the
page's example always has `totalMessages`, and each role its `description`, which the spec's
ConversationSchema / OrganizationRoleSchema leave optional. So on top of the spec validation
(which every exchange here also gets, through `contract`), each conversation in an answer must
have every key the page shows, with the page's JSON types, recursively.

Keys that may be absent, each because the spec marks it optional and it only exists for some
conversations or messages (the page's example is a fully populated one):
  campaignId (only for campaign-initiated conversations), assignedTo (only when assigned),
  replyToMessageId (only on replies), whatsAppMessageId (only once WhatsApp gave an id).
`messageData` is compared as an object only: the page shows a Text body, and every message
type's body is checked by the spec's MessageSchema oneOf instead."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import spec_path, spec_missing

pytestmark = pytest.mark.contract

OPTIONAL = {"campaignId", "assignedTo", "replyToMessageId", "whatsAppMessageId"}
OPAQUE = {"messageData", "attributes"}


@pytest.fixture(scope="module")
def documented_conversation() -> dict[str, Any]:
    spec = spec_path()
    page = spec.parent / "update-a-conversation.txt" if spec else None
    if page is None or not page.is_file():
        spec_missing("update-a-conversation.txt (next to the spec)")
    text = page.read_text(encoding="utf-8")
    start = text.index('{\n"conversation"')
    example, _ = json.JSONDecoder().raw_decode(text, start)
    return example["conversation"]


def doc_shape_errors(doc: Any, actual: Any, path: str = "conversation") -> list[str]:
    json_type = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}
    expected, got = json_type[type(doc)], json_type.get(type(actual), type(actual).__name__)
    if expected != got and not (expected == "number" and got == "integer"):
        return [f"{path}: the page shows {expected}, the answer has {got} ({actual!r:.80})"]
    errors: list[str] = []
    if isinstance(doc, dict) and path.rsplit(".", 1)[-1] not in OPAQUE:
        for key, value in doc.items():
            if key not in actual:
                if key not in OPTIONAL:
                    errors.append(f"{path}.{key}: on the page, missing from the answer")
                continue
            errors.extend(doc_shape_errors(value, actual[key], f"{path}.{key}"))
    elif isinstance(doc, list) and doc:
        for i, item in enumerate(actual):
            errors.extend(doc_shape_errors(doc[0], item, f"{path}[{i}]"))
    return errors


def conversations_in(exchange) -> list[dict[str, Any]]:
    body = json.loads(exchange.response_body)
    if "conversation" in body:
        return [body["conversation"]]
    return body.get("conversations", [])


def assert_matches_page(contract, documented_conversation, *, min_conversations: int) -> None:
    checked, errors = 0, []
    for exchange in contract.exchanges:
        if exchange.status != 200:
            continue
        for conversation in conversations_in(exchange):
            checked += 1
            errors.extend(f"{exchange.headline()}: {e}" for e in doc_shape_errors(documented_conversation, conversation))
    assert checked >= min_conversations
    assert not errors, f"{len(errors)} difference(s) from update-a-conversation.txt:\n" + "\n".join(errors[:30])


def test_list_answers_match_the_page(contract_client, contract, documented_conversation):
    for status in (None, "Active", "Closed", "Deleted"):
        contract_client.list_conversations(status=status, per_page=50)
    contract.assert_clean(min_exchanges=4)
    assert_matches_page(contract, documented_conversation, min_conversations=50)


def test_get_answer_of_an_assigned_campaign_conversation_matches_the_page(
    contract_client, contract, documented_conversation
):
    """The fullest object: campaign, assignee with roles, tags, so no optional key is absent."""
    conversation = next(
        c
        for page in range(1, 6)
        for c in contract_client.list_conversations(page=page, per_page=50).conversations
        if c.campaign_id and c.assigned_to and c.assigned_to.roles and c.tags
    )
    contract_client.get_conversation(conversation.unique_id)
    contract.assert_clean(min_exchanges=2)
    full = conversations_in(contract.exchanges[-1])[0]
    assert {"campaignId", "assignedTo"} <= full.keys()
    assert_matches_page(contract, documented_conversation, min_conversations=2)


def test_update_answer_is_the_whole_conversation_as_on_the_page(
    fresh_contract_client, contract, documented_conversation
):
    client = fresh_contract_client
    conversation = client.list_conversations(status="Active", per_page=1).conversations[0]
    client.update_conversation_status(conversation.unique_id, status="Closed")
    client.update_conversation_status(conversation.unique_id, status="Active")
    contract.assert_clean(min_exchanges=3)
    updates = [e for e in contract.exchanges if e.method == "POST"]
    assert [conversations_in(e)[0]["status"] for e in updates] == ["Closed", "Active"]
    assert_matches_page(contract, documented_conversation, min_conversations=3)
