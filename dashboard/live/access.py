"""Who may hold a live stream: a signed-in user whose WapiKit member may view conversations
(`Get:Conversation`). Asked when a stream opens and again every LIVE_RECHECK_SECONDS; each yes
is also routing's sign that the member has the dashboard open.

Sessions and users live in the database, so the question is answered on one thread that every
stream of the process shares, and that thread lets its database connection go whenever no
other question waits: a stream that is only waiting holds no thread and no connection."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.db import connections
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from dashboard.conversations import bus, reads
from dashboard.conversations.members import powers_for
from dashboard.routing import presence
from dashboard.wapikit import errors


class Verdict(StrEnum):
    ALLOWED = "allowed"
    SIGNED_OUT = "signed-out"
    FORBIDDEN = "forbidden"
    # WapiKit could not say what the member may do: ask again later, take nothing away.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Access:
    verdict: Verdict
    user_id: int | None = None
    member_id: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED


def session_tag(session_key: str) -> str:
    """What the bus may carry to name a session: never the key itself."""
    return salted_hmac("dashboard.live.session", session_key, algorithm="sha256").hexdigest()[:32]


def session_signed_out(sender, request, user, **kwargs) -> None:
    """Signal receiver: the streams this session holds, in every process, end now."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        bus.publish({"session_ended": session_tag(session_key)})


def check(session_key: str | None) -> Access:
    """The answer for a session cookie's value, from the session, its user and the member list
    the pages share (WapiKit is asked only when the shared copy is older than its lifetime)."""
    if not session_key:
        return Access(Verdict.SIGNED_OUT)
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # Django's own rules: the session exists, names an active user, and its password hash
    # still matches (a password change ends it).
    user = get_user(request)
    if not user.is_authenticated:
        return Access(Verdict.SIGNED_OUT)
    try:
        members = reads.members()
    except errors.WapiKitError:
        # WapiKit cannot answer now: the last member list it gave decides, if there is one.
        members = reads.last_known_members()
        if members is None:
            return Access(Verdict.UNAVAILABLE, user.pk)
    powers = powers_for(user, members)
    if not powers.can_view:
        return Access(Verdict.FORBIDDEN, user.pk)
    # The member has the dashboard open now: routing's presence (asked on open and at each check).
    presence.seen(powers.member.unique_id)
    return Access(Verdict.ALLOWED, user.pk, powers.member.unique_id)


_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-access")
_waiting = 0
_waiting_lock = threading.Lock()


async def acheck(session_key: str | None) -> Access:
    return await on_shared_thread(check, session_key)


async def on_shared_thread(function, *args):
    """`function(*args)` on the one thread every stream of the process shares for blocking work
    (the database, Redis)."""
    global _waiting
    with _waiting_lock:
        _waiting += 1
    try:
        return await sync_to_async(function, thread_sensitive=False, executor=_executor)(*args)
    finally:
        # Counted here, where a cancelled stream passes too, so the count cannot drift.
        with _waiting_lock:
            _waiting -= 1
            last = _waiting == 0
        if last:
            # Nobody else is waiting for an answer: after what is under way, hold no connection
            # until somebody is.
            _executor.submit(connections.close_all)
