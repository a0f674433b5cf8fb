"""The events listener's state, as every dashboard process sees it: what the status page shows,
what the inbox says when live updates are paused, and a gauge on /metrics.

The listener reports through `dashboard.live.delivery.report_state`, which stores it in the
shared cache (Redis) or, without Redis, hands it to the dashboard process that stores it in its
own memory. A report older than `LIVE_STATE_STALE_SECONDS` means no listener is running."""

from __future__ import annotations

import time

import msgspec
from django.conf import settings
from django.core.cache import cache

KEY = "live:stream-state:v1"

# What the stream is doing.
CONNECTED = "connected"  # subscribed; events arrive as WapiKit publishes them
CONNECTING = "connecting"  # (re)connecting after a failure, with backoff
UNAVAILABLE = "unavailable"  # this WapiKit has no /events (404): polling only
REFUSED = "refused"  # WapiKit refused the key on /events
STANDBY = "standby"  # another process holds the lock and listens
NOT_RUNNING = "not running"  # no listener has reported lately

# Why a connecting stream failed, when it was WapiKit itself that could not be reached.
UNREACHABLE = "unreachable"


class StreamState(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    since: float  # Unix time the state began
    reported_at: float  # Unix time of the report
    detail: str = ""  # what the last failure was, in words
    last_event_at: float | None = None
    events: int = 0  # decoded and delivered since the listener started
    undecodable: int = 0  # frames skipped since the listener started
    reconnects: int = 0
    holder: str = ""  # which listener process (host:pid) holds the lock
    failure: str = ""  # UNREACHABLE while (re)connecting because WapiKit could not be reached

    @property
    def live(self) -> bool:
        """True while events reach the dashboard: browsers need not poll WapiKit."""
        return self.state == CONNECTED

    @property
    def paused_because(self) -> str:
        """Why live updates do not flow, for the inbox's note ("Live updates are paused: …")."""
        if self.state == CONNECTING and self.failure == UNREACHABLE:
            return "WapiKit is unreachable"
        if self.state == UNAVAILABLE:
            return "this WapiKit publishes no live events"
        if self.state == REFUSED:
            return "WapiKit refused the dashboard's key for its event stream"
        if self.state in (NOT_RUNNING, STANDBY):
            return "the dashboard's events listener is not running"
        return "WapiKit's event stream is not connected"


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StreamState)


def store(state: StreamState) -> None:
    cache.set(KEY, _encoder.encode(state), timeout=settings.LIVE_STATE_STALE_SECONDS * 4)


def current() -> StreamState:
    raw = cache.get(KEY)
    now = time.time()
    if raw is None:
        return StreamState(state=NOT_RUNNING, since=now, reported_at=now)
    state = _decoder.decode(raw)
    if now - state.reported_at > settings.LIVE_STATE_STALE_SECONDS and state.state != NOT_RUNNING:
        return msgspec.structs.replace(state, state=NOT_RUNNING, since=state.reported_at)
    return state
