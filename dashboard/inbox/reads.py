"""Shared reads: what the dashboard reads from WapiKit, kept in Django's cache (Redis when
`REDIS_URL` is set) for a short lifetime per kind, so that any number of users asking for the
same thing within it cost WapiKit one call. WapiKit counts requests per client address, and the
whole team shares the dashboard's one address.

Single flight: while one request (in any process sharing the cache) fetches a key, the others
wait for its answer, bounded by the client's own timeouts, instead of fetching too.

Writes made through the dashboard, and WapiKit's live events, update the cached conversation
and every cached list page or scan that holds it (`remember`), so a user's next view shows
their own change. A list the change moves the conversation into is dropped instead (its order
and page boundaries are WapiKit's to say), and read again when next asked for.

When WapiKit's budget is used up (a 429, or the dashboard holding off until the reset), a read
answers with the last copy it had, however old, and the request notes it (`ages`), so that
every page says what it shows and since when.

Over 300 lines on purpose: the cache, single flight, last copies and the write-through that keeps them true are one mechanism; apart, each half would need the other's cache layout."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from django.conf import settings
from django.core.cache import cache

from dashboard.observability import metrics
from dashboard.wapikit import errors, get_client
from dashboard.wapikit.types import Campaign, Conversation, ConversationPage, Member, Message, MessagePage

T = TypeVar("T")

# One deployment talks to one WapiKit: keys do not name it.
PREFIX = "reads:v1"
_LISTS = f"{PREFIX}:lists"  # every cached list page's key, with its status filter
_HITS, _MISSES = f"{PREFIX}:hits", f"{PREFIX}:misses"
_WAIT_STEP = 0.02


# What this request read, and how old it was: pages say so.


@dataclass
class Ages:
    oldest: float | None = None  # Unix time of the oldest answer a page was drawn from
    stale: list[str] = field(default_factory=list)  # why older copies had to stand in

    def note(self, fetched_at: float) -> None:
        if self.oldest is None or fetched_at < self.oldest:
            self.oldest = fetched_at

    @property
    def read_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.oldest, tz=UTC) if self.oldest is not None else None

    @property
    def seconds_old(self) -> int | None:
        return int(time.time() - self.oldest) if self.oldest is not None else None


_ages: contextvars.ContextVar[Ages | None] = contextvars.ContextVar("read_ages", default=None)


def ages() -> Ages:
    """This request's ages (a fresh, unshared record outside a request)."""
    return _ages.get() or Ages()


def read_ages(request) -> dict[str, Ages]:
    """Context processor: how old the page's data is, and why, if older than its lifetime."""
    return {"read_ages": ages()}


class ReadAgesMiddleware:
    """Each request starts with no reads. Set before the views run, so worker threads (which
    copy the context) add to the same record."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _ages.set(Ages())
        try:
            return self.get_response(request)
        finally:
            _ages.reset(token)


# The reads


def conversation_page(
    *, page: int, per_page: int, status: str | None, order: str = "desc", campaign_id: str | None = None
) -> ConversationPage:
    client = get_client()
    key = _key("list", page, per_page, status, order, campaign_id)
    answer = shared(
        key,
        lifetime=settings.WAPIKIT_LIST_CACHE_SECONDS,
        fetch=lambda: client.list_conversations(
            page=page, per_page=per_page, status=status, order=order, campaign_id=campaign_id
        ),
        type=ConversationPage,
    )
    if settings.WAPIKIT_LIST_CACHE_SECONDS > 0:
        _register_list(key, status)
    return with_delivered_messages(answer)


def conversation(conversation_id: str) -> Conversation:
    client = get_client()
    return shared(
        _conversation_key(conversation_id),
        lifetime=settings.WAPIKIT_CONVERSATION_CACHE_SECONDS,
        fetch=lambda: client.get_conversation(conversation_id),
        type=Conversation,
    )


def messages(conversation_id: str, *, page: int, per_page: int, order: str) -> MessagePage:
    client = get_client()
    return shared(
        _key("messages", conversation_id, page, per_page, order),
        lifetime=settings.WAPIKIT_CONVERSATION_CACHE_SECONDS,
        fetch=lambda: client.list_messages(conversation_id, page=page, per_page=per_page, order=order),
        type=MessagePage,
    )


def members(*, fresh: bool = False) -> list[Member]:
    """The member list; `fresh`: read from WapiKit now, and kept for everyone as any read is."""
    client = get_client()
    if fresh:
        return _fetch_and_keep(
            _key("members"), lifetime=settings.WAPIKIT_MEMBERS_CACHE_SECONDS, fetch=client.list_members, type=list[Member]
        )
    return shared(
        _key("members"),
        lifetime=settings.WAPIKIT_MEMBERS_CACHE_SECONDS,
        fetch=client.list_members,
        type=list[Member],
        metric="members",
    )


def campaigns() -> list[Campaign]:
    """The campaign filter's choices. Their age is not the page's: a page does not say its
    conversations are five minutes old because the campaign names are."""
    client = get_client()
    token = _ages.set(Ages())
    try:
        return shared(
            _key("campaigns"),
            lifetime=settings.WAPIKIT_CAMPAIGNS_CACHE_SECONDS,
            fetch=client.list_campaigns,
            type=list[Campaign],
            metric="campaigns",
        )
    finally:
        _ages.reset(token)


def cached_members() -> list[Member] | None:
    """The shared member list if the cache holds it, else None, without asking WapiKit: for
    what must not cost a request (the top bar of a page that needs no WapiKit answer)."""
    found = load(_key("members"), list[Member])
    return found[1] if found else None


def last_known_members() -> list[Member] | None:
    """The last member list read from WapiKit, however old (kept WAPIKIT_STALE_COPY_SECONDS), or
    None: for deciding what a user may do while WapiKit cannot be asked."""
    found = load(_stale_key(_key("members")), list[Member])
    return found[1] if found else None


def forget_messages(conversation_id: str) -> None:
    """A new message makes every cached page of the thread stale: the first page is read again."""
    cache.delete_many(
        [_key("messages", conversation_id, 1, per_page, order)
         for per_page in (25, 50) for order in ("asc", "desc")]
    )


# The mechanism


class _Entry(msgspec.Struct, array_like=True):
    fetched_at: float
    value: msgspec.Raw


def shared(key: str, *, lifetime: int, fetch: Callable[[], T], type: Any, metric: str = "reads") -> T:
    """The cached answer under `key` if younger than `lifetime`, else one fetch for everyone."""
    ages_ = ages()
    if lifetime <= 0:
        value = fetch()
        ages_.note(time.time())
        return value
    cached = load(key, type)
    _count(metric, hit=cached is not None)
    if cached is not None:
        ages_.note(cached[0])
        return cached[1]
    lock = f"{key}:lock"
    # Waiting is bounded by how long the fetch itself may take.
    wait = sum(get_client().timeout) + 1
    deadline = time.monotonic() + wait
    while True:
        if cache.add(lock, 1, timeout=int(wait) + 1):
            try:
                return _fetch_and_keep(key, lifetime=lifetime, fetch=fetch, type=type)
            finally:
                cache.delete(lock)
        time.sleep(_WAIT_STEP)
        cached = load(key, type)
        if cached is not None:
            ages_.note(cached[0])
            return cached[1]
        if time.monotonic() > deadline:
            # The fetch under way has outlived its own timeouts: its process is gone.
            return _fetch_and_keep(key, lifetime=lifetime, fetch=fetch, type=type)


def _fetch_and_keep(key: str, *, lifetime: int, fetch: Callable[[], T], type: Any) -> T:
    try:
        value = fetch()
    except errors.RateLimited as exc:
        stale = load(_stale_key(key), type)
        if stale is None:
            raise
        ages().stale.append(exc.user_message)
        ages().note(stale[0])
        return stale[1]
    store(key, value, lifetime=lifetime)
    ages().note(time.time())
    return value


def store(key: str, value: Any, *, lifetime: int, fetched_at: float | None = None) -> None:
    entry = msgspec.msgpack.encode(_Entry(fetched_at or time.time(), msgspec.Raw(msgspec.msgpack.encode(value))))
    cache.set_many({key: entry}, timeout=lifetime)
    cache.set(_stale_key(key), entry, timeout=settings.WAPIKIT_STALE_COPY_SECONDS)


def load(key: str, type: Any) -> tuple[float, Any] | None:
    raw = cache.get(key)
    if raw is None:
        return None
    try:
        entry = msgspec.msgpack.decode(raw, type=_Entry)
        return entry.fetched_at, msgspec.msgpack.decode(entry.value, type=type)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Written by another version of the dashboard: read WapiKit instead.
        return None


def _count(metric: str, *, hit: bool) -> None:
    metrics.cache_lookup(metric, hit=hit)
    counter = _HITS if hit else _MISSES
    # One round trip once the counter exists (every lookup but the first).
    try:
        cache.incr(counter)
    except ValueError:
        if not cache.add(counter, 1, timeout=None):
            cache.incr(counter)


def hit_ratio() -> float | None:
    """Hits over lookups of the shared reads, across every process sharing the cache."""
    found = cache.get_many([_HITS, _MISSES])
    hits, misses = found.get(_HITS, 0), found.get(_MISSES, 0)
    return hits / (hits + misses) if hits + misses else None


def _key(kind: str, *parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"{PREFIX}:{kind}:{digest}"


def _conversation_key(conversation_id: str) -> str:
    return _key("conversation", conversation_id)


def _stale_key(key: str) -> str:
    return f"{key}:last"


# Messages the events delivered. The server's list answers carry no messages: a card's last
# message and reply window then come from the last NewMessage event for its conversation.


class _Delivered(msgspec.Struct, array_like=True):
    message: Message


def _delivered_key(conversation_id: str) -> str:
    return f"{PREFIX}:delivered:{conversation_id}"


def deliver_message(conversation_id: str, message: Message) -> None:
    cache.set(
        _delivered_key(conversation_id),
        msgspec.msgpack.encode(_Delivered(message)),
        timeout=settings.WAPIKIT_STALE_COPY_SECONDS,
    )


def with_delivered_messages(page: ConversationPage) -> ConversationPage:
    bare = [c.unique_id for c in page.conversations if not c.messages]
    if not bare:
        return page
    found = cache.get_many([_delivered_key(cid) for cid in bare])
    if not found:
        return page
    messages = {}
    for cid in bare:
        if (raw := found.get(_delivered_key(cid))) is not None:
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                messages[cid] = msgspec.msgpack.decode(raw, type=_Delivered).message
    entries = [
        msgspec.structs.replace(c, message_list=[messages[c.unique_id]]) if c.unique_id in messages else c
        for c in page.conversations
    ]
    return msgspec.structs.replace(page, conversation_list=entries)


def known_conversation(conversation_id: str) -> Conversation | None:
    """What the dashboard last read of a conversation, without asking WapiKit: its cached
    single answer, else its entry in a cached list page or scan."""
    from . import scan

    if (cached := load(_conversation_key(conversation_id), Conversation)) is not None:
        return cached[1]
    pages = [found[1].conversations for key in (cache.get(_LISTS) or {})
             if (found := load(key, ConversationPage)) is not None]
    scans = [found.conversations for found in scan.cached_scans(scan.SCANNED_STATUSES)]
    for conversations in (*pages, *scans):
        for conversation in conversations:
            if conversation.unique_id == conversation_id:
                return conversation
    return None


# Keeping cached lists true to the dashboard's own writes and to WapiKit's events


def _register_list(key: str, status: str | None) -> None:
    known: dict[str, str | None] = cache.get(_LISTS) or {}
    if key not in known:
        # Racing processes may each drop the other's entry: that list then stays as WapiKit
        # gave it until its short lifetime ends.
        known[key] = status
        cache.set(_LISTS, known, timeout=max(settings.WAPIKIT_LIST_CACHE_SECONDS * 20, 60))


def listed_under(status: str | None, conversation: Conversation) -> bool:
    """Whether WapiKit's list with this status filter holds the conversation. Without a status
    it lists everything but Closed and Deleted."""
    if status is None:
        return conversation.status not in ("Closed", "Deleted")
    return conversation.status == status


def remember(conversation: Conversation) -> None:
    """A conversation as it is now (after a write, or as an event described it): the cached
    single answer, every cached list page and every scan that holds it."""
    from . import scan

    if settings.WAPIKIT_CONVERSATION_CACHE_SECONDS > 0:
        key = _conversation_key(conversation.unique_id)
        store(key, conversation, lifetime=settings.WAPIKIT_CONVERSATION_CACHE_SECONDS)
    known: dict[str, str | None] = cache.get(_LISTS) or {}
    for list_key, status in known.items():
        cached = load(list_key, ConversationPage)
        if cached is None:
            continue
        fetched_at, page = cached
        held = any(c.unique_id == conversation.unique_id for c in page.conversations)
        belongs = listed_under(status, conversation)
        if held and belongs:
            entries = [kept(c, conversation) if c.unique_id == conversation.unique_id else c for c in page.conversations]
        elif held:
            entries = [c for c in page.conversations if c.unique_id != conversation.unique_id]
        elif belongs:
            # Where it falls in this list is WapiKit's to say: read the list again when asked.
            cache.delete(list_key)
            continue
        else:
            continue
        updated = msgspec.structs.replace(page, conversation_list=entries)
        store(list_key, updated, lifetime=_remaining_life(fetched_at), fetched_at=fetched_at)
    scan.remember(conversation)


def kept(old: Conversation, new: Conversation) -> Conversation:
    """`new` in place of `old` in a list. A single answer or an assignment carries no messages
    (and the server's says 0 unread, with no count): the list's own stay until WapiKit lists
    the conversation again."""
    merged = new
    if not new.assignee_known and old.assignee_known:
        # The server's single answer cannot say who is assigned; the list could.
        merged = msgspec.structs.replace(merged, assigned_to=old.assigned_to, assignee_known=True)
    if new.messages or not old.messages:
        return merged
    return msgspec.structs.replace(
        merged,
        message_list=old.message_list,
        number_of_unread_messages=old.number_of_unread_messages,
        total_messages=new.total_messages if new.total_messages is not None else old.total_messages,
    )


def _remaining_life(fetched_at: float) -> int:
    return max(1, int(fetched_at + settings.WAPIKIT_LIST_CACHE_SECONDS - time.time()) + 1)
