"""Sign-in throttling, per account and per client address, kept in Django's cache so every
dashboard process sharing the cache enforces the same limits.

After `SLOW_AFTER` failures, each further attempt must wait a delay that doubles per failure
(the request is refused, not held, so no worker sleeps); after `LOCK_AFTER`, attempts are
refused for `LOCK_SECONDS`. An address gets more room than an account, as offices share one."""

from __future__ import annotations

import hashlib
import logging
import time
import unicodedata
from dataclasses import dataclass

from django.core.cache import cache

from dashboard.observability import metrics

logger = logging.getLogger("dashboard.security")

LOCK_SECONDS = 15 * 60


@dataclass(frozen=True)
class Limit:
    kind: str
    slow_after: int
    lock_after: int


ACCOUNT = Limit("account", slow_after=5, lock_after=10)
ADDRESS = Limit("address", slow_after=20, lock_after=40)


def normalised(value: str) -> str:
    """The account a typed username names, as Django's sign-in reads it: NFKC (the form's
    UsernameField), so "ａgent@" (fullwidth a) is "agent@", then trimmed and case-folded, so
    no spelling of one account escapes its counter."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def _key(limit: Limit, value: str) -> str:
    digest = hashlib.sha256(normalised(value).encode()).hexdigest()[:32]
    return f"signin:{limit.kind}:{digest}"


def _wait(limit: Limit, value: str) -> int:
    record = cache.get(_key(limit, value))
    if not record:
        return 0
    failures, last = record
    if failures >= limit.lock_after:
        delay = LOCK_SECONDS
    elif failures >= limit.slow_after:
        delay = min(2 ** (failures - limit.slow_after + 1), 60)
    else:
        return 0
    return max(0, int(last + delay - time.time() + 0.999))


def seconds_to_wait(*, email: str, address: str) -> int:
    wait = max(_wait(ACCOUNT, email), _wait(ADDRESS, address))
    if wait:
        metrics.signin_refused.inc()
        logger.warning("sign-in refused by throttle for %s s (account %s, address %s)", wait, _mask(email), address)
    return wait


def record_failure(*, email: str, address: str) -> None:
    now = time.time()
    for limit, value in ((ACCOUNT, email), (ADDRESS, address)):
        key = _key(limit, value)
        failures, _ = cache.get(key) or (0, now)
        failures += 1
        cache.set(key, (failures, now), timeout=LOCK_SECONDS)
        if failures in (limit.slow_after, limit.lock_after):
            state = "locked" if failures == limit.lock_after else "slowed"
            metrics.signin_throttle_engaged.labels(limit=limit.kind, state=state).inc()
            logger.warning("sign-in %s: %d failures for %s %s", state, failures, limit.kind,
                           _mask(value) if limit is ACCOUNT else value)


def record_success(*, email: str) -> None:
    cache.delete(_key(ACCOUNT, email))


def _mask(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:2]}…@{domain}" if domain else "…"
