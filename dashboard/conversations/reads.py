"""Shared reads: what the dashboard reads from WapiKit, each through the shared cache
(`shared.shared`), so that everyone asking within a lifetime costs WapiKit one call.

Writes made through the dashboard, and WapiKit's live events, update the cached conversation
and every cached list page that holds it (`remember`, called by `now`), so a user's next view
shows their own change. A list the change moves the conversation into is dropped instead (its
order and page boundaries are WapiKit's to say), and read again when next asked for."""

from __future__ import annotations

import contextlib
import time

import msgspec
from django.conf import settings
from django.core.cache import cache

from dashboard.wapikit import get_client
from dashboard.wapikit.types import Campaign, Conversation, ConversationPage, Member, Message, MessagePage

from .shared import PREFIX, cache_key, fetch_and_keep, load, own_ages, shared, stale_key, store

LISTS = f"{PREFIX}:lists"  # every cached list page's key, with its status filter


# The reads


def conversation_page(
    *, page: int, per_page: int, status: str | None, order: str = "desc", campaign_id: str | None = None
) -> tuple[ConversationPage, bool]:
    """The list page, and whether this call is the one that read it from WapiKit: what it carries
    (the spec's lists carry messages) is then for the timeline to learn, once, in the request's own
    thread (`selectors.inbox_page`); the views of the kept copy have nothing to teach."""
    client = get_client()
    key = cache_key("list", page, per_page, status, order, campaign_id)
    fresh: list[ConversationPage] = []  # the answer, when this call is the one that read it

    def fetch() -> ConversationPage:
        fresh.append(client.list_conversations(page=page, per_page=per_page, status=status, order=order,
                                               campaign_id=campaign_id))
        return fresh[0]

    answer = shared(key, lifetime=settings.WAPIKIT_LIST_CACHE_SECONDS, fetch=fetch, type=ConversationPage)
    if settings.WAPIKIT_LIST_CACHE_SECONDS > 0:
        _register_list(key, status)
    return with_delivered_messages(answer), bool(fresh)


def conversation(conversation_id: str) -> Conversation:
    client = get_client()
    return shared(
        conversation_key(conversation_id),
        lifetime=settings.WAPIKIT_CONVERSATION_CACHE_SECONDS,
        fetch=lambda: client.get_conversation(conversation_id),
        type=Conversation,
    )


def messages(conversation_id: str, *, page: int, per_page: int, order: str) -> MessagePage:
    client = get_client()
    return shared(
        cache_key("messages", conversation_id, page, per_page, order),
        lifetime=settings.WAPIKIT_CONVERSATION_CACHE_SECONDS,
        fetch=lambda: client.list_messages(conversation_id, page=page, per_page=per_page, order=order),
        type=MessagePage,
    )


def members(*, fresh: bool = False) -> list[Member]:
    """The member list; `fresh`: read from WapiKit now, and kept for everyone as any read is."""
    client = get_client()
    if fresh:
        return fetch_and_keep(
            cache_key("members"), lifetime=settings.WAPIKIT_MEMBERS_CACHE_SECONDS, fetch=client.list_members, type=list[Member]
        )
    return shared(
        cache_key("members"),
        lifetime=settings.WAPIKIT_MEMBERS_CACHE_SECONDS,
        fetch=client.list_members,
        type=list[Member],
        metric="members",
    )


def campaigns() -> list[Campaign]:
    """The campaign filter's choices. Their age is not the page's: a page does not say its
    conversations are five minutes old because the campaign names are."""
    client = get_client()
    with own_ages():
        return shared(
            cache_key("campaigns"),
            lifetime=settings.WAPIKIT_CAMPAIGNS_CACHE_SECONDS,
            fetch=client.list_campaigns,
            type=list[Campaign],
            metric="campaigns",
        )


def cached_members() -> list[Member] | None:
    """The shared member list if the cache holds it, else None, without asking WapiKit: for
    what must not cost a request (the top bar of a page that needs no WapiKit answer)."""
    found = load(cache_key("members"), list[Member])
    return found[1] if found else None


def last_known_members() -> list[Member] | None:
    """The last member list read from WapiKit, however old (kept WAPIKIT_STALE_COPY_SECONDS), or
    None: for deciding what a user may do while WapiKit cannot be asked."""
    found = load(stale_key(cache_key("members")), list[Member])
    return found[1] if found else None


def conversation_key(conversation_id: str) -> str:
    return cache_key("conversation", conversation_id)


def forget_messages(conversation_id: str) -> None:
    """A new message makes every cached page of the thread stale: the first page is read again."""
    cache.delete_many(
        [cache_key("messages", conversation_id, 1, per_page, order)
         for per_page in (25, 50) for order in ("asc", "desc")]
    )


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


# Keeping cached lists true to the dashboard's own writes and to WapiKit's events


def _register_list(key: str, status: str | None) -> None:
    known: dict[str, str | None] = cache.get(LISTS) or {}
    if key not in known:
        # Racing processes may each drop the other's entry: that list then stays as WapiKit
        # gave it until its short lifetime ends.
        known[key] = status
        cache.set(LISTS, known, timeout=max(settings.WAPIKIT_LIST_CACHE_SECONDS * 20, 60))


def listed_under(status: str | None, conversation: Conversation) -> bool:
    """Whether WapiKit's list with this status filter holds the conversation. Without a status
    it lists everything but Closed and Deleted."""
    if status is None:
        return conversation.status not in ("Closed", "Deleted")
    return conversation.status == status


def remember(conversation: Conversation) -> None:
    """A conversation as it is now (after a write, or as an event described it): the cached
    single answer and every cached list page that holds it."""
    if settings.WAPIKIT_CONVERSATION_CACHE_SECONDS > 0:
        key = conversation_key(conversation.unique_id)
        store(key, conversation, lifetime=settings.WAPIKIT_CONVERSATION_CACHE_SECONDS)
    known: dict[str, str | None] = cache.get(LISTS) or {}
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
