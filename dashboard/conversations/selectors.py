"""Reads from WapiKit, shaped for the pages that show them: the inbox page, a conversation's
thread, the views and sorts of the scan, and the team's workload."""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from django.utils import timezone

from dashboard.observability.context import ContextPool
from dashboard.wapikit import capabilities, errors, get_client
from dashboard.wapikit.types import Conversation, ConversationPage, Member, Message

from . import assignees, clocks, lives, reads, scan, targets, timeline
from .models import Source

# The inbox's status filter: URL value -> WapiKit statuses it covers. `None` is WapiKit's list
# without a status (everything but Closed and Deleted: Active, and on the server Resolved too),
# so "all" misses no status WapiKit may add.
STATUS_FILTERS: dict[str, tuple[str | None, ...]] = {
    "active": ("Active",),
    "closed": ("Closed",),
    "deleted": ("Deleted",),
    "all": (None, "Closed", "Deleted"),
}
# Every scan a write may have made stale.
SCANNED_STATUSES = scan.SCANNED_STATUSES
PER_PAGE_CHOICES = (25, 50)


def campaign_choices() -> list[tuple[str, str]]:
    """The organisation's campaigns as (id, name), by name, for the campaign filter; a campaign
    without a name shows its id."""
    named = [(c.unique_id, c.name or c.unique_id) for c in reads.campaigns()]
    return sorted(named, key=lambda choice: (choice[1].casefold(), choice[0]))


@dataclass(frozen=True, slots=True)
class InboxPage:
    conversations: list[Conversation]
    page: int
    per_page: int
    total: int | None  # None: WapiKit did not say how many there are
    pages: int | None
    more: bool  # a next page exists, or may (a full page came back and there is no total)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.more


def pages_of(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def inbox_page(*, status_filter: str, page: int, per_page: int, campaign_id: str | None = None) -> InboxPage:
    """One upstream call per status covered: one for Active, Closed or Deleted; for "all",
    one per status at the same page, merged by newest activity (WapiKit has no "any status").
    A page past the end (a stale link, or conversations closed meanwhile) shows the last one,
    when WapiKit says how many there are."""
    statuses = STATUS_FILTERS[status_filter]

    def read_all(page: int):
        def read(status):
            return reads.conversation_page(
                page=page, per_page=per_page, status=status, order="desc", campaign_id=campaign_id
            )

        if len(statuses) == 1:
            read_now = [read(statuses[0])]
        else:
            with ContextPool(max_workers=len(statuses)) as pool:
                read_now = list(pool.map(read, statuses))
        # What the answers just read from WapiKit carry is learned here, in the request's thread:
        # a pool thread writing beside the request's own transaction could wait on it for ever.
        learned([answer for answer, fresh in read_now if fresh])
        return [answer for answer, _ in read_now]

    answers = read_all(page)
    totals = [a.stated_total for a in answers]
    known = all(t is not None for t in totals)
    if known and any(totals):
        # Each page shows up to `per_page` of every status, so page counts follow the largest.
        last = max(pages_of(t, per_page) for t in totals)
        if page > last:
            page = last
            answers = read_all(page)
    conversations = heapq.merge(*(a.conversations for a in answers), key=lambda c: c.last_activity, reverse=True)
    pages = max(pages_of(t, per_page) for t in totals) if known else None
    return InboxPage(
        conversations=list(conversations),
        page=page,
        per_page=per_page,
        total=sum(totals) if known else None,
        pages=pages,
        more=page < pages if pages is not None else any(len(a.conversations) >= per_page for a in answers),
    )


def learned(answers: list[ConversationPage]) -> None:
    """What list answers carry (the spec's carry messages), taken into the timeline."""
    messages_of = {c.unique_id: c.messages for answer in answers for c in answer.conversations}
    timeline.learn_answered(messages_of, source=Source.LIST)


@dataclass(frozen=True, slots=True)
class ConversationThread:
    """One conversation and a page of its messages, newest page first."""

    conversation: Conversation
    messages: list[Message]  # oldest first within the page
    undescribed: int  # entries WapiKit sent as null: messages it could not describe
    page: int
    pages: int | None
    more: bool  # older messages exist, or may
    total: int | None


def conversation_with_messages(
    conversation_id: str, *, page: int, members: list[Member], per_page: int = 50
) -> ConversationThread:
    """The conversation and one page of messages, read concurrently. Messages are asked
    newest first (the server ignores `order` and gives its newest page first anyway) and
    shown oldest first within the page, so page 1 is the latest in every WapiKit."""
    with ContextPool(max_workers=2) as pool:
        conversation = pool.submit(reads.conversation, conversation_id)
        messages = pool.submit(reads.messages, conversation_id, page=page, per_page=per_page, order="desc")
        conversation, message_page = conversation.result(), messages.result()
    timeline.learn_answered({conversation_id: [*conversation.messages, *message_page.messages]}, source=Source.READ)
    total = message_page.stated_total
    pages = pages_of(total, per_page) if total is not None else None
    return ConversationThread(
        conversation=lives.attach([assignees.resolved_single(conversation, members=members)])[0],
        messages=sorted(message_page.messages, key=lambda m: m.created_at),
        undescribed=message_page.undescribed + conversation.undescribed_messages,
        page=page,
        pages=pages,
        more=page < pages if pages is not None else message_page.entries >= per_page,
        total=total,
    )


# Views that need the scan: ownership, search and sorts WapiKit does not offer.

VIEWS = ("all", "mine", "unassigned", "member", "due", "overdue")
# Views by response clock: the conversations whose clock is in this state.
CLOCK_VIEWS = {"due": clocks.State.DUE_SOON, "overdue": clocks.State.OVERDUE}
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


def in_view(conversation: Conversation, query: InboxQuery, *, member_id: str) -> bool:
    """Whether the inbox view `query` describes shows the conversation as it is now: its status
    under the view's status filter, then the view's own matching."""
    listed = any(reads.listed_under(status, conversation) for status in STATUS_FILTERS[query.status])
    if query.view in CLOCK_VIEWS:
        conversation = lives.attach([conversation])[0]
    return listed and _matches(conversation, query, member_id) and _on_clock(conversation, query.view)


def _on_clock(conversation: Conversation, view: str, team: clocks.Targets | None = None, now=None) -> bool:
    """For the Due soon and Overdue views: whether the conversation's clock is in their state."""
    if view not in CLOCK_VIEWS:
        return True
    return lives.clock_of(conversation, team or targets.current(), now).state is CLOCK_VIEWS[view]


def _sort_key(sort: str):
    far_future = datetime.max.replace(tzinfo=UTC)
    if sort == "waiting":
        return lambda c: lives.waiting_since(c) or far_future
    if sort == "unread":
        return lambda c: (-c.number_of_unread_messages, -lives.last_activity(c).timestamp())
    if sort == "window":
        # Open windows closing soonest first; closed ones (nothing left to save) and unknown last.
        def window_key(c: Conversation):
            ends = lives.reply_window_ends(c)
            if ends is None:
                return (2, far_future)
            if ends <= now:
                return (1, -ends.timestamp())
            return (0, ends)

        now = datetime.now(UTC)
        return window_key
    return lambda c: -lives.last_activity(c).timestamp()


def scanned(status_filter: str) -> list[scan.Scan]:
    return [scan.scan_conversations(status) for status in STATUS_FILTERS[status_filter]]


def lists_in_order() -> bool:
    """Whether WapiKit's list answers come in order of last activity (the spec's, which carry
    messages) or not (the server's: no messages, no order), while not known yet, as the spec says."""
    return get_client().capabilities.get(capabilities.LISTS_CARRY_MESSAGES) is not False


def scans_for(query: InboxQuery) -> bool:
    """Whether the query needs the scan: for views and sorts WapiKit does not offer, and for its
    own order when its list answers have none."""
    return query.needs_scan or not lists_in_order()


def matching_conversations(query: InboxQuery, *, member_id: str) -> tuple[list[Conversation], str]:
    """Every conversation of the scanned window that the query matches, with what the timeline
    knows of each, sorted by it, and a sentence saying how far the scan looked and how much of
    it the order could go by."""
    scans = scanned(query.status)
    found = lives.attach([c for s in scans for c in s.conversations if _matches(c, query, member_id)])
    if query.view in CLOCK_VIEWS:
        team, moment = targets.current(), timezone.now()
        found = [c for c in found if _on_clock(c, query.view, team, moment)]
    found.sort(key=_sort_key(query.sort))
    description = "; ".join(s.description for s in scans)
    if query.sort != "unread" and found:
        known = sum(1 for c in found if lives.messages_known(c))
        if known < len(found):
            description += (
                f"; sorted by what is known of {known} of {len(found)} conversations "
                "(the others' last messages are being read from WapiKit)"
            )
    return found, description


def filtered_inbox(query: InboxQuery, *, member_id: str, members: list[Member]) -> tuple[InboxPage, str | None]:
    """One page of the inbox as the query asks, assignees from the member list, what the
    timeline knows of each conversation, and a sentence saying how far the scan looked (None
    when WapiKit could filter and order by itself)."""
    if not scans_for(query):
        page = inbox_page(
            status_filter=query.status, page=query.page, per_page=query.per_page, campaign_id=query.campaign or None
        )
        # The first list answer of a WapiKit tells whether its lists have an order: if not,
        # this page is drawn from the scan like every later one, so pages never overlap.
        if lists_in_order():
            shown = lives.attach(assignees.listed_assignees(page.conversations, members))
            return dataclasses.replace(page, conversations=shown), None
    found, description = matching_conversations(query, member_id=member_id)
    pages = pages_of(len(found), query.per_page)
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    shown = assignees.listed_assignees(found[start : start + query.per_page], members)
    return InboxPage(shown, page, query.per_page, len(found), pages, page < pages), description


def inbox_requests_needed(query: InboxQuery) -> int:
    """The most list requests `filtered_inbox` sends for the query now: for what WapiKit filters
    itself, one per status covered (two past page 1, where a page past the end is read again);
    for a scan, its pages (`scan.pages_needed`)."""
    statuses = STATUS_FILTERS[query.status]
    if not scans_for(query):
        return len(statuses) * (1 if query.page == 1 else 2)
    return scan.pages_needed(statuses)


def view_counts(status_filter: str, *, member_id: str) -> dict[str, int]:
    """Tab counts within the scanned window, the response clocks' from the timeline."""
    conversations = lives.attach([c for s in scanned(status_filter) for c in s.conversations])
    mine = sum(1 for c in conversations if c.assigned_to and c.assigned_to.unique_id == member_id)
    unassigned = sum(1 for c in conversations if c.assigned_to is None)
    team, moment = targets.current(), timezone.now()
    states = [lives.clock_of(c, team, moment).state for c in conversations]
    return {
        "all": len(conversations), "mine": mine, "unassigned": unassigned,
        "due": states.count(clocks.State.DUE_SOON), "overdue": states.count(clocks.State.OVERDUE),
    }


# hashlib lets go of the GIL for data over 2 KB, and with a server's threads busy, getting it
# back can take a switch interval (5 ms): a card's 2-3 KB are hashed in pieces below that.
_HASHED_AT_ONCE = 2047


def card_version(conversation: Conversation) -> str:
    """The one version of a conversation as a card shows it: everything its answer holds (the
    assignee's roles from the member list included), hashed. Open pages compare it to learn
    which cards changed; the rendered-card cache keys on it, beside the conversation's id, so
    that 48 bits are plenty (every card on a page carries it)."""
    encoded, digest = msgspec.json.encode(conversation), hashlib.blake2b(digest_size=6)
    for start in range(0, len(encoded), _HASHED_AT_ONCE):
        digest.update(encoded[start : start + _HASHED_AT_ONCE])
    return digest.hexdigest()


def contact_name(conversation_id: str) -> str:
    """The name of a conversation's contact: from the Active scan when it holds the conversation
    (the reassign picker reads it anyway for its counts), else read on its own."""
    for conversation in scan.scan_conversations("Active").conversations:
        if conversation.unique_id == conversation_id:
            return conversation.contact.name
    return reads.conversation(conversation_id).contact.name


def still_in_view(ids: list[str], query: InboxQuery, *, member_id: str) -> dict[str, bool | None]:
    """For conversations missing from the page of `query` just read: whether each is still in
    its view (on another page) or left it; None where WapiKit could not say. From the scan for
    the views it serves, else each read on its own (the view is then a status alone)."""
    if not ids:
        return {}
    if scans_for(query):
        found, _ = matching_conversations(query, member_id=member_id)
        present = {c.unique_id for c in found}
        return {i: i in present for i in ids}
    answers: dict[str, bool | None] = {}
    for conversation_id in ids:
        try:
            answers[conversation_id] = in_view(reads.conversation(conversation_id), query, member_id=member_id)
        except errors.WapiKitError:
            answers[conversation_id] = None
    return answers
