"""Reads from WapiKit, shaped for the pages that show them."""

from __future__ import annotations

import heapq
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import msgspec
from django.conf import settings
from django.core.cache import cache

from dashboard.wapikit import get_client
from dashboard.wapikit.types import Conversation, Member, MessagePage

from .permissions import Powers

MEMBERS_CACHE_KEY = "wapikit:members:v1"

# The inbox's status filter: URL value -> WapiKit statuses it covers.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "active": ("Active",),
    "closed": ("Closed",),
    "deleted": ("Deleted",),
    "all": ("Active", "Closed", "Deleted"),
}
PER_PAGE_CHOICES = (25, 50)

_members_codec = msgspec.msgpack.Decoder(list[Member])


def members_list() -> list[Member]:
    """Organisation members, from Django's cache: a short lifetime keeps roles current without
    fetching them on every page."""
    cached = cache.get(MEMBERS_CACHE_KEY)
    if cached is not None:
        return _members_codec.decode(cached)
    members = get_client().list_members()
    cache.set(MEMBERS_CACHE_KEY, msgspec.msgpack.encode(members), settings.WAPIKIT_MEMBERS_CACHE_SECONDS)
    return members


def members_forget() -> None:
    cache.delete(MEMBERS_CACHE_KEY)


def member_by_email(members: list[Member], email: str) -> Member | None:
    email = email.strip().lower()
    return next((m for m in members if m.email.strip().lower() == email), None)


def powers_for(user) -> Powers:
    return Powers(member=member_by_email(members_list(), user.email))


@dataclass(frozen=True, slots=True)
class InboxPage:
    conversations: list[Conversation]
    page: int
    per_page: int
    total: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def inbox_page(*, status_filter: str, page: int, per_page: int) -> InboxPage:
    """One upstream call per status covered: one for Active, Closed or Deleted; for "all",
    one per status at the same page, merged by newest activity (WapiKit has no "any status")."""
    statuses = STATUS_FILTERS[status_filter]
    client = get_client()
    if len(statuses) == 1:
        answer = client.list_conversations(page=page, per_page=per_page, status=statuses[0], order="desc")
        return InboxPage(
            answer.conversations, page, per_page, answer.pagination_meta.total, answer.pagination_meta.pages
        )
    with ThreadPoolExecutor(max_workers=len(statuses)) as pool:
        answers = list(
            pool.map(
                lambda status: client.list_conversations(page=page, per_page=per_page, status=status, order="desc"),
                statuses,
            )
        )
    merged = heapq.merge(*(a.conversations for a in answers), key=lambda c: c.last_activity, reverse=True)
    return InboxPage(
        conversations=list(merged),
        page=page,
        per_page=per_page,
        total=sum(a.pagination_meta.total for a in answers),
        # Each page shows up to `per_page` of every status, so page counts follow the largest.
        pages=max(a.pagination_meta.pages for a in answers),
    )


def conversation_with_messages(conversation_id: str, *, page: int, per_page: int = 50) -> tuple[Conversation, MessagePage]:
    client = get_client()
    with ThreadPoolExecutor(max_workers=2) as pool:
        conversation = pool.submit(client.get_conversation, conversation_id)
        messages = pool.submit(client.list_messages, conversation_id, page=page, per_page=per_page, order="asc")
        return conversation.result(), messages.result()
