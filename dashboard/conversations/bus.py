"""Fan-out of "this conversation changed" to every open browser stream, in every process.

With Redis, a message is published on one channel; each dashboard process runs one subscriber
thread (started with its first browser stream) that hands what arrives to that process's own
streams. Without Redis there is one process, and publishing hands messages to its streams
directly. Streams are asyncio queues, each living on the event loop that serves it.

A message is small and says nothing a user may not see: which conversation changed and why.
Each browser then asks the dashboard for its own view (its permissions, its filters), which is
served from the shared reads that the change has already updated."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger("dashboard.live")

CHANNEL = "dashboard:live:v1"
# A stream that cannot keep up (a stalled client) loses its oldest messages, not the process
# its memory: the browser asks for its whole view anyway.
QUEUE_SIZE = 100

_streams: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
_lock = threading.Lock()
_relay: threading.Thread | None = None


def _redis_url() -> str:
    return settings.REDIS_URL


# Without Redis, a process that serves no streams (the task worker) hands its messages to the
# one that does: the live face sets this (dashboard/live/apps.py) and LIVE_HANDS_OVER says so.
hand_over: Callable[[dict[str, Any]], None] | None = None


def publish(message: dict[str, Any]) -> None:
    """Send a message to every stream of the deployment. Never raises: a failed push only
    means browsers learn of the change at their next refresh."""
    if url := _redis_url():
        try:
            _redis(url).publish(CHANNEL, json.dumps(message))
        except Exception:  # noqa: BLE001 - any Redis failure: the change is already in the cache
            logger.warning("live update not pushed: Redis refused the publish", exc_info=False)
        return
    if settings.LIVE_HANDS_OVER and hand_over is not None:
        hand_over(message)
        return
    _hand_out(message)


def shared_redis():
    """The deployment's Redis client, or None without Redis (one process)."""
    url = _redis_url()
    return _redis(url) if url else None


def open_streams() -> int:
    return len(_streams)


class Subscription:
    """A queue that receives every message published while it is open: open it on the event
    loop that will read it, and close it when the stream ends (in a `finally`)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._entry = (asyncio.get_running_loop(), self.queue)
        if _redis_url():
            _ensure_relay()
        with _lock:
            _streams.add(self._entry)

    def put(self, message: dict[str, Any]) -> None:
        """Hand this one stream a message, from any thread."""
        loop, queue = self._entry
        with contextlib.suppress(RuntimeError):  # its loop has closed: the stream is gone
            loop.call_soon_threadsafe(_put, queue, message)

    def close(self) -> None:
        with _lock:
            _streams.discard(self._entry)


def _hand_out(message: dict[str, Any]) -> None:
    with _lock:
        streams = list(_streams)
    for loop, queue in streams:
        with contextlib.suppress(RuntimeError):  # that stream's loop has closed: it is going
            loop.call_soon_threadsafe(_put, queue, message)


def _put(queue: asyncio.Queue, message: dict[str, Any]) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


_clients: dict[str, Any] = {}


def _redis(url: str):
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    return _clients[url]


def _ensure_relay() -> None:
    global _relay
    with _lock:
        if _relay is not None and _relay.is_alive():
            return
        _relay = threading.Thread(target=_relay_forever, args=(_redis_url(),), name="live-relay", daemon=True)
        _relay.start()


def _relay_forever(url: str) -> None:
    """This process's one Redis subscription, re-established after any failure."""

    while True:
        try:
            pubsub = redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30).pubsub(
                ignore_subscribe_messages=True
            )
            pubsub.subscribe(CHANNEL)
            for item in pubsub.listen():
                if item.get("type") == "message":
                    try:
                        _hand_out(json.loads(item["data"]))
                    except (ValueError, TypeError):
                        logger.warning("live update skipped: not JSON")
        except Exception:  # noqa: BLE001 - Redis went away: streams wait, then get messages again
            logger.warning("live relay lost Redis; reconnecting", exc_info=False)
            time.sleep(1)
