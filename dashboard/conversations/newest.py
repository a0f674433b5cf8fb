"""A background read of a conversation's newest page of messages: what the timeline needs to know
its last message, and whether the team answered outside the dashboard (WapiKit's own UI sends no
event).

Every such read is counted against the background reads' share of the messages route
(WAPIKIT_BACKGROUND_READ_SHARE of its limit in any span of WapiKit's window) and never digs into the
reserve people's own requests need. The routine reads (`backfill`) stop short of the whole share:
what they leave is for the reads alerts make (`alerts`), so a busy hour of routine reads never
stops one; and when the messages route has nothing left for background work, an alert's read
takes the conversation itself from its own route's share."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings

from dashboard.wapikit import WapiKitClient, budget, errors, get_client, share
from dashboard.wapikit.types import Message

MESSAGES_BUCKET = "/conversation/:id/messages"
CONVERSATION_BUCKET = "/conversation/:id"
# The newest page is all the timeline needs: the last message, and the open cycle's start.
PAGE_SIZE = 50
# The part of the background share the routine reads leave to alerts' reads, and of that, the
# part only the look for a wait begun unseen (`alerts.recheck`) may take: the check before an
# alert only spares the team an alert it did not need, while that look finds a wait that would
# otherwise get none, so a busy hour of checks never stops it.
ALERT_CHECKS_PART = 0.4
RECHECKS_PART = 0.2


def routine_share() -> float:
    return settings.WAPIKIT_BACKGROUND_READ_SHARE * (1 - ALERT_CHECKS_PART)


def check_share() -> float:
    return settings.WAPIKIT_BACKGROUND_READ_SHARE * (1 - RECHECKS_PART)


def recheck_share() -> float:
    return settings.WAPIKIT_BACKGROUND_READ_SHARE


def read(conversation_id: str, *, part: float, or_whole: bool = False) -> list[Message]:
    """The conversation's newest messages, read within `part` of the route's limit. Raises
    errors.BudgetExhausted (with the Unix time the share returns) when this window's share is
    spent, and WapiKit's own errors as the client raises them. `or_whole`, for alerts' looks,
    which cannot wait for the window (WapiKit's server prolongs it while it is used): when the
    messages route has no background read left, the conversation itself is read instead (all its
    messages), within the same part of that route's own limit."""
    client = get_client()
    try:
        return _spend(
            client, MESSAGES_BUCKET, part,
            lambda: client.list_messages(conversation_id, page=1, per_page=PAGE_SIZE, order="desc").messages,
        )
    except errors.BudgetExhausted:
        if not or_whole:
            raise
        return _spend(client, CONVERSATION_BUCKET, part, lambda: client.get_conversation(conversation_id).messages)


def _spend(client: WapiKitClient, bucket: str, part: float, send: Callable[[], list[Message]]) -> list[Message]:
    """One background request to `bucket` within `part` of its share, never into its reserve."""
    taken_at = time.time()
    with budget.background():
        until = share.take(client, bucket, share=part, now=taken_at)
        if until is not None:
            raise errors.BudgetExhausted(bucket=bucket, what="the background reads' share", reset_at=until)
        try:
            return send()
        except errors.BudgetExhausted:  # not sent: the reserve reached, or held off
            share.give_back(client, bucket, taken_at=taken_at)
            raise
