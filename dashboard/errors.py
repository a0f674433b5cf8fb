"""The error pages, with the request id a user can quote: under /api/ the same answers as
problem+json documents, never an HTML page or a traceback."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, resolve

from dashboard.api.problems import problem_document, too_large_detail
from dashboard.observability.context import current_request_id


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


class OwnNotFoundPageMiddleware:
    """The dashboard's own 404 page under DEBUG too (`DEBUG=true make run`), where Django would
    answer its debug page listing every URL pattern. Inside CommonMiddleware, so that a path
    missing its slash is still redirected to the one with it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as exc:
                return page_not_found(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
