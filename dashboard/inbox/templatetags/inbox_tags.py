"""Presentation of WapiKit values. Every string returned here is plain text: templates
autoescape it, because every string from WapiKit was written by strangers."""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django import template
from django.urls import reverse
from django.utils import timezone

from dashboard.conversations import clocks, lives, targets
from dashboard.conversations.acting import Seen
from dashboard.conversations.selectors import card_version
from dashboard.wapikit.types import Message

register = template.Library()

_MEDIA_LABELS = {
    "Image": "Photo",
    "Video": "Video",
    "Audio": "Voice message",
    "Sticker": "Sticker",
    "Document": "Document",
}


@register.filter
def ago(value: datetime | None) -> str:
    """Short relative time, cheaper than `timesince` for 50 cards a page."""
    if value is None:
        return ""
    seconds = int((timezone.now() - value).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


@register.filter
def last_message_line(conversation) -> str:
    """The card's last message. A list answer without messages (WapiKit's server never sends
    them) says nothing of a conversation that has some: until the timeline knows it, the card
    says so, never "No messages yet" beside a message count."""
    if not lives.messages_known(conversation):
        return "Last message not known yet: reading it from WapiKit"
    if conversation.last_message is None and conversation.total_messages != 0:
        life = lives.facts(conversation)
        return "A message from the contact" if life.last_message_inbound else "A message from the team"
    return summary(conversation.last_message)


@register.filter
def last_direction(conversation) -> str:
    """"in" when the contact wrote the last message, "out" when the team did, "" when not known."""
    inbound = lives.facts(conversation).last_message_inbound
    return "" if inbound is None else ("in" if inbound else "out")


@register.filter
def last_activity(conversation) -> datetime:
    return lives.last_activity(conversation)


@register.simple_tag
def waiting_line(conversation) -> dict:
    """Who spoke last: "waiting 2 h 10 min" while the contact waits, "answered 5 min ago" once
    the team did; nothing while the timeline does not know."""
    now = timezone.now()
    if (since := lives.waiting_since(conversation)) is not None:
        return {"state": "waiting", "text": f"waiting {duration(now - since)}", "since": since}
    if (answered := lives.answered_at(conversation)) is not None:
        return {"state": "answered", "text": f"answered {ago(answered)}", "since": answered}
    return {"state": "unknown", "text": "", "since": None}


def duration(span: timedelta) -> str:
    """"2 h 10 min", "3 d 4 h", "12 min", "under a minute"."""
    minutes = max(0, int(span.total_seconds()) // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


@register.filter
def summary(message: Message | None, limit: int = 140) -> str:
    """One line for a card: the text, or a short label for media, locations and reactions."""
    if message is None:
        return "No messages yet"
    data = message.message_data
    kind = message.message_type
    if kind == "Text" and data is not None:
        text = " ".join((data.text or "").split())
        return text if len(text) <= limit else text[: limit - 1] + "…"
    if kind in _MEDIA_LABELS:
        detail = (data.file_name or data.caption) if data and kind == "Document" else (data.caption if data else None)
        return f"{_MEDIA_LABELS[kind]}: {detail}" if detail else _MEDIA_LABELS[kind]
    if kind == "Location" and data is not None:
        if data.name or data.address:
            return f"Location: {data.name or data.address}"
        if data.latitude is not None and data.longitude is not None:
            return f"Location: {data.latitude:.4f}, {data.longitude:.4f}"
        return "Location"
    if kind == "Reaction" and data is not None and data.reaction:
        return f"Reacted {data.reaction}"
    return f"{kind} message"


@register.filter
def role_names(member) -> str:
    return ", ".join(role.name for role in member.roles) if member.roles else "no roles"


@register.filter
def web_url(value: str | None) -> str:
    """A link from WapiKit only if it is plain http(s): never `javascript:` or `data:`."""
    if not value:
        return ""
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "") if mapping else ""


@register.simple_tag
def response_clock(conversation) -> dict:
    """The card's response clock against the team's targets ("due in 4 min", "overdue 12 min")
    and what is left of WhatsApp's 24-hour window for free-form replies."""
    clock = lives.clock_of(conversation, targets.current())
    return {"state": clock.state, "text": _clock_text(clock), **_window(conversation, clock.window)}


def _clock_text(clock: clocks.Clock) -> str:
    which = "First response" if clock.response is clocks.Response.FIRST else "Reply"
    if clock.state is clocks.State.OVERDUE:
        return f"{which} overdue {duration(timedelta(minutes=clock.minutes_over))}"
    if clock.state in (clocks.State.DUE_SOON, clocks.State.ON_TIME):
        return f"{which} due in {duration(timedelta(minutes=clock.minutes_left))}"
    return ""


def _window(conversation, window: clocks.Window) -> dict:
    if window.state is clocks.WindowState.NONE:
        if lives.messages_known(conversation):
            return {"window_state": "unknown", "window_text": "No message from the contact yet"}
        return {"window_state": "unknown", "window_text": "Reply window not known yet"}
    if window.state is clocks.WindowState.CLOSED:
        return {"window_state": "closed", "window_text": "Reply window closed"}
    state = "closing" if window.state is clocks.WindowState.CLOSING else "open"
    return {"window_state": state, "window_text": f"{duration(timedelta(minutes=window.minutes_left))} left to reply"}


@register.filter
def seen(conversation) -> str:
    """The state a card shows, "<status>:<assignee id>": its forms send it back, so an action
    on a conversation someone changed since is caught."""
    return str(Seen.of(conversation))


@register.filter
def version(conversation) -> str:
    """The card's version (`selectors.card_version`): open pages tell changed cards by it, and
    the rendered-card cache keys on it."""
    return card_version(conversation)


_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
_CARD_URLS = ("conversation", "close", "reopen", "unassign", "delete", "assign")


@functools.cache
def _url_patterns() -> dict[str, str]:
    # Reversed once per process: a page of 50 cards would otherwise reverse 250 URLs.
    return {name: reverse(name, args=[_PLACEHOLDER]) for name in _CARD_URLS}


@register.filter
def paths(conversation) -> dict[str, str]:
    """The card's URLs, from the URLconf's own patterns."""
    return {name: url.replace(_PLACEHOLDER, conversation.unique_id) for name, url in _url_patterns().items()}


# Cards are cached once rendered (see the inbox's results partial). A cached card must not hold
# one user's CSRF token for another, so cards are rendered with this placeholder, which the view
# replaces with the request's own token; it is random so no upstream text can contain it.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"


@register.simple_tag
def csrf_placeholder() -> str:
    return CSRF_PLACEHOLDER


@register.filter
def powers_key(powers) -> str:
    member = powers.member
    flags = "".join("1" if flag else "0" for flag in (
        powers.can_update, powers.can_delete, powers.can_assign, powers.can_unassign
    ))
    return f"{member.unique_id if member else '-'}:{flags}"
