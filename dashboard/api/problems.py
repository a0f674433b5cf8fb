"""Every refusal and failure as `application/problem+json` (RFC 9457), with the plain sentence
the web shows: WapiKit's failures keep their own message and the status the web gives them
(`errors.answer_status`), and say which kind they are."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from dashboard.wapikit import errors

CONTENT_TYPE = "application/problem+json"


def problem(status: int, detail: str, *, kind: str = "", headers: dict | None = None, **extra) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **({"kind": kind} if kind else {}),
        **extra,
    }
    return Response(body, status=status, headers=headers, content_type=CONTENT_TYPE)


def problem_document(status: int, detail: str, *, kind: str, **extra) -> JsonResponse:
    """The same document, for answers made outside DRF: Django's error handlers, unknown routes."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail,
            "kind": kind, **extra}
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)


def too_large_detail() -> str:
    limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE).replace("\xa0", " ")
    return f"The request body is over {limit}, the most the dashboard reads: send fewer ids at a time."


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return " ".join(f"{name}: {_flatten(value)}" if name != "non_field_errors" else _flatten(value)
                        for name, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def _codes(detail):
    if isinstance(detail, dict):
        return {k: _codes(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_codes(v) for v in detail]
    return str(detail)


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, errors.WapiKitError):
        status = errors.answer_status(exc)
        headers = {}
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            headers["Retry-After"] = str(retry)
        return problem(status, exc.user_message, kind=exc.kind, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return problem(413, too_large_detail(), kind="too_large")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handling, logged
    headers = {name: value for name, value in response.items() if name in ("WWW-Authenticate", "Retry-After", "Allow")}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        return problem(
            response.status_code,
            "The request is not valid. " + _flatten(detail),
            kind="invalid",
            errors=detail if isinstance(detail, dict) else {"non_field_errors": detail},
            headers=headers,
        )
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    return problem(response.status_code, _flatten(detail), kind=str(_codes(code)), headers=headers)


@login_not_required
@csrf_exempt
def unknown_route(request, path: str = ""):
    """Any other path under /api/v1/: a problem document, not the web's HTML page."""
    return problem_document(404, "The API has no such route.", kind="not_found")
