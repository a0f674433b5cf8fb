"""A background read of a conversation's newest page of messages: what the timeline needs to know
its last message, and whether the team answered outside the dashboard (WapiKit's own UI sends no
event).

Every such read is counted against the background reads' share of the messages route
(WAPIKIT_BACKGROUND_READ_SHARE of its limit in any span of WapiKit's window) and never digs into the
reserve people's own requests need. The routine reads (`backfill`) stop short of the whole share:
what they leave (ALERT_CHECKS_PART of it) is for the reads an alert makes just before it is
raised, to check the customer still waits, so a busy hour of routine reads never stops a check."""

from __future__ import annotations

from django.conf import settings

from dashboard.wapikit import budget, errors, get_client, share
from dashboard.wapikit.types import Message

MESSAGES_BUCKET = "/conversation/:id/messages"
# The newest page is all the timeline needs: the last message, and the open cycle's start.
PAGE_SIZE = 50
# The part of the background share the routine reads leave to alerts' checks.
ALERT_CHECKS_PART = 0.3


def routine_share() -> float:
    return settings.WAPIKIT_BACKGROUND_READ_SHARE * (1 - ALERT_CHECKS_PART)


def check_share() -> float:
    return settings.WAPIKIT_BACKGROUND_READ_SHARE


def read(conversation_id: str, *, part: float) -> list[Message]:
    """The conversation's newest messages, read within `part` of the route's limit. Raises
    errors.BudgetExhausted (with the Unix time the share returns) when this window's share is
    spent, and WapiKit's own errors as the client raises them."""
    client = get_client()
    with budget.background():
        until = share.take(client, MESSAGES_BUCKET, share=part)
        if until is not None:
            raise errors.BudgetExhausted(bucket=MESSAGES_BUCKET, what="the background reads' share", reset_at=until)
        return client.list_messages(conversation_id, page=1, per_page=PAGE_SIZE, order="desc").messages
