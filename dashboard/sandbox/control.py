"""Run-time knobs of the sandbox process: added latency, for tests and benchmarks.

The sandbox is one process with threads, so module state is shared by all its requests."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

_lock = threading.Lock()
_state: dict[str, Any] = {"latency_ms": None}


def state() -> dict[str, Any]:
    with _lock:
        latency = _state["latency_ms"]
    return {"latency_ms": settings.SANDBOX_LATENCY_MS if latency is None else latency}


def configure(values: dict[str, Any]) -> None:
    with _lock:
        if "latency_ms" in values:
            _state["latency_ms"] = max(0, int(values["latency_ms"]))


def before_request(request: Request) -> Response | None:
    latency = state()["latency_ms"]
    if latency:
        time.sleep(latency / 1000)
    return None
