"""The share of a bucket's budget that background work may spend (the timeline's reads: a setting,
WAPIKIT_BACKGROUND_READ_SHARE), counted over a sliding window in Django's cache, so that no span
of one window, wherever it starts, holds more than the share.

WapiKit's window slides: each request moves its reset a whole window on. A count that started
afresh at each stated reset would let two windows' shares fall within one span of a window (make
bench-day counted 191 reads in an hour against a share of 150). So the window is cut into
slots and a request goes only while the slots that overlap the last window hold less than the
share: strict, at the cost of waiting up to one slot longer than needed."""

from __future__ import annotations

import contextlib
import math
import time

from django.core.cache import cache

from .budget import HasBaseUrl, keys_of, state

# Slots a window is cut into: the count is strict, and a request waits at most a slot too long.
SLOTS = 60


def take(client: HasBaseUrl, bucket: str, *, share: float, now: float | None = None) -> float | None:
    """Count one request of work that may spend only `share` of the bucket's limit in any span
    of its window, at `now` (this moment unless given). None when it may go (it is counted);
    else the Unix time it may (the oldest counted request leaves the window, or a hold-off
    ends), and nothing is counted. A bucket WapiKit never stated a budget for is not limited (its
    first answer states it), but what it let go is counted from then on."""
    current = state(client, bucket)
    now = time.time() if now is None else now
    if current is not None and current.held_off:
        return current.held_off_until
    unstated = f"{keys_of(client, bucket).share}:unstated"
    # A reset that has passed says nothing of the window: the one remembered still counts.
    window = None
    if current is not None and current.limit is not None:
        window = _window(client, bucket, stated=current.reset_at - current.seen_at if current.reset_at else 0)
    if current is None or current.limit is None or window is None:
        # Counted once the budget is known, as if made then.
        cache.add(unstated, 0, 86400)
        try:
            cache.incr(unstated)
        except ValueError:  # taken, between add and incr, by a process that learned the budget
            cache.add(unstated, 1, 86400)
        return None
    allowed = math.floor(share * current.limit)
    prefix, slot = _slots(client, bucket, window)
    newest = int(now // slot)
    # The slots a window ending now overlaps: the current one and SLOTS before it.
    indices = range(newest - SLOTS, newest + 1)
    key = f"{prefix}{newest}"
    taken = 1 + (cache.get(unstated) or 0)
    cache.delete(unstated)
    cache.add(key, 0, slot * (SLOTS + 2))
    try:
        cache.incr(key, taken)
    except ValueError:  # expired between add and incr
        cache.add(key, taken, slot * (SLOTS + 2))
    counts = cache.get_many([f"{prefix}{index}" for index in indices])
    if sum(counts.values()) <= allowed:
        return None
    cache.decr(key)
    oldest = min((index for index in indices if counts.get(f"{prefix}{index}")), default=newest)
    return float((oldest + SLOTS + 1) * slot)


def give_back(client: HasBaseUrl, bucket: str, *, taken_at: float) -> None:
    """Uncount the request `take` counted at `taken_at`: the budget refused to send it (it is
    down to the reserve, or held off). Counted, a refused request would keep the share spent
    for a whole window, and every refusal would refuse the next."""
    window = _window(client, bucket, stated=0)
    if window is None:
        return
    prefix, slot = _slots(client, bucket, window)
    key = f"{prefix}{int(taken_at // slot)}"
    with contextlib.suppress(ValueError):  # the slot has left the window
        if cache.decr(key) < 0:
            cache.incr(key)


def _slots(client: HasBaseUrl, bucket: str, window: int) -> tuple[str, int]:
    """The prefix of the keys counting the bucket's slots (an index follows it), and a slot's
    length in seconds."""
    slot = max(1, math.ceil(window / SLOTS))
    return f"{keys_of(client, bucket).share}:{slot}:", slot


def _window(client: HasBaseUrl, bucket: str, *, stated: float) -> int | None:
    """The bucket's window, in seconds: the longest span to a reset WapiKit stated, remembered
    for a day. None while WapiKit never stated one."""
    key = f"{keys_of(client, bucket).share}:window"
    known = cache.get(key) or 0
    window = max(known, math.ceil(stated))
    if window > known:
        cache.set(key, window, 86400)
    return window or None
