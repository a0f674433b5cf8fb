"""The scan: WapiKit cannot filter by assignee or search text, and pages hold 50 conversations,
so views that need more than one page read up to `WAPIKIT_SCAN_PAGES` pages of one status
concurrently and cache the result briefly. One scan serves every such view; within the cache
lifetime no page is fetched twice. The scan always knows how far it looked."""

from __future__ import annotations

import time
from dataclasses import dataclass

import msgspec
from django.conf import settings
from django.core.cache import cache

from dashboard.observability.context import ContextPool
from dashboard.wapikit import budget, errors, get_client
from dashboard.wapikit.client import MAX_PER_PAGE
from dashboard.wapikit.types import Conversation, ConversationPage

from . import reads, shared


class _Cached(msgspec.Struct, array_like=True):
    conversations: list[Conversation]
    total: int | None
    fetched_at: float
    complete: bool


# The spec's list without a status: everything but Closed and Deleted (on the server that
# includes Resolved). `None` is that list here.
STATUS_LABELS = {None: "open"}
# Every scan a write may make stale: Active, the list without a status, Closed and Deleted.
SCANNED_STATUSES: tuple[str | None, ...] = ("Active", None, "Closed", "Deleted")


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status, status or "").lower()


@dataclass(frozen=True, slots=True)
class Scan:
    status: str | None
    conversations: list[Conversation]
    total: int | None  # how many WapiKit says it has of this status; None when it did not say
    fetched_at: float
    complete: bool  # every conversation of the status was read

    @property
    def description(self) -> str:
        status = status_label(self.status)
        read = len(self.conversations)
        if self.complete:
            return f"searched all {read} {status} conversations"
        if self.total is None:
            return (
                f"searched the {read} most recent {status} conversations; "
                "WapiKit did not say how many there are"
            )
        return f"searched the {read} most recent {status} conversations (of {self.total})"


def _key(status: str | None) -> str:
    return f"wapikit:scan:v3:{status or '-'}"


def scan_conversations(status: str | None, *, fresh: bool = False) -> Scan:
    """The most recent conversations of one status, up to the configured number of pages,
    shared by every user through the cache (`shared.shared`: one scan at a time per status).

    With a total, the pages it implies are read concurrently. Without one (the server always
    says 0), pages are read in small concurrent batches until one comes back short: at most a
    batch's worth of calls past the end, instead of a call per page in a row."""
    if fresh:
        data = _scanned(status)
        shared.store(_key(status), data, lifetime=settings.WAPIKIT_SCAN_CACHE_SECONDS)
    else:
        data = shared.shared(
            _key(status),
            lifetime=settings.WAPIKIT_SCAN_CACHE_SECONDS,
            fetch=lambda: _scanned(status),
            type=_Cached,
            metric="scans",
        )
    return Scan(status, data.conversations, data.total, data.fetched_at, data.complete)


def _scanned(status: str | None) -> _Cached:
    client = get_client()

    def read(page: int):
        return client.list_conversations(page=page, per_page=MAX_PER_PAGE, status=status, order="desc")

    limit = settings.WAPIKIT_SCAN_PAGES
    first = read(1)
    conversations = list(first.conversations)
    total = first.stated_total
    short = len(first.conversations) < MAX_PER_PAGE
    if total is not None:
        pages = min(limit, -(-total // MAX_PER_PAGE))
        batches = [range(2, pages + 1)]
    else:
        batch = max(1, settings.WAPIKIT_SCAN_BATCH)
        batches = [range(start, min(start + batch, limit + 1)) for start in range(2, limit + 1, batch)]
    reserved = False
    # Pages beyond the first are background reads: below the budget's reserve the scan stops
    # there, and says how far it looked.
    with budget.background(), ContextPool(max_workers=max(1, settings.WAPIKIT_CONCURRENCY)) as pool:
        for pages in batches:
            if short or not pages:
                break
            try:
                answers = list(pool.map(read, pages))
            except errors.BudgetReserved:
                reserved = True
                break
            for answer in answers:
                conversations.extend(answer.conversations)
                short = short or len(answer.conversations) < MAX_PER_PAGE
    # A conversation that moved between pages while they were read would appear twice.
    unique = list({c.unique_id: c for c in conversations}.values())
    unique = reads.with_delivered_messages(ConversationPage(conversation_list=unique)).conversations
    complete = not reserved and (short if total is None else len(conversations) >= total)
    return _Cached(unique, total, time.time(), complete)


def pages_needed(statuses) -> int:
    """The most list pages scanning these statuses sends now: none for a status whose scan the
    cache holds, else up to WAPIKIT_SCAN_PAGES."""
    held = cache.get_many([_key(status) for status in statuses])
    return sum(settings.WAPIKIT_SCAN_PAGES for status in statuses if _key(status) not in held)


def cached_scans(statuses) -> list[Scan]:
    """The scans already in the cache, without reading WapiKit."""
    scans = []
    for status in statuses:
        if (found := shared.load(_key(status), _Cached)) is not None:
            data = found[1]
            scans.append(Scan(status, data.conversations, data.total, data.fetched_at, data.complete))
    return scans


def remember(conversation: Conversation) -> None:
    """A conversation as it is now, in every cached scan: kept where its status still belongs,
    removed where it no longer does, added where it now does. The others keep the order they
    were listed in: the server's lists have none, and the inbox's sorts leave ties in the
    scan's order, so re-sorting the scan would move cards that did not change."""
    for status in SCANNED_STATUSES:
        found = shared.load(_key(status), _Cached)
        if found is None:
            continue
        data = found[1]
        held = [c for c in data.conversations if c.unique_id == conversation.unique_id]
        others = [c for c in data.conversations if c.unique_id != conversation.unique_id]
        total = data.total
        if reads.listed_under(status, conversation):
            updated = reads.kept(held[0], conversation) if held else conversation
            if held and updated.last_activity == held[0].last_activity:
                others.insert(data.conversations.index(held[0]), updated)
            else:
                # Before the first conversation it is more recent than, as an ordered list has it.
                at = next((i for i, c in enumerate(others) if c.last_activity < updated.last_activity), len(others))
                others.insert(at, updated)
            if not held and total is not None:
                total += 1
        elif not held:
            continue
        elif total is not None:
            total -= 1
        remaining = max(1, int(data.fetched_at + settings.WAPIKIT_SCAN_CACHE_SECONDS - time.time()) + 1)
        shared.store(_key(status), _Cached(others, total, data.fetched_at, data.complete), lifetime=remaining,
                    fetched_at=data.fetched_at)


def scan_forget(*statuses: str | None) -> None:
    cache.delete_many([_key(s) for s in statuses])

