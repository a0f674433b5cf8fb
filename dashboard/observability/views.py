"""The metrics endpoint, the request id on every page, and the error pages that quote it: under
/api/ the same answers as problem+json documents, never an HTML page or a traceback."""

from __future__ import annotations

import ipaddress
import secrets
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from dashboard.accounts.addresses import client_address
from dashboard.api.problems import problem_document, too_large_detail

from . import metrics
from .context import current_request_id


@login_not_required
@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        return HttpResponse(
            "Metrics need METRICS_TOKEN (sent as 'Authorization: Bearer …') or a scraper address in "
            "METRICS_ALLOWED_ADDRESSES.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


def may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and secrets.compare_digest(sent.strip().encode(), token.encode()):
        return True
    allowed = [part.strip() for part in settings.METRICS_ALLOWED_ADDRESSES.split(",") if part.strip()]
    if not allowed:
        return False
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in allowed)


def request_id(request: HttpRequest) -> dict[str, str]:
    """Context processor: the id a user can quote from an error page."""
    return {"request_id": getattr(request, "request_id", "")}


def _for_a_script(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, with the request id: no database, no session, nothing that could
    be what just failed."""
    request_id = current_request_id.get() or ""
    if _for_a_script(request):
        detail = "Something went wrong on the dashboard's side. If it keeps happening, quote the request_id."
        return problem_document(500, detail, kind="server_error", request_id=request_id)
    template = loader.get_template("500.html")
    return HttpResponse(template.render({"request_id": request_id}), status=500)


def _error_page(status: int, headline: str, explanation: str):
    def handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        if _for_a_script(request):
            return problem_document(status, f"{headline} {explanation}", kind=HTTPStatus(status).name.lower())
        context = {"headline": headline, "explanation": explanation}
        return render(request, "error.html", context, status=status)

    handler.__name__ = f"error_{status}"
    return handler


_bad_request = _error_page(400, "The dashboard could not read that request.", "Nothing was changed.")
_too_large = _error_page(413, "That request is too large for the dashboard.", "Nothing was changed.")
permission_denied = _error_page(403, "You may not open this page.", "Your WapiKit role does not allow it.")
page_not_found = _error_page(404, "There is no such page.", "The link may be old or mistyped.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 handler; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, as it is."""
    if isinstance(exception, RequestDataTooBig):
        if _for_a_script(request):
            return problem_document(413, too_large_detail(), kind="too_large")
        return _too_large(request, exception)
    return _bad_request(request, exception)
