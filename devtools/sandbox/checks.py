"""What every route and test hook of the sandbox checks first, the key and the ids it is given,
and how a failed check answers: `{"message"}`, as WapiKit does (the sandbox process's DRF
exception handler, `devtools/sandbox/settings.py`)."""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from django.conf import settings
from django.http import Http404
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response


class SandboxError(APIException):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status


def error_response(status: int, message: str, **extra: Any) -> Response:
    return Response({"message": message, **extra}, status=status)


def check_key(request: Request) -> None:
    supplied = request.headers.get(settings.WAPIKIT_AUTH_HEADER, "")
    if not hmac.compare_digest(supplied.encode(), settings.SANDBOX_API_KEY.encode()):
        raise SandboxError(401, "Unauthorized access: missing or invalid API key")


def parse_uuid(raw: Any, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise SandboxError(400, f"{name} is not a valid id") from None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error answers `{"message": ...}` as WapiKit does."""
    if isinstance(exc, SandboxError):
        return error_response(exc.status_code, str(exc.detail))
    if isinstance(exc, Http404):
        return error_response(404, "Not found")
    if isinstance(exc, APIException):
        return error_response(exc.status_code, str(exc.detail))
    return None
