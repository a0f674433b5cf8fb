"""`GET /live/stream/` under ASGI, answered in front of Django: Server-Sent Events telling a
browser which conversations changed and whether live updates flow. The page then asks for its
own view of what changed (`inbox_changes`), so no open tab costs WapiKit a request by itself.

Django's handler would run its sync middleware on a thread per request, and that thread and its
database connection would live as long as the stream. Here an open stream is a coroutine
waiting on its queue: who may hold it is asked on `access`'s one shared thread; a closed browser
is noticed at once (the server reports the disconnect) and everything is let go; the stream ends
when its session ends or its member may no longer view conversations; and opening more than
LIVE_STREAMS_PER_USER streams ends the user's oldest."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest

from dashboard.conversations import bus
from dashboard.conversations import live_state as state
from dashboard.routing import presence

from . import access, quota
from .access import Verdict

PATH = "/live/stream/"

# Why a stream ended, as its last frame says: its set lifetime is over (the browser reconnects),
# or a verdict of `access`, or `quota.REPLACED`. static/js/app.js stops reconnecting for all
# but this one and UNAVAILABLE, whose `retry` tells the browser when to ask again.
EXPIRED = "expired"
_GONE = {"gone": True}

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"private, no-store"),
    (b"x-content-type-options", b"nosniff"),
    # Proxies that buffer (nginx) would hold the events back.
    (b"x-accel-buffering", b"no"),
]


def with_live_streams(application):
    """The ASGI application, with the live stream's path answered before Django sees it."""

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == PATH:
            await serve(scope, receive, send)
        else:
            await application(scope, receive, send)

    return app


async def serve(scope, receive, send) -> None:
    request = ASGIRequest(scope, io.BytesIO())
    try:
        request.get_host()
    except DisallowedHost:
        await _plain(send, 400, b"Bad Request")
        return
    if request.method != "GET":
        await _plain(send, 405, b"Method Not Allowed", extra=[(b"allow", b"GET")])
        return
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    allowed = await access.acheck(session_key)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    if not allowed.allowed:
        retry = settings.LIVE_UNAVAILABLE_RETRY_MS if allowed.verdict is Verdict.UNAVAILABLE else None
        await _body(send, frame("ended", allowed.verdict, retry=retry), more=False)
        return
    stream = Stream(user_id=allowed.user_id, session_key=session_key, send=send)
    try:
        await stream.run(receive)
    finally:
        # Routing believes the member gone only after its grace period: a reload comes back first.
        await access.on_shared_thread(presence.left, allowed.member_id)


class Stream:
    """One browser's open stream."""

    def __init__(self, *, user_id: int, session_key: str, send) -> None:
        self.stream_id = uuid.uuid4().hex
        self.user_id = user_id
        self.session_key = session_key
        self.session_tag = access.session_tag(session_key)
        self._send = send
        self._subscription: bus.Subscription | None = None

    def end(self, why: str) -> None:
        """Ask the stream to end (from any thread); it says why in its last frame."""
        if self._subscription is not None:
            self._subscription.put({"end": why})

    async def run(self, receive) -> None:
        self._subscription = bus.Subscription()
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            await quota.admit(self)
            await self._serve()
        finally:
            await quota.leave(self)
            self._subscription.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch_disconnect(self, receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._subscription.put(_GONE)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        # Ended now and then, so that a browser reconnects (and is checked again in full) and a
        # process can stop without waiting on streams.
        ends = loop.time() + settings.LIVE_STREAM_SECONDS
        # Spread over the interval, so that a thousand streams opened together are not
        # checked again together.
        recheck = loop.time() + settings.LIVE_RECHECK_SECONDS * random.uniform(0.5, 1.0)
        # The cache may be Redis: asked off the event loop, like every blocking read here.
        current = await access.on_shared_thread(state.current)
        opening = frame("live", live_data(current.live, current.paused_because), retry=settings.LIVE_RETRY_MS)
        if not await self._write(opening):
            return
        queue = self._subscription.queue
        while (now := loop.time()) < ends:
            if now >= recheck:
                recheck = now + settings.LIVE_RECHECK_SECONDS
                verdict = (await access.acheck(self.session_key)).verdict
                if verdict in (Verdict.SIGNED_OUT, Verdict.FORBIDDEN):
                    await self._finish(verdict)
                    return
            try:
                message = await asyncio.wait_for(
                    queue.get(), timeout=min(ends - now, recheck - now, settings.LIVE_KEEPALIVE_SECONDS)
                )
            except TimeoutError:
                # A comment line: keeps proxies from closing an idle stream, and finds a
                # browser that stopped reading.
                if not await self._write(": keep-alive\n\n"):
                    return
                continue
            if message is _GONE or not await self._handle(message):
                return
        await self._finish(EXPIRED)

    async def _handle(self, message: dict[str, Any]) -> bool:
        """Pass one bus message on; False once the stream has ended."""
        if "end" in message or message.get("end_stream") == self.stream_id:
            await self._finish(message.get("end") or message["why"])
            return False
        if message.get("session_ended") == self.session_tag:
            await self._finish(Verdict.SIGNED_OUT)
            return False
        if "live" in message:
            return await self._write(frame("live", live_data(bool(message["live"]), str(message.get("why", "")))))
        if "conversation" in message:
            changed = {"id": str(message["conversation"]), "why": str(message.get("why", ""))}
            return await self._write(frame("changed", json.dumps(changed)))
        if "alert" in message:
            # Only its number: the page asks whether it is for this user (inbox/views/alerts.py).
            return await self._write(frame("alert", str(int(message["alert"]))))
        if "take_back" in message:
            # Routing took a conversation back: the same, for the managers' notice.
            return await self._write(frame("takeback", str(int(message["take_back"]))))
        return True

    async def _finish(self, why: str) -> None:
        if await self._write(frame("ended", why)):
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(_body(self._send, "", more=False), settings.LIVE_KEEPALIVE_SECONDS)

    async def _write(self, text: str) -> bool:
        """Send a frame; False when the browser is gone or has stopped reading for a heartbeat."""
        try:
            await asyncio.wait_for(_body(self._send, text), settings.LIVE_KEEPALIVE_SECONDS)
        except (OSError, TimeoutError):
            return False
        return True


def live_data(live: bool, why: str) -> str:
    """"1" while live updates flow; else "0", then why not, for the inbox's note (one line)."""
    return "1" if live else " ".join(["0", *why.split()])


def frame(event: str, data: str, *, retry: int | None = None) -> str:
    retry_line = f"retry: {retry}\n" if retry is not None else ""
    return f"{retry_line}event: {event}\ndata: {data}\n\n"


async def _body(send, text: str, *, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": text.encode(), "more_body": more})


async def _plain(send, status: int, text: bytes, *, extra: list[tuple[bytes, bytes]] = ()) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})
