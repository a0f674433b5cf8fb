"""What happens to an event once the listener has decoded it: the shared reads learn it, and open
browsers are told which conversation changed.

With Redis the listener applies events itself: the cache and the fan-out are shared by every
process. Without Redis each process has its own memory, so the listener (its own process, as
`make run` starts it) hands events and its state to the dashboard process over loopback HTTP
(`LIVE_INGEST_URL`), signed with a key derived from SECRET_KEY, and the dashboard applies them."""

from __future__ import annotations

import hmac
import logging
import secrets
import time

import msgspec
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dashboard.conversations import bus, now
from dashboard.conversations import live_state as state
from dashboard.wapikit import relay
from dashboard.wapikit.decode import AssignmentChanged, Event, NewConversation, NewMessage

logger = logging.getLogger("dashboard.live")

_EVENTS: dict[str, type[Event]] = {cls.__name__: cls for cls in (NewMessage, NewConversation, AssignmentChanged)}


class _Handed(msgspec.Struct, frozen=True):
    """What the listener posts to the dashboard: an event, or its own state. When it was sent
    and a nonce, both signed with it, so that a body seen on the way cannot be posted again."""

    kind: str  # "event", "state" or "message" (what another process published: `Published`)
    type: str = ""
    body: msgspec.Raw = msgspec.Raw(b"null")
    sent_at: float = 0.0  # Unix seconds
    nonce: str = ""


def deliver(event: Event) -> None:
    if _shared_cache():
        apply(event)
    else:
        _hand_over(_Handed("event", type(event).__name__, msgspec.Raw(msgspec.json.encode(event))))


class Published(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a process without streams may hand over for publishing: a card that changed, an
    alert raised, or a conversation routing took back; nothing else reaches the browsers this way."""

    conversation: str = ""
    why: str = ""
    alert: int = 0
    take_back: int = 0


def hand_over_message(message: dict) -> None:
    """`bus.hand_over`: a message published by a process that serves no streams."""
    published = msgspec.convert(message, Published)
    _hand_over(_Handed("message", body=msgspec.Raw(msgspec.json.encode(published))))


def _to_publish(published: Published) -> dict:
    if published.conversation:
        return {"conversation": published.conversation, "why": published.why}
    if published.take_back:
        return {"take_back": published.take_back}
    return {"alert": published.alert}


def report_state(reported: state.StreamState) -> None:
    if _shared_cache():
        store_state(reported)
    else:
        _hand_over(_Handed("state", body=msgspec.Raw(msgspec.json.encode(reported))))


def apply(event: Event) -> None:
    """The conversation the event describes is now so (`dashboard.conversations.now`)."""
    if isinstance(event, NewMessage):
        now.message_arrived(event.conversation, event.message)
    elif isinstance(event, NewConversation):
        now.conversation_started(event.conversation)
    else:
        now.assignment_changed(event.conversation_id)


def store_state(reported: state.StreamState) -> None:
    """Keep the listener's state where every process reads it, and tell browsers when live
    updates start or stop flowing."""
    before = state.current()
    if reported.state == state.STANDBY and before.state != state.NOT_RUNNING and before.holder != reported.holder:
        # A listener waiting for the lock says nothing about the one that holds it and listens.
        return
    state.store(reported)
    if before.live != reported.live or not reported.live and before.paused_because != reported.paused_because:
        bus.publish({"live": reported.live, "why": reported.paused_because})


# Without Redis: the listener hands over, the dashboard process applies.


def _shared_cache() -> bool:
    return bool(settings.REDIS_URL)


def _signature(body: bytes) -> str:
    return salted_hmac("dashboard.live.ingest", body, algorithm="sha256").hexdigest()


# How old a handed-over body may be, either way (the listener and the dashboard share a host and
# its clock). A nonce is remembered for twice as long, so no replay outlives its memory.
INGEST_MAX_AGE_SECONDS = 30


def _sealed(handed: _Handed) -> bytes:
    """The body to post and sign: `handed`, stamped now with a fresh nonce."""
    stamped = msgspec.structs.replace(handed, sent_at=time.time(), nonce=secrets.token_hex(16))
    return msgspec.json.encode(stamped)


def _fresh_once(handed: _Handed) -> bool:
    """Signed recently, and its nonce never seen before (remembered in the cache)."""
    if abs(time.time() - handed.sent_at) > INGEST_MAX_AGE_SECONDS or len(handed.nonce) != 32:
        return False
    return cache.add(f"live:ingest:nonce:{handed.nonce}", 1, timeout=2 * INGEST_MAX_AGE_SECONDS)


def _hand_over(handed: _Handed) -> None:
    body = _sealed(handed)
    relay.post_signed(settings.LIVE_INGEST_URL, body, signature=_signature(body))


@login_not_required
@csrf_exempt
@require_POST
def ingest(request: HttpRequest) -> HttpResponse:
    body = request.body
    if not hmac.compare_digest(request.headers.get("X-Live-Signature", ""), _signature(body)):
        return HttpResponse(status=403)
    try:
        handed = msgspec.json.decode(body, type=_Handed)
        if not _fresh_once(handed):
            logger.warning("a signed live event was stale or replayed: refused")
            return HttpResponse(status=403)
        if handed.kind == "state":
            store_state(msgspec.json.decode(handed.body, type=state.StreamState))
        elif handed.kind == "message":
            published = msgspec.json.decode(handed.body, type=Published)
            bus.publish(_to_publish(published))
        elif handed.type in _EVENTS:
            apply(msgspec.json.decode(handed.body, type=_EVENTS[handed.type]))
        else:
            return HttpResponse(status=400)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return HttpResponse(status=400)
    return HttpResponse(status=204)
