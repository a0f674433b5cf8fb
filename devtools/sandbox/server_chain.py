"""WapiKit's middleware chain, as its server code runs it for every route ("server" profile,
RemotiQ/wapikit 055becef; "legacy", wapikit/wapikit d0a3506, through its dialect): echo's router
(404 and 405 as {"message"}), the rate limiter (server only; it counts before the key is
checked), the key, the permission check, then the control module's latency and faults, then the
handler. A handler fails with `HandlerError` (a bare JSON string; {"message"} in legacy) or
`Panic` (what echo's Recover middleware makes of a Go panic: 500 {"message": "Internal Server
Error"})."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from . import control, dialects, ratelimit
from .gojson import json_response
from .keys import key_holder
from .models import Member

NOT_AUTHENTICATED = "Unauthorized access"
NOT_PERMITTED = "You are not authorized to access this resource."


class HandlerError(Exception):
    """`context.JSON(status, text)` in a WapiKit handler; `text=None` writes JSON null."""

    def __init__(self, status: int, text: str | None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class Panic(Exception):
    """A nil dereference or a failed `uuid.MustParse` in a WapiKit handler."""


@dataclass(frozen=True)
class Method:
    permission: str
    handler: Callable[..., HttpResponse]


def endpoint(bucket: str, methods: dict[str, Method]) -> Callable[..., HttpResponse]:
    """One route pattern: its methods share the pattern's rate-limit bucket, as in WapiKit."""

    def view(request: HttpRequest, **params: str) -> HttpResponse:
        method = methods.get(request.method or "")
        if method is None:
            return method_not_allowed(methods)
        verdict = ratelimit.take(bucket, ratelimit.client_ip(request)) if dialects.current().rate_limited else None
        response = _answer(request, method, params, verdict)
        for name, value in verdict.headers().items() if verdict else ():
            if name not in response:
                response[name] = value
        return response

    return view


def _answer(request: HttpRequest, method: Method, params: dict[str, str], verdict: ratelimit.Verdict | None) -> HttpResponse:
    if verdict is not None and not verdict.allowed:
        return json_response(429, verdict.refusal())
    dialect = dialects.current()
    try:
        caller = key_holder(request.headers.get("x-access-token", ""))
        if caller is None:
            raise HandlerError(401, NOT_AUTHENTICATED)
        # 055becef reads a role's permissions into an unexported field that stays empty: only
        # an Owner passes a route that needs a permission, and every route here needs one.
        if caller.access_level != Member.AccessLevel.OWNER and method.permission:
            raise HandlerError(401, NOT_PERMITTED)
        return _fault(request) or method.handler(request, **params)
    except HandlerError as error:
        return json_response(error.status, None if error.text is None else dialect.error_body(error.text))
    except Panic:
        return json_response(500, {"message": "Internal Server Error"})


def _fault(request: HttpRequest) -> HttpResponse | None:
    fault, current = control.take_fault(request)
    if fault == "none":
        return None
    if fault == "wrong_shape":
        return json_response(200, control.WRONG_SHAPE)
    if not fault.startswith("status_"):
        return control.transport_fault(fault, current)
    status = int(fault.removeprefix("status_"))
    if status == 429 and dialects.current().rate_limited:
        reset = int(time.time()) + current["retry_after"]
        response = json_response(429, ratelimit.Verdict(False, 0, 0, reset).refusal())
        response["X-RateLimit-Remaining"], response["X-RateLimit-Reset"] = "0", str(reset)
        return response
    if status in (502, 503):  # a gateway's answer, whatever runs behind it
        response = json_response(status, {"message": control.MESSAGES[status]})
        if status == 503:
            response["Retry-After"] = str(current["retry_after"])
        return response
    return json_response(status, dialects.current().error_body(control.MESSAGES[status]))


def method_not_allowed(methods: dict[str, Method]) -> HttpResponse:
    response = json_response(405, {"message": "Method Not Allowed"})
    response["Allow"] = ", ".join(methods)
    return response


def not_found(request: HttpRequest, **params: str) -> HttpResponse:
    return json_response(404, {"message": "Not Found"})
