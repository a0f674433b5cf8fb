"""Reads from WapiKit, shaped for the pages that show them."""

from __future__ import annotations

import hashlib
import heapq
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from django.conf import settings
from django.core.cache import cache

from dashboard.wapikit import get_client
from dashboard.wapikit.types import Conversation, Member, MessagePage

from . import scan
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


def member_by_email(members: list[Member], email: str) -> Member | None:
    email = email.strip().lower()
    return next((m for m in members if m.email.strip().lower() == email), None)


def powers_for(user, members: list[Member] | None = None) -> Powers:
    return Powers(member=member_by_email(members_list() if members is None else members, user.email))


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
        if page > answer.pagination_meta.pages and answer.pagination_meta.total:
            # A page past the end (a stale link, or conversations closed meanwhile): the last one.
            page = answer.pagination_meta.pages
            answer = client.list_conversations(page=page, per_page=per_page, status=statuses[0], order="desc")
        return InboxPage(
            answer.conversations, page, per_page, answer.pagination_meta.total, answer.pagination_meta.pages
        )
    def read_all(page: int):
        with ThreadPoolExecutor(max_workers=len(statuses)) as pool:
            return list(
                pool.map(
                    lambda status: client.list_conversations(page=page, per_page=per_page, status=status, order="desc"),
                    statuses,
                )
            )

    answers = read_all(page)
    last = max(a.pagination_meta.pages for a in answers)
    if page > last and any(a.pagination_meta.total for a in answers):
        page = last
        answers = read_all(page)
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


# Views that need the scan: ownership, search and sorts WapiKit does not offer.

VIEWS = ("all", "mine", "unassigned", "member")
SORTS = {
    "recent": "Most recent activity",
    "waiting": "Oldest waiting first",
    "unread": "Most unread",
    "window": "Reply window closing first",
}


@dataclass(frozen=True, slots=True)
class InboxQuery:
    status: str = "active"
    view: str = "all"
    member: str = ""
    campaign: str = ""
    q: str = ""
    sort: str = "recent"
    page: int = 1
    per_page: int = 25

    @property
    def needs_scan(self) -> bool:
        return self.view != "all" or bool(self.q) or self.sort != "recent"


def _matches(conversation: Conversation, query: InboxQuery, member_id: str) -> bool:
    assignee = conversation.assigned_to.unique_id if conversation.assigned_to else ""
    if query.view == "mine" and assignee != member_id:
        return False
    if query.view == "unassigned" and assignee:
        return False
    if query.view == "member" and assignee != query.member:
        return False
    if query.campaign and conversation.campaign_id != query.campaign:
        return False
    if query.q:
        needle = query.q.casefold()
        contact = conversation.contact
        digits = "".join(ch for ch in query.q if ch.isdigit())
        if needle not in contact.name.casefold() and needle not in contact.phone.casefold() and not (
            len(digits) >= 3 and digits in "".join(ch for ch in contact.phone if ch.isdigit())
        ):
            return False
    return True


def _sort_key(sort: str):
    far_future = datetime.max.replace(tzinfo=UTC)
    if sort == "waiting":
        return lambda c: scan.waiting_since(c) or far_future
    if sort == "unread":
        return lambda c: (-c.number_of_unread_messages, -c.last_activity.timestamp())
    if sort == "window":
        # Open windows closing soonest first; closed ones (nothing left to save) and unknown last.
        def window_key(c: Conversation):
            ends = scan.reply_window_ends(c)
            if ends is None:
                return (2, far_future)
            if ends <= now:
                return (1, -ends.timestamp())
            return (0, ends)

        now = datetime.now(UTC)
        return window_key
    return lambda c: -c.last_activity.timestamp()


def scanned(status_filter: str) -> list[scan.Scan]:
    return [scan.scan_conversations(status) for status in STATUS_FILTERS[status_filter]]


def matching_conversations(query: InboxQuery, *, member_id: str) -> tuple[list[Conversation], str]:
    """Every conversation of the scanned window that the query matches, sorted, and a sentence
    saying how far the scan looked."""
    scans = scanned(query.status)
    found = [c for s in scans for c in s.conversations if _matches(c, query, member_id)]
    found.sort(key=_sort_key(query.sort))
    return found, "; ".join(s.description for s in scans)


def filtered_inbox(query: InboxQuery, *, member_id: str) -> tuple[InboxPage, str | None]:
    if not query.needs_scan:
        if query.campaign and query.status != "all":
            answer = get_client().list_conversations(
                page=query.page, per_page=query.per_page, status=STATUS_FILTERS[query.status][0],
                order="desc", campaign_id=query.campaign,
            )
            meta = answer.pagination_meta
            return InboxPage(answer.conversations, query.page, query.per_page, meta.total, meta.pages), None
        if not query.campaign:
            return inbox_page(status_filter=query.status, page=query.page, per_page=query.per_page), None
    found, description = matching_conversations(query, member_id=member_id)
    pages = max(1, -(-len(found) // query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    return InboxPage(found[start : start + query.per_page], page, query.per_page, len(found), pages), description


def view_counts(status_filter: str, *, member_id: str) -> dict[str, int]:
    """Tab counts within the scanned window."""
    conversations = [c for s in scanned(status_filter) for c in s.conversations]
    mine = sum(1 for c in conversations if c.assigned_to and c.assigned_to.unique_id == member_id)
    unassigned = sum(1 for c in conversations if c.assigned_to is None)
    return {"all": len(conversations), "mine": mine, "unassigned": unassigned}


@dataclass(frozen=True, slots=True)
class Workload:
    member: Member
    open: int
    with_unread: int
    oldest_waiting: Conversation | None
    oldest_waiting_since: datetime | None

    @property
    def warnings(self) -> list[str]:
        return member_warnings(self.member)


def member_warnings(member: Member) -> list[str]:
    """Why assigning to this member may not work out."""
    warnings = []
    if not member.can("Get:Conversation"):
        warnings.append("cannot see conversations (no Get:Conversation)")
    if not member.can("Update:Conversation"):
        warnings.append("cannot close or reopen (no Update:Conversation)")
    return warnings


def team_workload() -> tuple[list[Workload], int, str]:
    """Active conversations per member, within the scanned window."""
    active = scan.scan_conversations("Active")
    by_member: dict[str, list[Conversation]] = {}
    unassigned = 0
    for conversation in active.conversations:
        if conversation.assigned_to is None:
            unassigned += 1
        else:
            by_member.setdefault(conversation.assigned_to.unique_id, []).append(conversation)
    rows = []
    for member in members_list():
        mine = by_member.get(member.unique_id, [])
        waiting = [(since, c) for c in mine if (since := scan.waiting_since(c)) is not None]
        oldest = min(waiting, key=lambda pair: pair[0]) if waiting else None
        rows.append(
            Workload(
                member=member,
                open=len(mine),
                with_unread=sum(1 for c in mine if c.number_of_unread_messages),
                oldest_waiting=oldest[1] if oldest else None,
                oldest_waiting_since=oldest[0] if oldest else None,
            )
        )
    rows.sort(key=lambda row: (-row.open, row.member.name.casefold()))
    return rows, unassigned, active.description


def open_counts() -> dict[str, int]:
    """Active conversations per member id, for the reassign picker."""
    counts: dict[str, int] = {}
    for conversation in scan.scan_conversations("Active").conversations:
        if conversation.assigned_to is not None:
            key = conversation.assigned_to.unique_id
            counts[key] = counts.get(key, 0) + 1
    return counts


def card_version(conversation: Conversation) -> str:
    assignee = conversation.assigned_to
    parts = (
        conversation.status,
        assignee.unique_id if assignee else "",
        ",".join(r.name for r in assignee.roles) if assignee else "",
        str(conversation.number_of_unread_messages),
        str(conversation.total_messages),
        conversation.last_activity.isoformat(),
        ",".join(t.label for t in conversation.tags),
        conversation.contact.name,
    )
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=6).hexdigest()
