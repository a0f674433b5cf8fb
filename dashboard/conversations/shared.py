"""The mechanism under the shared reads: answers kept in Django's cache (Redis when `REDIS_URL`
is set) for a short lifetime per kind, so that any number of users asking for the same thing
within it cost WapiKit one call. WapiKit counts requests per client address, and the whole team
shares the dashboard's one address.

Single flight: while one request (in any process sharing the cache) fetches a key, the others
wait for its answer, bounded by the client's own timeouts, instead of fetching too.

When WapiKit's budget is used up (a 429, or the dashboard holding off until the reset), or WapiKit
cannot be reached (no connection, a timeout, a gateway's 502-504, the circuit open), a read answers
with the last copy it had, however old, and the request notes it (`ages`), so that every page says
what it shows and since when. The copies are those of the shared reads, which every user's view
checks its own permissions against, as it does a fresh answer."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from django.conf import settings
from django.core.cache import cache

from dashboard.observability import metrics
from dashboard.wapikit import errors, get_client

T = TypeVar("T")

# One deployment talks to one WapiKit: keys do not name it.
PREFIX = "reads:v1"
_HITS, _MISSES = f"{PREFIX}:hits", f"{PREFIX}:misses"
_WAIT_STEP = 0.02


# What this request read, and how old it was: pages say so.


@dataclass
class Ages:
    oldest: float | None = None  # Unix time of the oldest answer a page was drawn from
    stale: list[str] = field(default_factory=list)  # why older copies had to stand in
    unreachable_since: float | None = None  # Unix time WapiKit began failing, when copies stood in for it

    def note(self, fetched_at: float) -> None:
        if self.oldest is None or fetched_at < self.oldest:
            self.oldest = fetched_at

    @property
    def read_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.oldest, tz=UTC) if self.oldest is not None else None

    @property
    def unreachable_at(self) -> datetime | None:
        since = self.unreachable_since
        return datetime.fromtimestamp(since, tz=UTC) if since is not None else None

    @property
    def seconds_old(self) -> int | None:
        return int(time.time() - self.oldest) if self.oldest is not None else None


_ages: contextvars.ContextVar[Ages | None] = contextvars.ContextVar("read_ages", default=None)


def ages() -> Ages:
    """This request's ages (a fresh, unshared record outside a request)."""
    return _ages.get() or Ages()


@contextlib.contextmanager
def own_ages() -> Iterator[None]:
    """Reads whose age is not the page's (the campaign filter's names): a page does not say its
    conversations are five minutes old because the campaign names are."""
    token = _ages.set(Ages())
    try:
        yield
    finally:
        _ages.reset(token)


def read_ages(request) -> dict[str, Ages]:
    """Context processor: how old the page's data is, and why, if older than its lifetime."""
    return {"read_ages": ages()}


class ReadAgesMiddleware:
    """Each request starts with no reads. Set before the views run, so worker threads (which
    copy the context) add to the same record."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _ages.set(Ages())
        try:
            return self.get_response(request)
        finally:
            _ages.reset(token)


class _Entry(msgspec.Struct, array_like=True):
    fetched_at: float
    value: msgspec.Raw


def shared(key: str, *, lifetime: int, fetch: Callable[[], T], type: Any, metric: str = "reads") -> T:
    """The cached answer under `key` if younger than `lifetime`, else one fetch for everyone."""
    ages_ = ages()
    if lifetime <= 0:
        value = fetch()
        ages_.note(time.time())
        return value
    cached = load(key, type)
    _count(metric, hit=cached is not None)
    if cached is not None:
        ages_.note(cached[0])
        return cached[1]
    lock = f"{key}:lock"
    # Waiting is bounded by how long the fetch itself may take.
    wait = sum(get_client().timeout) + 1
    deadline = time.monotonic() + wait
    while True:
        if cache.add(lock, 1, timeout=int(wait) + 1):
            try:
                return fetch_and_keep(key, lifetime=lifetime, fetch=fetch, type=type)
            finally:
                cache.delete(lock)
        time.sleep(_WAIT_STEP)
        cached = load(key, type)
        if cached is not None:
            ages_.note(cached[0])
            return cached[1]
        if time.monotonic() > deadline:
            # The fetch under way has outlived its own timeouts: its process is gone.
            return fetch_and_keep(key, lifetime=lifetime, fetch=fetch, type=type)


def fetch_and_keep(key: str, *, lifetime: int, fetch: Callable[[], T], type: Any) -> T:
    try:
        value = fetch()
    except errors.RateLimited as exc:
        stale = load(stale_key(key), type)
        if stale is None:
            raise
        ages().stale.append(exc.user_message)
        ages().note(stale[0])
        return stale[1]
    except (errors.Unreachable, errors.TimedOut, errors.ServerError) as exc:
        stale = load(stale_key(key), type) if _outage(exc) else None
        if stale is None:
            raise
        ages().unreachable_since = _down_since()
        ages().note(stale[0])
        return stale[1]
    store(key, value, lifetime=lifetime)
    ages().note(time.time())
    return value


def down_since(exc: errors.WapiKitError) -> datetime | None:
    """When WapiKit began failing, if `exc` says it cannot be reached (no connection, a timeout,
    a gateway's 502-504, the circuit open) rather than refusing this one request; else None."""
    if not isinstance(exc, (errors.Unreachable, errors.TimedOut, errors.ServerError)) or not _outage(exc):
        return None
    return datetime.fromtimestamp(_down_since(), tz=UTC)


def _outage(exc: errors.WapiKitError) -> bool:
    """WapiKit is down rather than refusing this one request: a 500 may be about what was asked."""
    return not isinstance(exc, errors.ServerError) or exc.status in (502, 503, 504)


def _down_since() -> float:
    breaker = get_client().breaker
    return (breaker.down_since if breaker is not None else None) or time.time()


def store(key: str, value: Any, *, lifetime: int, fetched_at: float | None = None) -> None:
    entry = msgspec.msgpack.encode(_Entry(fetched_at or time.time(), msgspec.Raw(msgspec.msgpack.encode(value))))
    cache.set_many({key: entry}, timeout=lifetime)
    cache.set(stale_key(key), entry, timeout=settings.WAPIKIT_STALE_COPY_SECONDS)


def load(key: str, type: Any) -> tuple[float, Any] | None:
    raw = cache.get(key)
    if raw is None:
        return None
    try:
        entry = msgspec.msgpack.decode(raw, type=_Entry)
        return entry.fetched_at, msgspec.msgpack.decode(entry.value, type=type)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Written by another version of the dashboard: read WapiKit instead.
        return None


def _count(metric: str, *, hit: bool) -> None:
    metrics.cache_lookup(metric, hit=hit)
    counter = _HITS if hit else _MISSES
    # One round trip once the counter exists (every lookup but the first).
    try:
        cache.incr(counter)
    except ValueError:
        if not cache.add(counter, 1, timeout=None):
            cache.incr(counter)


def hit_ratio() -> float | None:
    """Hits over lookups of the shared reads, across every process sharing the cache."""
    found = cache.get_many([_HITS, _MISSES])
    hits, misses = found.get(_HITS, 0), found.get(_MISSES, 0)
    return hits / (hits + misses) if hits + misses else None


def cache_key(kind: str, *parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"{PREFIX}:{kind}:{digest}"


def stale_key(key: str) -> str:
    return f"{key}:last"
