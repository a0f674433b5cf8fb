"""Which `listen_events` process subscribes: one per deployment, however many run.

With Redis as the shared cache, the leader holds a lock that expires unless renewed, so a
standby takes over within the lock's lifetime when the leader dies, even by `kill -9`. Without
Redis the deployment is one process, which always leads."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Protocol

import redis
from django.conf import settings
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

logger = logging.getLogger("dashboard.live")

LOCK_KEY = "live:listener-lock:v1"


class Leadership(Protocol):
    holder: str

    def acquire(self) -> bool:
        """Try once, without waiting: True when this process now leads."""

    def renew(self) -> bool:
        """Keep leading: False when the lead was lost (another process may lead now)."""

    def release(self) -> None:
        """Stop leading, so a standby need not wait for the lock to expire."""

    def current_holder(self) -> str:
        """Who leads now, "" when nobody does."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SoleLeader:
    """A deployment of one process: nobody to share the stream with."""

    def __init__(self, *, holder: str | None = None) -> None:
        self.holder = holder or this_process()

    def acquire(self) -> bool:
        return True

    def renew(self) -> bool:
        return True

    def release(self) -> None:
        pass

    def current_holder(self) -> str:
        return self.holder


class RedisLeadership:
    """A Redis lock (`SET key holder NX PX`) whose value names the holder. Renewing resets its
    lifetime only while it still holds this holder's name (redis-py's `reacquire`, a Lua
    compare-and-set), so a process that paused past the expiry cannot take the lock back from
    the one that took over."""

    def __init__(
        self,
        *,
        client: redis.Redis,
        seconds: float,
        key: str = LOCK_KEY,
        holder: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.holder = holder or this_process()
        self._client = client
        # Not thread-local: the lock is the process's, whichever thread renews it.
        self._lock = Lock(client, key, timeout=seconds, thread_local=False)
        self._key = key
        self._seconds = seconds
        self._clock = clock
        self._held = False
        # Until when the lock is surely ours: its lifetime, counted from before the last
        # successful request set it.
        self._held_until = 0.0

    def acquire(self) -> bool:
        started = self._clock()
        try:
            self._held = self._lock.acquire(blocking=False, token=self.holder)
        except RedisError as exc:
            logger.warning("could not reach Redis to take the events listener lock: %s", type(exc).__name__)
            self._held = False
        if self._held:
            self._held_until = started + self._seconds
        return self._held

    def renew(self) -> bool:
        if not self._held:
            return False
        started = self._clock()
        try:
            self._lock.reacquire()
        except LockError:
            logger.warning("the events listener lock expired or was taken over")
            self._held = False
        except RedisError as exc:
            # Redis did not answer: the lock is still ours until it would expire, and the next
            # renewal may get through. Past that, another process may have taken it.
            self._held = self._clock() < self._held_until
            logger.warning(
                "could not reach Redis to renew the events listener lock: %s%s",
                type(exc).__name__,
                "" if self._held else "; the lock has expired",
            )
        else:
            self._held_until = started + self._seconds
        return self._held

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        try:
            self._lock.release()
        except (LockError, RedisError):
            # Lost already, or Redis is gone: either way the lock expires on its own.
            pass

    def current_holder(self) -> str:
        try:
            value = self._client.get(self._key)
        except RedisError:
            return ""
        return value.decode() if isinstance(value, bytes) else (value or "")


def deployment_leadership(*, holder: str | None = None) -> Leadership:
    """Leadership as the settings deploy it: a Redis lock when the shared cache is Redis."""
    if not settings.REDIS_URL:
        return SoleLeader(holder=holder)
    seconds = float(settings.LIVE_LOCK_SECONDS)
    # Each Redis call must fail well before the lock would expire, so renewal can be retried.
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=seconds / 6, socket_connect_timeout=seconds / 6)
    return RedisLeadership(client=client, seconds=seconds, holder=holder)
