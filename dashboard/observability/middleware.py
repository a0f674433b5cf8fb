"""One id per request, one log line and one metrics sample per answer."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import metrics
from .context import current_request_id, current_user_id, request_id_for

logger = logging.getLogger("dashboard.request")


class RequestContextMiddleware:
    """First in the chain, so every answer, redirects and static files included, carries the id
    that its log lines and its upstream calls carry (`X-Request-ID`)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request.headers.get("X-Request-ID"))
        id_token = current_request_id.set(request.request_id)
        user_token = current_user_id.set(None)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            response["X-Request-ID"] = request.request_id
            self._record(request, response.status_code, seconds)
            return response
        finally:
            current_user_id.reset(user_token)
            current_request_id.reset(id_token)

    def _record(self, request: HttpRequest, status: int, seconds: float) -> None:
        view = _view_name(request)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        metrics.requests.labels(method=request.method, view=view, status=str(status)).inc()
        metrics.request_seconds.labels(view=view).observe(seconds)
        logger.info(
            "%s %s %s %.1f ms",
            request.method,
            view,
            status,
            seconds * 1000,
            extra={
                "event": "request",
                "method": request.method,
                "view": view,
                "route": _route(request),
                "status": status,
                "ms": round(seconds * 1000, 1),
                "user_id": user_id,
            },
        )


class UserContextMiddleware:
    """After authentication: the signed-in user's id for every log line the request writes."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            current_user_id.set(user.pk)
        return self.get_response(request)


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or "unnamed"
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


def _route(request: HttpRequest) -> str:
    """The URL pattern (`conversations/<str:conversation_id>/close/`), not the path: the path
    of a search holds what someone typed."""
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None else ""


def request_id(request: HttpRequest) -> dict[str, str]:
    """Context processor: the id a user can quote from an error page."""
    return {"request_id": getattr(request, "request_id", "")}
