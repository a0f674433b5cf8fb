"""How the WapiKit client talks HTTP: one `requests.Session` per client (a pooled adapter, the
auth header set once), and every call sent through `_request`, which spends the team's budget,
passes the circuit breaker, applies timeouts, retries safe calls, and turns every failure into
one of the exceptions in `errors` (hcloud-python's pattern). The routes are in `client`."""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import msgspec
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from dashboard.observability.context import current_request_id

from . import budget, errors
from .capabilities import Capabilities

logger = logging.getLogger("dashboard.wapikit.client")

T = TypeVar("T")

_RETRY_STATUSES = frozenset({502, 503, 504})


class CircuitBreakerLike(Protocol):
    def before_request(self) -> None: ...
    def record_success(self) -> None: ...
    def record_failure(self) -> None: ...
    @property
    def down_since(self) -> float | None: ...


class UpstreamCall(msgspec.Struct, frozen=True):
    """One attempt at one request, as its observers see it."""

    method: str
    path: str
    status: int | None  # None when no answer came: a timeout or no connection
    seconds: float
    failure: str = ""  # "timeout" or "unreachable" when status is None

    @property
    def route(self) -> str:
        return route_of(self.path)

    @property
    def outcome(self) -> str:
        return str(self.status) if self.status is not None else self.failure


# Observers of every attempt: metrics and logs (dashboard/observability), and the tests and the
# benchmark that count upstream calls.
request_listeners: list[Callable[[UpstreamCall], None]] = []


def parse_timeout(value: str | float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(value, tuple):
        return value
    parts = [float(p) for p in str(value).split(",") if p.strip()]
    if len(parts) == 1:
        return (parts[0], parts[0])
    if len(parts) == 2:
        return (parts[0], parts[1])
    raise ValueError(f"timeout must be 'seconds' or 'connect,read', got {value!r}")


class Transport:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        auth_header: str = "x-access-token",
        timeout: str | float | tuple[float, float] = (3.0, 10.0),
        get_retries: int = 2,
        max_retry_wait: float = 2.0,
        backoff: float = 0.2,
        pool_size: int = 32,
        breaker: CircuitBreakerLike | None = None,
        capability_lifetime: int = 86400,
    ) -> None:
        self.breaker = breaker
        self.base_url = base_url.rstrip("/")
        # The events stream takes the key as a query parameter, not a header (events.py).
        self.api_key = api_key
        self.capabilities = Capabilities(self.base_url, lifetime=capability_lifetime)
        # The last rate-limit headers seen per route, for the doctor and the status page.
        self.rate_limits: dict[str, RateLimit] = {}
        self.timeout = parse_timeout(timeout)
        self.get_retries = get_retries
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {auth_header: api_key, "Accept": "application/json", "User-Agent": "wapikit-dashboard/1"}
        )

    def _request(self, method: str, path: str, shape: type[T], **kwargs: Any) -> T:
        # The budget before the breaker: a request the budget refuses is no sign of WapiKit's health.
        bucket = route_of(path)
        taken = budget.check(self, bucket)
        try:
            return self._through_breaker(method, path, shape, **kwargs)
        except errors.RateLimited as exc:
            budget.hold_off(self, bucket, until=exc.reset_at)
            raise
        except (errors.Unreachable, errors.TimedOut):
            # Probably never counted by WapiKit; if it was, the next answer's header says so.
            if taken:
                budget.give_back(self, bucket)
            raise

    def _through_breaker(
        self, method: str, path: str, shape: type[T], *, server_errors_count: bool = True, **kwargs: Any
    ) -> T:
        """`server_errors_count=False` for a route whose 5xx answers what the user asked for
        rather than saying that WapiKit is down: such an answer never opens the circuit."""
        if self.breaker is None:
            return self._send(method, path, shape, **kwargs)
        self.breaker.before_request()
        try:
            answer = self._send(method, path, shape, **kwargs)
        except errors.ServerError:
            if server_errors_count:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            raise
        except (errors.Unreachable, errors.TimedOut):
            self.breaker.record_failure()
            raise
        except errors.WapiKitError:
            # WapiKit answered (4xx, or a body we could not read): it is up.
            self.breaker.record_success()
            raise
        self.breaker.record_success()
        return answer

    def _send(self, method: str, path: str, shape: type[T], *, retry: bool = True, **kwargs: Any) -> T:
        url = self.base_url + path
        attempts = 1 + (self.get_retries if method == "GET" and retry else 0)
        if request_id := current_request_id.get():
            kwargs["headers"] = {**kwargs.get("headers", {}), "X-Request-ID": request_id}
        # A loop of our own, not urllib3's `Retry` on the adapter: Retry can say GET only, connect
        # errors and 502/503/504 and no read retries, but it repeats inside the adapter, so the
        # attempts before the last reach neither `request_listeners` (metrics and tests count each
        # one) nor the budget (their rate-limit headers); it also sleeps any Retry-After instead of
        # answering at once past WAPIKIT_MAX_RETRY_WAIT, waits 0 before its first retry, and
        # cannot be turned off per call (`retry=False`) without a second adapter.
        for attempt in range(attempts):
            last = attempt == attempts - 1
            started = time.perf_counter()
            try:
                # No redirects: requests would carry the key header to whatever host one names.
                response = self.session.request(
                    method, url, timeout=self.timeout, allow_redirects=False, **kwargs
                )
            except requests.ConnectTimeout as exc:
                self._notify(method, path, None, started, "timeout")
                if last:
                    raise errors.TimedOut("connect timeout") from exc
                self._sleep(None, attempt)
                continue
            except requests.ReadTimeout as exc:
                # The request may have reached WapiKit; never repeated, even for a GET, because
                # a slow upstream only gets slower when asked twice.
                self._notify(method, path, None, started, "timeout")
                raise errors.TimedOut("read timeout") from exc
            except requests.ConnectionError as exc:
                if any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
                    # A body that stalls past the read timeout: a timeout, never retried.
                    self._notify(method, path, None, started, "timeout")
                    raise errors.TimedOut("read timeout while reading the body") from exc
                self._notify(method, path, None, started, "unreachable")
                if last:
                    raise errors.Unreachable(type(exc).__name__) from exc
                self._sleep(None, attempt)
                continue
            except requests.RequestException as exc:
                self._notify(method, path, None, started, "unreachable")
                raise errors.Unreachable(type(exc).__name__) from exc

            self._notify(method, path, response.status_code, started)
            self._note_rate_limit(path, response)
            if response.status_code in _RETRY_STATUSES and not last:
                retry_after = _retry_after(response)
                if retry_after is None or retry_after <= self.max_retry_wait:
                    self._sleep(retry_after, attempt)
                    continue
            return self._decode(response, shape)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _sleep(self, retry_after: float | None, attempt: int) -> None:
        time.sleep(retry_after if retry_after is not None else self.backoff * (2**attempt))

    def _note_rate_limit(self, path: str, response: requests.Response) -> None:
        limit = _int_header(response, "X-RateLimit-Limit")
        if limit is None:
            return
        stated = RateLimit(
            limit=limit,
            remaining=_int_header(response, "X-RateLimit-Remaining"),
            reset=_int_header(response, "X-RateLimit-Reset"),
            seen_at=time.time(),
        )
        self.rate_limits[route_of(path)] = stated
        budget.record(self, route_of(path), limit=stated.limit, remaining=stated.remaining, reset=stated.reset)

    @staticmethod
    def _notify(method: str, path: str, status: int | None, started: float, failure: str = "") -> None:
        call = UpstreamCall(method, path, status, time.perf_counter() - started, failure)
        for listener in request_listeners:
            listener(call)

    def _decode(self, response: requests.Response, shape: type[T]) -> T:
        status = response.status_code
        if 200 <= status < 300:
            content = response.content
            if not content.strip():
                # The server's status update answers 200 with nothing at all.
                content = b"null"
            try:
                return msgspec.json.decode(content, type=shape)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                logger.warning("WapiKit answered %s with a body the dashboard could not read: %s", status, exc)
                raise errors.BadResponse(str(exc), status=status) from exc
        body = _error_body(response)
        message = body.message
        if status == 400:
            raise errors.Rejected(message, status=status)
        if status in (401, 403):
            raise errors.Unauthorized.for_answer(message, status=status)
        if status == 404:
            raise errors.NotFound(message, status=status)
        if status == 429:
            retry_after = _retry_after(response)
            reset = body.reset if body.reset is not None else _int_header(response, "X-RateLimit-Reset")
            if retry_after is None and reset is not None:
                retry_after = _reset_to_seconds(reset)
            # When the budget returns, for the hold-off: the stated reset, else the wait asked for.
            reset_at = time.time() + retry_after if retry_after is not None else None
            if reset is not None:
                reset_at = time.time() + _reset_to_seconds(reset)
            raise errors.RateLimited(message, status=status, retry_after=retry_after, reset_at=reset_at)
        if status >= 500:
            raise errors.ServerError(message, status=status, retry_after=_retry_after(response))
        raise errors.BadResponse(f"unexpected status {status}", status=status)




class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    """One route's budget as WapiKit last stated it."""

    limit: int
    remaining: int | None
    reset: int | None  # Unix seconds
    seen_at: float


def route_of(path: str) -> str:
    """The route pattern WapiKit counts a request under: ids replaced by `:id`."""
    parts = path.split("/")
    return "/".join(":id" if _is_uuid(part) else part for part in parts)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class ErrorBody(msgspec.Struct, frozen=True):
    message: str = ""
    remaining: int | None = None
    reset: int | None = None


def _error_body(response: requests.Response) -> ErrorBody:
    """WapiKit's words, in any of the shapes it uses: a bare JSON string (most handlers),
    `{"message": ...}` (the spec, the router, the older server) or `{"error": ...}` (429)."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return ErrorBody()
    if isinstance(body, str):
        return ErrorBody(body)
    if not isinstance(body, dict):
        return ErrorBody()
    text = body.get("message") or body.get("error") or ""
    return ErrorBody(
        text if isinstance(text, str) else "",
        _int_or_none(body.get("remaining")),
        _int_or_none(body.get("reset")),
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _retry_after(response: requests.Response) -> int | None:
    return _int_header(response, "Retry-After")


def _reset_to_seconds(reset: int) -> int:
    # WapiKit's `reset` is either seconds to wait or a Unix time; a value past 2001 is the latter.
    if reset > 1_000_000_000:
        # Rounded up: "in 29 seconds" for a reset 29.4 s away would send users back too soon.
        return max(math.ceil(reset - time.time()), 1)
    return max(reset, 1)
