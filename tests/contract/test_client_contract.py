"""Every method of the dashboard's WapiKit client, driven against the sandbox, with each request
it sends and each answer it gets validated against WapiKit's OpenAPI spec."""

from __future__ import annotations

import pytest

from dashboard.wapikit.types import STATUSES

pytestmark = pytest.mark.contract


def first_conversation(client, **filters):
    page = client.list_conversations(per_page=50, **filters)
    assert page.conversations, f"the seeded sandbox has no conversation for {filters}"
    return page.conversations[0]


@pytest.mark.parametrize("status", [None, *STATUSES])
def test_list_conversations_by_status(contract_client, contract, status):
    page = contract_client.list_conversations(status=status, per_page=50)
    assert page.conversations, f"no seeded conversation with status={status}"
    if status is not None:
        assert {c.status for c in page.conversations} == {status}
    contract.assert_clean()


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_list_conversations_order(contract_client, contract, order):
    page = contract_client.list_conversations(order=order, per_page=10)
    assert page.conversations
    contract.assert_clean()


def test_list_conversations_by_campaign(contract_client, contract):
    with_campaign = next(
        c for c in contract_client.list_conversations(per_page=50).conversations if c.campaign_id
    )
    page = contract_client.list_conversations(campaign_id=with_campaign.campaign_id, per_page=50)
    assert page.conversations and {c.campaign_id for c in page.conversations} == {with_campaign.campaign_id}
    contract.assert_clean(min_exchanges=2)


def test_list_conversations_by_contact(contract_client, contract):
    conversation = first_conversation(contract_client)
    page = contract_client.list_conversations(contact_id=conversation.contact_id, per_page=50)
    assert conversation.unique_id in {c.unique_id for c in page.conversations}
    contract.assert_clean(min_exchanges=2)


def test_list_conversations_all_filters_together(contract_client, contract):
    with_campaign = next(
        c for c in contract_client.list_conversations(per_page=50).conversations if c.campaign_id
    )
    page = contract_client.list_conversations(
        page=1,
        per_page=5,
        status=with_campaign.status,
        order="asc",
        campaign_id=with_campaign.campaign_id,
        contact_id=with_campaign.contact_id,
    )
    assert with_campaign.unique_id in {c.unique_id for c in page.conversations}
    contract.assert_clean(min_exchanges=2)


def test_get_conversation(contract_client, contract):
    conversation = first_conversation(contract_client)
    fetched = contract_client.get_conversation(conversation.unique_id)
    assert fetched.unique_id == conversation.unique_id
    contract.assert_clean(min_exchanges=2)


def test_get_assigned_conversation(contract_client, contract):
    """An `assignedTo` member (with roles and permissions) is part of the checked answer."""
    assigned = next(
        c for c in contract_client.list_conversations(per_page=50).conversations if c.assigned_to is not None
    )
    contract_client.get_conversation(assigned.unique_id)
    contract.assert_clean(min_exchanges=2)


def test_update_conversation_status_closed_then_active(fresh_contract_client, contract):
    client = fresh_contract_client
    conversation = first_conversation(client, status="Active")
    closed = client.update_conversation_status(conversation.unique_id, status="Closed")
    assert closed.status == "Closed"
    reopened = client.update_conversation_status(conversation.unique_id, status="Active")
    assert reopened.status == "Active"
    assert [e.method for e in contract.exchanges] == ["GET", "POST", "POST"]
    contract.assert_clean(min_exchanges=3)


def test_assign_and_unassign_conversation(fresh_contract_client, contract):
    client = fresh_contract_client
    member = client.list_members()[0]
    conversation = first_conversation(client)
    client.assign_conversation(conversation.unique_id, member_id=member.unique_id)
    assigned = client.get_conversation(conversation.unique_id)
    assert assigned.assigned_to is not None and assigned.assigned_to.unique_id == member.unique_id
    client.unassign_conversation(conversation.unique_id, member_id=member.unique_id)
    assert client.get_conversation(conversation.unique_id).assigned_to is None
    methods = [(e.method, e.url.rsplit("/", 1)[-1]) for e in contract.exchanges]
    assert ("POST", "assign") in methods and ("POST", "unassign") in methods
    contract.assert_clean(min_exchanges=5)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_list_messages(contract_client, contract, order):
    conversation = first_conversation(contract_client)
    page = contract_client.list_messages(conversation.unique_id, order=order, per_page=50)
    assert page.messages
    contract.assert_clean(min_exchanges=2)


def test_list_messages_second_page(contract_client, contract):
    conversation = next(
        c
        for c in contract_client.list_conversations(per_page=50).conversations
        if (c.total_messages or 0) > 2
    )
    page = contract_client.list_messages(conversation.unique_id, page=2, per_page=2)
    assert page.messages
    contract.assert_clean(min_exchanges=2)


def test_list_members(contract_client, contract):
    members = contract_client.list_members()
    assert members and any(m.roles for m in members)
    contract.assert_clean()


def test_list_members_several_pages(contract_client, contract):
    """A small page size makes the client walk every page of members."""
    members = contract_client.list_members(per_page=2)
    assert len(contract.exchanges) >= 2 and len(members) > 2
    contract.assert_clean(min_exchanges=2)


def test_list_campaigns(contract_client, contract):
    campaigns = contract_client.list_campaigns()
    assert campaigns and all(c.name for c in campaigns)
    contract.assert_clean()


def test_list_campaigns_several_pages(contract_client, contract):
    """A small page size makes the client walk every page of campaigns."""
    campaigns = contract_client.list_campaigns(per_page=2)
    assert len(contract.exchanges) >= 2 and len(campaigns) > 2
    contract.assert_clean(min_exchanges=2)
