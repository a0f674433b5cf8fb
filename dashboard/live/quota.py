"""At most LIVE_STREAMS_PER_USER open streams per user; one more ends their oldest.

In this process's memory, and with Redis across every streams worker of the deployment too: a
sorted set per user of their streams by opening time, kept on `access`'s shared thread; the
bus tells whichever process holds a stream that it must end."""

from __future__ import annotations

import contextlib
import time
from typing import Protocol

from django.conf import settings

from dashboard.conversations import bus

from . import access

REPLACED = "replaced"
_KEY = "live:streams:v1:{user}"


class Held(Protocol):
    stream_id: str
    user_id: int

    def end(self, why: str) -> None: ...


_held: dict[int, list[Held]] = {}


async def admit(stream: Held) -> None:
    streams = _held.setdefault(stream.user_id, [])
    streams.append(stream)
    while len(streams) > settings.LIVE_STREAMS_PER_USER:
        streams.pop(0).end(REPLACED)
    if bus.shared_redis() is not None:
        await access.on_shared_thread(_claim, stream.user_id, stream.stream_id)


async def leave(stream: Held) -> None:
    streams = _held.get(stream.user_id, [])
    with contextlib.suppress(ValueError):
        streams.remove(stream)
    if not streams:
        _held.pop(stream.user_id, None)
    if bus.shared_redis() is not None:
        await access.on_shared_thread(_release, stream.user_id, stream.stream_id)


def _claim(user_id: int, stream_id: str) -> None:
    """Note the stream in the deployment's set, and end the user's oldest beyond the cap."""
    key, now = _KEY.format(user=user_id), time.time()
    # A stream lives LIVE_STREAM_SECONDS at most: older entries are of processes that died.
    lifetime = int(settings.LIVE_STREAM_SECONDS) + 60
    try:
        pipeline = bus.shared_redis().pipeline()
        pipeline.zadd(key, {stream_id: now})
        pipeline.zremrangebyscore(key, "-inf", now - lifetime)
        pipeline.zrange(key, 0, -1)
        pipeline.expire(key, lifetime)
        held = pipeline.execute()[2]
    except Exception:  # noqa: BLE001 - without Redis each worker still keeps its own cap
        return
    for oldest in held[: max(0, len(held) - settings.LIVE_STREAMS_PER_USER)]:
        bus.publish({"end_stream": oldest.decode(), "why": REPLACED})


def _release(user_id: int, stream_id: str) -> None:
    with contextlib.suppress(Exception):  # an entry left behind expires with the stream's lifetime
        bus.shared_redis().zrem(_KEY.format(user=user_id), stream_id)
