"""Run-time knobs of the sandbox process: added latency and a fault mode, for tests and
benchmarks.

The sandbox is one process with threads, so module state is shared by all its requests.
A fault can be limited to some methods, to paths containing a string, and to a number of
requests, after which the sandbox answers normally again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

FAULTS = (
    "none",
    "status_500",
    "status_502",
    "status_503",  # with Retry-After
    "status_429",  # with {"message", "remaining", "reset"}
    "status_401",
    "status_404",
    "not_json",
    "wrong_shape",
    "slow_body",  # headers at once, then the body trickles for `fault_seconds`
    "hang",  # answers nothing for `fault_seconds` (a read timeout for the client)
)

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _defaults() -> dict[str, Any]:
    return {
        "latency_ms": settings.SANDBOX_LATENCY_MS,
        "fault": "none",
        "fault_methods": [],
        "fault_path": "",
        "fault_times": None,
        "fault_seconds": 5.0,
        "retry_after": 30,
        "faulted": 0,
    }


def state() -> dict[str, Any]:
    with _lock:
        return {**_defaults(), **_state}


def configure(values: dict[str, Any]) -> None:
    with _lock:
        if values.get("reset"):
            _state.clear()
        if "latency_ms" in values:
            _state["latency_ms"] = max(0, int(values["latency_ms"]))
        if "fault" in values:
            if values["fault"] not in FAULTS:
                raise ValueError(f"unknown fault {values['fault']!r}; one of {', '.join(FAULTS)}")
            _state.update(fault=values["fault"], faulted=0)
            _state["fault_methods"] = [m.upper() for m in values.get("fault_methods", [])]
            _state["fault_path"] = str(values.get("fault_path", ""))
            _state["fault_times"] = values.get("fault_times")
            _state["fault_seconds"] = float(values.get("fault_seconds", 5.0))
            _state["retry_after"] = int(values.get("retry_after", 30))


def _take_fault(request: Request) -> tuple[str, dict[str, Any]]:
    with _lock:
        current = {**_defaults(), **_state}
        fault = current["fault"]
        if fault == "none":
            return "none", current
        if current["fault_methods"] and request.method not in current["fault_methods"]:
            return "none", current
        if current["fault_path"] and current["fault_path"] not in request.path:
            return "none", current
        if current["fault_times"] is not None:
            if current["faulted"] >= current["fault_times"]:
                return "none", current
        _state["faulted"] = current["faulted"] + 1
        return fault, current


def before_request(request: Request) -> HttpResponse | Response | None:
    """None to answer normally; otherwise the faulty answer to send instead."""
    fault, current = _take_fault(request)
    if current["latency_ms"]:
        time.sleep(current["latency_ms"] / 1000)
    if fault == "none":
        return None
    seconds = current["fault_seconds"]
    if fault.startswith("status_"):
        status = int(fault.removeprefix("status_"))
        body: dict[str, Any] = {"message": _MESSAGES[status]}
        response = Response(body, status=status)
        if status == 429:
            body.update(remaining=0, reset=current["retry_after"])
        if status == 503:
            response["Retry-After"] = str(current["retry_after"])
        return response
    if fault == "not_json":
        return HttpResponse("<html><body><h1>Bad gateway</h1></body></html>", content_type="text/html")
    if fault == "wrong_shape":
        return Response({"conversations": "not a list", "conversation": {"status": 42}, "members": None})
    if fault == "hang":
        time.sleep(seconds)
        return None
    if fault == "slow_body":
        return StreamingHttpResponse(_trickle(seconds), content_type="application/json")
    raise AssertionError(fault)


def _trickle(seconds: float) -> Iterator[bytes]:
    for _ in range(10):
        yield b" "
        time.sleep(seconds / 10)
    yield b'{"message": "too slow"}'


_MESSAGES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    429: "Too many requests",
    401: "Unauthorized access",
    404: "Not found",
}
