"""`GET /live/stream/`: Server-Sent Events telling a signed-in browser which conversations
changed and whether live updates are flowing. htmx's SSE extension holds the connection and
reconnects; the page then asks for its own view of what changed (`inbox_changes`), served from
the shared reads the change already updated, so no tab costs WapiKit a request by itself."""

from __future__ import annotations

import asyncio
import json

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET

from . import bus, state


def live_state(request: HttpRequest) -> dict[str, object]:
    """Context processor: the events stream's state, read only by pages that show it, and
    whether pages open a live stream (LIVE_STREAMS: a deployment serving /live/stream/ under
    ASGI; pages themselves may be served by WSGI)."""
    return {"live": SimpleLazyObject(state.current), "live_streams": settings.LIVE_STREAMS}


@require_GET
async def stream(request: HttpRequest) -> HttpResponse:
    if isinstance(request, WSGIRequest):
        # Under WSGI a stream would hold a thread for its whole life, and Django would collect
        # it before sending: 204 tells the browser not to reconnect; pages poll instead.
        return HttpResponse(status=204)
    response = StreamingHttpResponse(_events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    # Proxies that buffer (nginx) would hold the events back.
    response["X-Accel-Buffering"] = "no"
    return response


async def _events():
    current = await sync_to_async(state.current)()
    loop = asyncio.get_running_loop()
    # Ended now and then, so that a browser reconnects (and is checked again) and a process
    # can stop without waiting on streams.
    ends = loop.time() + settings.LIVE_STREAM_SECONDS
    subscription = bus.Subscription()
    try:
        yield _frame("live", "1" if current.live else "0", retry=settings.LIVE_RETRY_MS)
        while (left := ends - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(
                    subscription.queue.get(), timeout=min(left, settings.LIVE_KEEPALIVE_SECONDS)
                )
            except TimeoutError:
                # A comment line: keeps proxies from closing an idle stream.
                yield ": keep-alive\n\n"
                continue
            if "live" in message:
                yield _frame("live", "1" if message["live"] else "0")
            elif "conversation" in message:
                changed = {"id": str(message["conversation"]), "why": message.get("why", "")}
                yield _frame("changed", json.dumps(changed))
    finally:
        # The browser went away (or the stream's time is up): stop handing it messages.
        subscription.close()


def _frame(event: str, data: str, *, retry: int | None = None) -> str:
    retry_line = f"retry: {retry}\n" if retry is not None else ""
    return f"{retry_line}event: {event}\ndata: {data}\n\n"
