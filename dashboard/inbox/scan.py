"""The scan: WapiKit cannot filter by assignee or search text, and pages hold 50 conversations,
so views that need more than one page read up to `WAPIKIT_SCAN_PAGES` pages of one status
concurrently and cache the result briefly. One scan serves every such view; within the cache
lifetime no page is fetched twice. The scan always knows how far it looked."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from dashboard.wapikit import get_client
from dashboard.wapikit.client import MAX_PER_PAGE
from dashboard.wapikit.types import Conversation, Message

REPLY_WINDOW = timedelta(hours=24)
WINDOW_CLOSING_SOON = timedelta(hours=2)


class _Cached(msgspec.Struct, array_like=True):
    conversations: list[Conversation]
    total: int
    fetched_at: float


_decoder = msgspec.msgpack.Decoder(_Cached)


@dataclass(frozen=True, slots=True)
class Scan:
    status: str
    conversations: list[Conversation]
    total: int  # how many WapiKit has of this status
    fetched_at: float

    @property
    def complete(self) -> bool:
        return len(self.conversations) >= self.total

    @property
    def description(self) -> str:
        status = self.status.lower()
        if self.complete:
            return f"searched all {self.total} {status} conversations"
        return f"searched the {len(self.conversations)} most recent {status} conversations (of {self.total})"


def _key(status: str) -> str:
    return f"wapikit:scan:v1:{status}"


def scan_conversations(status: str, *, fresh: bool = False) -> Scan:
    """The most recent conversations of one status, up to the configured number of pages."""
    if not fresh:
        cached = cache.get(_key(status))
        if cached is not None:
            data = _decoder.decode(cached)
            return Scan(status, data.conversations, data.total, data.fetched_at)
    client = get_client()
    first = client.list_conversations(page=1, per_page=MAX_PER_PAGE, status=status, order="desc")
    total = first.pagination_meta.total
    pages = min(settings.WAPIKIT_SCAN_PAGES, -(-total // MAX_PER_PAGE))
    conversations = list(first.conversations)
    if pages > 1:
        with ThreadPoolExecutor(max_workers=min(settings.WAPIKIT_CONCURRENCY, pages - 1)) as pool:
            for answer in pool.map(
                lambda page: client.list_conversations(page=page, per_page=MAX_PER_PAGE, status=status, order="desc"),
                range(2, pages + 1),
            ):
                conversations.extend(answer.conversations)
    # A conversation that moved between pages while they were read would appear twice.
    unique = list({c.unique_id: c for c in conversations}.values())
    fetched_at = time.time()
    cache.set(
        _key(status),
        msgspec.msgpack.encode(_Cached(unique, total, fetched_at)),
        settings.WAPIKIT_SCAN_CACHE_SECONDS,
    )
    return Scan(status, unique, total, fetched_at)


def scan_forget(*statuses: str) -> None:
    cache.delete_many([_key(s) for s in statuses])


# What the scan lets the dashboard compute per conversation.


def last_inbound(conversation: Conversation) -> Message | None:
    inbound = [m for m in conversation.messages if m.inbound]
    return max(inbound, key=lambda m: m.created_at) if inbound else None


def waiting_since(conversation: Conversation) -> datetime | None:
    """When the contact started waiting: the first of their messages after the business's last
    reply, or None when the business spoke last."""
    since = None
    for message in sorted(conversation.messages, key=lambda m: m.created_at, reverse=True):
        if not message.inbound:
            break
        since = message.created_at
    return since


def reply_window_ends(conversation: Conversation) -> datetime | None:
    """WhatsApp allows free-form replies for 24 hours after the contact's last message."""
    message = last_inbound(conversation)
    return message.created_at + REPLY_WINDOW if message else None


def reply_window_left(conversation: Conversation, now: datetime | None = None) -> timedelta | None:
    ends = reply_window_ends(conversation)
    if ends is None:
        return None
    return max(ends - (now or timezone.now()), timedelta(0))
