"""WapiKit's rate limiter (its `api/controllers/base_controller.go`), for the "server" profile.

Counted per client IP and route pattern, before authentication: a request with a bad key spends
the budget too. WapiKit keeps the counters in Redis; the sandbox is one process, so memory does.
Every counted request pushes the window's end to now + window (WapiKit sets the key's expiry on
each increment), so a busy client waits for a quiet window, not a fixed one. A refused request
neither counts nor moves the window."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    requests: int
    window_seconds: int


HOUR = 3600
DEFAULT_LIMITS: dict[str, Limit] = {
    "conversations": Limit(600, HOUR),  # GET /conversations
    "conversation": Limit(600, HOUR),  # GET, POST and DELETE /conversation/:id share it
    "assign": Limit(600, HOUR),
    "unassign": Limit(600, HOUR),
    "messages": Limit(600, HOUR),
    "members": Limit(60, 60),
    # Not in REAL-SERVER.md: the limit most of WapiKit's routes have.
    "campaigns": Limit(600, HOUR),
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # Unix seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }

    def refusal(self) -> dict:
        return {"error": "Rate limit exceeded", "remaining": self.remaining, "reset": self.reset}


_lock = threading.Lock()
_custom: dict[str, Limit] = {}
# (client IP, bucket) -> [requests counted, Unix time the window ends]
_counters: dict[tuple[str, str], list[float]] = {}


def limit_of(bucket: str) -> Limit:
    return _custom.get(bucket, DEFAULT_LIMITS[bucket])


def take(bucket: str, client_ip: str) -> Verdict:
    """Count one request, or refuse it when the budget is spent."""
    now = time.time()
    with _lock:
        limit = limit_of(bucket)
        counter = _counters.get((client_ip, bucket))
        if counter is None or counter[1] <= now:
            counter = _counters[(client_ip, bucket)] = [0, now]
        if counter[0] >= limit.requests:
            return Verdict(False, limit.requests, int(limit.requests - counter[0]), int(now) + round(counter[1] - now))
        counter[0] += 1
        counter[1] = now + limit.window_seconds
        return Verdict(True, limit.requests, int(limit.requests - counter[0]), int(now) + limit.window_seconds)


def configure(limits: dict[str, object]) -> None:
    """Change some buckets' limits: `{"members": 3}` or `{"members": {"limit": 3, "window_seconds": 60}}`.
    A changed bucket starts a fresh window for every client."""
    parsed = {bucket: _parse_limit(bucket, value) for bucket, value in limits.items()}
    with _lock:
        _custom.update(parsed)
        for key in [key for key in _counters if key[1] in parsed]:
            del _counters[key]


def reset() -> None:
    with _lock:
        _custom.clear()
        _counters.clear()


def state() -> dict[str, dict[str, int]]:
    with _lock:
        return {
            bucket: {"limit": limit_of(bucket).requests, "window_seconds": limit_of(bucket).window_seconds}
            for bucket in DEFAULT_LIMITS
        }


def _parse_limit(bucket: str, value: object) -> Limit:
    if bucket not in DEFAULT_LIMITS:
        raise ValueError(f"unknown rate limit bucket {bucket!r}; one of {', '.join(DEFAULT_LIMITS)}")
    default = DEFAULT_LIMITS[bucket]
    if isinstance(value, dict):
        requests = int(value.get("limit", default.requests))
        window = int(value.get("window_seconds", default.window_seconds))
    else:
        requests, window = int(value), default.window_seconds  # type: ignore[call-overload]
    if requests < 0 or window < 1:
        raise ValueError("a rate limit needs limit >= 0 and window_seconds >= 1")
    return Limit(requests, window)


def client_ip(request: HttpRequest) -> str:
    """The address echo's `RealIP()` reports: X-Forwarded-For's first entry, then X-Real-Ip,
    then the peer. A client can pick its own bucket by sending the header, as with WapiKit."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.headers.get("X-Real-Ip") or request.META.get("REMOTE_ADDR", "")
