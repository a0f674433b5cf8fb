"""The live stream's place among Django's views. Under ASGI, `/live/stream/` is answered before
Django sees it (`dashboard.live.streams`); a request that reaches this view came through WSGI,
where a stream would hold a thread for its whole life."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET

from dashboard.conversations import live_state as state


def live_state(request: HttpRequest) -> dict[str, object]:
    """Context processor: the events stream's state, read only by pages that show it, and
    whether pages open a live stream (LIVE_STREAMS: a deployment serving /live/stream/ under
    ASGI; pages themselves may be served by WSGI)."""
    return {"live": SimpleLazyObject(state.current), "live_streams": settings.LIVE_STREAMS}


@require_GET
def stream(request: HttpRequest) -> HttpResponse:
    # 204 tells the browser not to reconnect: pages poll instead.
    return HttpResponse(status=204)
