"""The team's WapiKit request budget, per route bucket, in Django's cache (Redis in production),
so every dashboard process spends from the one budget WapiKit counts for the dashboard's address.

WapiKit states each bucket's budget on every answer (X-RateLimit-Limit, -Remaining, -Reset).
`record` keeps the latest; `check`, before each request, refuses to send while a bucket is held
off (after a 429, or once WapiKit said 0 remain) and, for background reads (`background()`),
while the budget is below the reserve kept for what users open and do. Each request it lets
through takes one from the shared count at once, so concurrent readers do not all pass at the
same remaining; the next answer's header corrects the count. A bucket whose headers were never
seen is never limited, and once its reset time passes it no longer limits either."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from . import errors

# How long a bucket's last-read state is kept for the status page, well past any window.
STATE_SECONDS = 86400
# A 429 that says nothing of when the budget returns holds the bucket off this long.
DEFAULT_HOLD_SECONDS = 60
# A reset above this is a Unix time; below, seconds to wait (WapiKit has sent both).
_UNIX_TIME_FLOOR = 1_000_000_000
# Seconds after the stated reset before the window is taken to have ended. WapiKit's server
# states it in whole seconds, cut down from the moment the request was counted, so its window
# ends up to a second later; and a request inside the window prolongs it a whole window more
# (its counter lives until a window passes without one). A background read sent at the stated
# second kept make bench-day's messages route below the reserve for three simulated hours.
RESET_SLACK_SECONDS = 2

ROUTE_NAMES = {
    "/conversations": "listing conversations",
    "/conversation/:id": "reading and changing conversations",
    "/conversation/:id/assign": "assigning conversations",
    "/conversation/:id/unassign": "unassigning conversations",
    "/conversation/:id/messages": "reading messages",
    "/organization/members": "reading members",
    "/campaigns": "reading campaigns",
}

_background: contextvars.ContextVar[bool] = contextvars.ContextVar("wapikit_budget_background", default=False)


class HasBaseUrl(Protocol):
    base_url: str


@dataclass(frozen=True, slots=True)
class BucketState:
    """One bucket's budget as the dashboard knows it now."""

    bucket: str
    limit: int | None  # None when a 429 came without rate-limit headers
    remaining: int | None  # None when WapiKit stated a limit without a remaining count
    reset_at: float | None  # Unix seconds; None once the window it ended has passed
    held_off_until: float | None  # Unix seconds; None when requests may go
    seen_at: float  # when WapiKit last stated it

    @property
    def what(self) -> str:
        return route_name(self.bucket)

    @property
    def reserve(self) -> int:
        """Requests kept for what users ask for: below this, background reads stop."""
        return math.ceil(settings.WAPIKIT_BUDGET_RESERVE * self.limit) if self.limit is not None else 0

    @property
    def held_off(self) -> bool:
        return self.held_off_until is not None

    # As datetimes, for templates.

    @property
    def resets(self) -> datetime | None:
        return _datetime(self.reset_at)

    @property
    def held_off_till(self) -> datetime | None:
        return _datetime(self.held_off_until)

    @property
    def seen(self) -> datetime:
        return datetime.fromtimestamp(self.seen_at, tz=UTC)


def route_name(bucket: str) -> str:
    """The bucket in words, for a sentence: "listing conversations"."""
    return ROUTE_NAMES.get(bucket, bucket)


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Requests sent inside are background reads: refused below the reserve. A context
    variable, so worker threads started through `ContextPool` inherit it."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def in_background() -> bool:
    return _background.get()


# What the client calls


def record(client: HasBaseUrl, bucket: str, *, limit: int, remaining: int | None, reset: int | None) -> None:
    """One answer's rate-limit headers."""
    now = time.time()
    keys = _Keys(client, bucket)
    reset_at = _absolute(reset, now) if reset is not None else None
    values: dict[str, object] = {keys.state: (limit, reset_at, now)}
    if remaining is not None:
        values[keys.remaining] = remaining
    cache.set_many(values, STATE_SECONDS)
    if remaining is None:
        cache.delete(keys.remaining)
    elif remaining <= 0:
        hold_off(client, bucket, until=_ended(reset_at))
    _register(keys, bucket)


def hold_off(client: HasBaseUrl, bucket: str, *, until: float | None) -> None:
    """Send nothing to the bucket until `until` (Unix seconds; None: a short default)."""
    now = time.time()
    if until is None or until <= now:
        until = now + DEFAULT_HOLD_SECONDS
    keys = _Keys(client, bucket)
    cache.set(keys.hold, until, math.ceil(until - now) + 1)
    _register(keys, bucket)


def check(client: HasBaseUrl, bucket: str) -> bool:
    """Raise `BudgetExhausted` when nothing may be sent to the bucket, `BudgetReserved` when a
    background read would dig into the reserve. True when one request was taken from the shared
    count (hand it back with `give_back` if the request never reached WapiKit)."""
    keys = _Keys(client, bucket)
    found = cache.get_many([keys.state, keys.remaining, keys.hold])
    now = time.time()
    hold = found.get(keys.hold)
    if hold is not None and now < hold:
        raise errors.BudgetExhausted(bucket=bucket, what=route_name(bucket), reset_at=hold)
    stated = found.get(keys.state)
    if stated is None or keys.remaining not in found:
        return False
    limit, reset_at, _ = stated
    reset_at = _ended(reset_at)
    if reset_at is not None and now >= reset_at:
        return False
    try:
        left = cache.decr(keys.remaining)
    except ValueError:  # expired since it was read
        return False
    if left < 0:
        cache.incr(keys.remaining)
        raise errors.BudgetExhausted(
            bucket=bucket, what=route_name(bucket), reset_at=reset_at or now + DEFAULT_HOLD_SECONDS
        )
    remaining = left + 1
    if _background.get() and remaining < settings.WAPIKIT_BUDGET_RESERVE * limit:
        cache.incr(keys.remaining)
        raise errors.BudgetReserved(
            bucket=bucket,
            what=route_name(bucket),
            reset_at=reset_at or now + DEFAULT_HOLD_SECONDS,
            remaining=remaining,
            reserve=math.ceil(settings.WAPIKIT_BUDGET_RESERVE * limit),
        )
    return True


def give_back(client: HasBaseUrl, bucket: str) -> None:
    """Return the request `check` took: it never reached WapiKit (no connection, open circuit)."""
    with contextlib.suppress(ValueError):
        cache.incr(_Keys(client, bucket).remaining)


# What the status page, the metrics and the bulk pre-flight read


def state(client: HasBaseUrl, bucket: str) -> BucketState | None:
    """The bucket's budget now, or None when WapiKit never stated one (never limited)."""
    keys = _Keys(client, bucket)
    found = cache.get_many([keys.state, keys.remaining, keys.hold])
    return _state_of(bucket, found, keys, now=time.time())


def snapshot(client: HasBaseUrl) -> list[BucketState]:
    """Every bucket WapiKit stated a budget for, by route."""
    registry = cache.get(_Keys(client, "").registry) or []
    all_keys = {bucket: _Keys(client, bucket) for bucket in registry}
    found = cache.get_many([key for keys in all_keys.values() for key in (keys.state, keys.remaining, keys.hold)])
    now = time.time()
    states = (_state_of(bucket, found, keys, now=now) for bucket, keys in all_keys.items())
    return [s for s in states if s is not None]


def available(client: HasBaseUrl, bucket: str) -> int | None:
    """Requests that may still go to the bucket before its reset; None when it is not limited."""
    current = state(client, bucket)
    if current is None:
        return None
    if current.held_off:
        return 0
    return current.remaining


def _state_of(bucket: str, found: dict, keys: _Keys, *, now: float) -> BucketState | None:
    stated = found.get(keys.state)
    hold = found.get(keys.hold)
    held_off_until = hold if hold is not None and now < hold else None
    if stated is None:
        if held_off_until is None:
            return None
        # A 429 without rate-limit headers: held off, the limit unknown.
        return BucketState(bucket, None, 0, held_off_until, held_off_until, now)
    limit, reset_at, seen_at = stated
    remaining = found.get(keys.remaining)
    if reset_at is not None and now >= _ended(reset_at):
        # WapiKit's window has ended: the budget is whole again.
        remaining, reset_at = limit, None
    elif remaining is not None:
        remaining = max(remaining, 0)
    return BucketState(bucket, limit, remaining, reset_at, held_off_until, seen_at)


def _register(keys: _Keys, bucket: str) -> None:
    # Read again on every answer, so a bucket lost to two processes registering at once returns.
    buckets = cache.get(keys.registry) or []
    if bucket not in buckets:
        cache.set(keys.registry, sorted({*buckets, bucket}), STATE_SECONDS)


def _datetime(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp is not None else None


def _ended(reset_at: float | None) -> float | None:
    """When the window WapiKit says resets at `reset_at` has surely ended."""
    return reset_at + RESET_SLACK_SECONDS if reset_at is not None else None


def _absolute(reset: int, now: float) -> float:
    return float(reset) if reset > _UNIX_TIME_FLOOR else now + reset


def keys_of(client: HasBaseUrl, bucket: str) -> _Keys:
    return _Keys(client, bucket)


class _Keys:
    def __init__(self, client: HasBaseUrl, bucket: str) -> None:
        digest = hashlib.blake2b(client.base_url.encode(), digest_size=8).hexdigest()
        prefix = f"wapikit:budget:v1:{digest}:"
        self.registry = prefix + "buckets"
        self.state = f"{prefix}state:{bucket}"
        self.remaining = f"{prefix}remaining:{bucket}"
        self.hold = f"{prefix}hold:{bucket}"
        self.share = f"{prefix}share:{bucket}"


# The one gate before a send of many requests (a bulk action, an API call): what each route would
# have left, against a reserve. The web's bulk keeps WAPIKIT_BUDGET_RESERVE for what users open
# and do; the API keeps WAPIKIT_API_BUDGET_RESERVE for the web dashboard.


@dataclass(frozen=True, slots=True)
class Need:
    """One route's share of what a send may cost, against what remains of the team's budget there."""

    bucket: str
    needed: int  # at most
    remaining: int
    reserve: int
    limit: int | None  # None after a 429 that stated no limit
    returns_at: float | None  # Unix seconds: the reset, or the end of a hold-off

    @property
    def more_than_remains(self) -> bool:
        return self.needed > self.remaining

    @property
    def crosses_reserve(self) -> bool:
        return self.remaining - self.needed < self.reserve

    @property
    def until(self) -> str:
        """" until 16:20" (the team's time), or "" when WapiKit did not say."""
        if self.returns_at is None:
            return ""
        return f" until {timezone.localtime(datetime.fromtimestamp(self.returns_at, tz=UTC)):%H:%M}"

    @property
    def refusal(self) -> str:
        return (
            f"This needs up to {self.needed} requests of WapiKit's budget for {route_name(self.bucket)}, "
            f"but only {self.remaining} remain{self.until}. Nothing was sent: select fewer conversations, "
            "or wait until the budget returns."
        )

    @property
    def warning(self) -> str:
        return (
            f"This needs up to {self.needed} requests of WapiKit's budget for {route_name(self.bucket)}; "
            f"{self.remaining} remain{self.until}, and {self.reserve} are kept in reserve for what the team "
            "opens and does meanwhile."
        )


def weigh(client: HasBaseUrl, needs: dict[str, int], *, reserve_share: float) -> list[Need]:
    """What each route in `needs` (bucket: most requests) would cost of its budget, keeping
    `reserve_share` of its limit in reserve. Routes WapiKit never stated a budget for, and
    those that cost nothing (answered from the cache), are left out."""
    weighed = []
    for bucket, needed in needs.items():
        current = state(client, bucket)
        remaining = available(client, bucket)
        if needed <= 0 or current is None or remaining is None:
            continue
        reserve = math.ceil(reserve_share * current.limit) if current.limit is not None else 0
        returns_at = current.held_off_until or current.reset_at
        weighed.append(Need(bucket, needed, remaining, reserve, current.limit, returns_at))
    return weighed
