"""What the engine is given, gathered: the member list and the Active conversations (the shared
scan, in the background budget: the list answers say who is assigned), each member's open
conversations and last assignment (the scan, the timeline's log and routing's own claims, with
claims still under way counted as open so capacity holds while calls are made), who had the
dashboard open, and where each round robin stopped."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from dashboard.conversations import members as team
from dashboard.conversations import scan
from dashboard.conversations.models import ConversationLife, LifeEvent
from dashboard.wapikit.budget import background
from dashboard.wapikit.types import Conversation, Member

from . import claims, presence
from .engine import Facts
from .models import Method, Rule


def members() -> list[Member]:
    return team.members_list()


def active() -> list[Conversation]:
    """The Active conversations the shared scan holds (read now if the cache holds none): the
    dashboard's own writes and WapiKit's events keep it current (`now.is_now`)."""
    with background():
        found = scan.scan_conversations("Active").conversations
    return found


def open_counts(conversations: list[Conversation]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for conversation in conversations:
        if conversation.assigned_to is not None:
            member_id = conversation.assigned_to.unique_id
            counts[member_id] = counts.get(member_id, 0) + 1
    for member_id, under_way in claims.in_flight().items():
        counts[member_id] = counts.get(member_id, 0) + under_way
    return counts


def last_assigned() -> dict[str, datetime]:
    """Each member's latest assignment, by routing or by hand."""
    found = dict(claims.last_assigned())
    rows = (
        LifeEvent.objects.filter(kind=LifeEvent.Kind.ASSIGNED).exclude(member_id="")
        .values("member_id").annotate(last=Max("at"))
    )
    for row in rows:
        if row["member_id"] not in found or row["last"] > found[row["member_id"]]:
            found[row["member_id"]] = row["last"]
    return found


def gather(conversations: list[Conversation], *, now: datetime) -> Facts:
    return Facts(
        now=now,
        open=open_counts(conversations),
        last_assigned=last_assigned(),
        visits=presence.visits(),
        cursors=claims.cursors(_round_robin_rules()),
    )


def _round_robin_rules() -> list[str]:
    return list(Rule.objects.filter(enabled=True, method=Method.ROUND_ROBIN).values_list("name", flat=True))


def assignee_in_timeline(conversation_id: str) -> str | None:
    """Who the timeline says is assigned ("" for nobody), None when it does not know."""
    life = ConversationLife.objects.filter(conversation_id=conversation_id).only("assignee_id", "assignee_known").first()
    if life is None or not life.assignee_known:
        return None
    return life.assignee_id
