"""The sandbox's error answers (400, 401, 404) against the spec's error schemas
(BadRequestErrorResponseSchema, UnauthorizedErrorResponseSchema, NotFoundErrorResponseSchema).

Each test also checks the status it expected was the one answered: validating a 200 where a
404 was meant would prove nothing about the error schema."""

from __future__ import annotations

import uuid

import pytest

from dashboard.wapikit import errors

from .conftest import make_client

pytestmark = pytest.mark.contract

UNKNOWN_ID = str(uuid.UUID("00000000-0000-4000-8000-000000000000"))


def a_conversation_id(client) -> str:
    return client.list_conversations(per_page=1).conversations[0].unique_id


# 400


@pytest.mark.parametrize("path", ["/conversations", "/conversation/{id}/messages"])
def test_per_page_above_fifty_is_a_spec_400(contract_client, contract, wapikit, path):
    """The client refuses per_page=51 itself, so the sandbox is called directly, through a
    hooked session sending what the client would (same key header, same query names)."""
    path = path.format(id=a_conversation_id(contract_client))
    session = contract.session()
    response = session.get(
        f"{wapikit.base_url}{path}",
        params={"page": 1, "per_page": 51, "order": "desc"},
        headers={"x-access-token": wapikit.api_key, "Accept": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400, response.text
    assert "50" in response.json()["message"]
    contract.assert_clean(min_exchanges=2)
    assert contract.statuses() == [200, 400]


def test_client_refuses_per_page_above_fifty_without_a_request(contract_client, contract):
    with pytest.raises(ValueError):
        contract_client.list_conversations(per_page=51)
    assert contract.exchanges == []


def test_unassign_from_another_member_is_a_spec_400(contract_client, contract):
    """Rejected by the sandbox (the conversation is not assigned to that member): nothing changes."""
    conversation = next(
        c for c in contract_client.list_conversations(per_page=50).conversations if c.assigned_to is None
    )
    member = contract_client.list_members()[0]
    with pytest.raises(errors.Rejected):
        contract_client.unassign_conversation(conversation.unique_id, member_id=member.unique_id)
    assert contract.statuses()[-1] == 400
    contract.assert_clean(min_exchanges=3)


def test_assign_to_unknown_member_is_a_spec_400(contract_client, contract):
    conversation_id = a_conversation_id(contract_client)
    with pytest.raises(errors.Rejected):
        contract_client.assign_conversation(conversation_id, member_id=UNKNOWN_ID)
    assert contract.statuses() == [200, 400]
    contract.assert_clean(min_exchanges=2)


# 401


@pytest.mark.parametrize("api_key", ["not-the-key", ""])
def test_bad_key_is_a_spec_401_on_every_endpoint(wapikit, contract, api_key):
    client = make_client(wapikit, contract, api_key=api_key)
    calls = [
        lambda: client.list_conversations(),
        lambda: client.get_conversation(UNKNOWN_ID),
        lambda: client.update_conversation_status(UNKNOWN_ID, status="Closed"),
        lambda: client.assign_conversation(UNKNOWN_ID, member_id=UNKNOWN_ID),
        lambda: client.unassign_conversation(UNKNOWN_ID, member_id=UNKNOWN_ID),
        lambda: client.list_messages(UNKNOWN_ID),
        lambda: client.list_members(),
    ]
    for call in calls:
        with pytest.raises(errors.Unauthorized):
            call()
    assert contract.statuses() == [401] * len(calls)
    contract.assert_clean(min_exchanges=len(calls))


def test_missing_key_header_is_a_spec_401(wapikit, contract):
    response = contract.session().get(
        f"{wapikit.base_url}/conversations", params={"page": 1, "per_page": 5}, timeout=5
    )
    assert response.status_code == 401
    contract.assert_clean()


# 404


def test_unknown_conversation_is_a_spec_404_on_every_endpoint(contract_client, contract):
    member_id = contract_client.list_members()[0].unique_id
    calls = [
        lambda: contract_client.get_conversation(UNKNOWN_ID),
        lambda: contract_client.update_conversation_status(UNKNOWN_ID, status="Closed"),
        lambda: contract_client.assign_conversation(UNKNOWN_ID, member_id=member_id),
        lambda: contract_client.unassign_conversation(UNKNOWN_ID, member_id=member_id),
        lambda: contract_client.list_messages(UNKNOWN_ID),
    ]
    for call in calls:
        with pytest.raises(errors.NotFound):
            call()
    assert contract.statuses()[-len(calls):] == [404] * len(calls)
    contract.assert_clean(min_exchanges=len(calls) + 1)
