"""The events listener's run loop: lead (or stand by), subscribe, decode, deliver, reconnect.

A reader thread (`connection`) reads the stream and queues its frames; the loop takes them off
the queue and keeps time: it renews the lead every third of LIVE_LOCK_SECONDS and reports its
state every few seconds even when nothing arrives, since WapiKit sends no heartbeats."""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import random
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
from django.conf import settings
from prometheus_client import Counter

from dashboard.conversations import live_state as states
from dashboard.conversations.live_state import StreamState
from dashboard.wapikit import errors, events, get_client
from dashboard.wapikit.decode import Event, Undecodable, decode_frame
from dashboard.wapikit.events import Frame

from .connection import Backoff, Ended, Failed, Reader, Session, Subscribe, Wake
from .leader import Leadership, deployment_leadership

logger = logging.getLogger("dashboard.live")

undecodable_frames = Counter(
    "dashboard_events_undecodable",
    "Frames of WapiKit's event stream that could not be decoded, and were skipped.",
)

BACKOFF_BASE_SECONDS = 1.0
# A connection that lasted this long (or delivered an event) was no failure loop: the backoff
# starts again from its base.
STABLE_SECONDS = 60.0
# /events answered 404 (this WapiKit has none) or 401: asking again soon would change nothing.
RETRY_RARELY_SECONDS = 300.0
CONNECT_SECONDS = 5.0
# How long a stream may stay silent before the listener reopens it. WapiKit sends no
# heartbeats, so only a read timeout notices a connection that died without closing; and
# proxies close idle streams anyway (nginx after 60 s by default).
IDLE_STREAM_SECONDS = 50.0
# No connection at all (WapiKit stopped, or its host is down): nothing reached WapiKit, so asking
# again this often costs it nothing, and live updates return within seconds of it answering.
UNREACHABLE_RETRY_SECONDS = 3.0

class _Pause(enum.Enum):
    DONE = "done"
    STOPPED = "stopped"
    LOST = "lost"


class Listener:
    """One listener process. `run` returns after `stop`, having released the lead."""

    def __init__(
        self,
        *,
        on_event: Callable[[Event], None],
        on_state: Callable[[StreamState], None],
        leadership: Leadership | None = None,
        subscribe: Subscribe | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        uniform: Callable[[float, float], float] = random.uniform,
        heartbeat_seconds: float | None = None,
        lock_seconds: float | None = None,
        backoff_base_seconds: float = BACKOFF_BASE_SECONDS,
        backoff_max_seconds: float | None = None,
        stable_seconds: float = STABLE_SECONDS,
        retry_rarely_seconds: float = RETRY_RARELY_SECONDS,
        idle_stream_seconds: float = IDLE_STREAM_SECONDS,
        unreachable_retry_seconds: float = UNREACHABLE_RETRY_SECONDS,
    ) -> None:
        self._on_event, self._on_state = on_event, on_state
        self._leadership = leadership if leadership is not None else deployment_leadership()
        self._subscribe = subscribe or (
            lambda: events.subscription(get_client(), timeout=(CONNECT_SECONDS, idle_stream_seconds))
        )
        self._clock, self._wall_clock = clock, wall_clock
        self._sleep = sleep or self._wait
        lock_seconds = float(lock_seconds if lock_seconds is not None else settings.LIVE_LOCK_SECONDS)
        self._renew_every = lock_seconds / 3
        # A standby that polls faster than the lock expires takes over soon after it does.
        self._standby_poll = min(1.0, lock_seconds / 6)
        self._heartbeat_every = (
            heartbeat_seconds if heartbeat_seconds is not None else min(5.0, settings.LIVE_STATE_STALE_SECONDS / 3)
        )
        cap = backoff_max_seconds if backoff_max_seconds is not None else settings.LIVE_BACKOFF_MAX_SECONDS
        self.backoff = Backoff(base=backoff_base_seconds, cap=cap, uniform=uniform)
        self._stable_seconds = stable_seconds
        self._retry_rarely = retry_rarely_seconds
        self._unreachable_retry = unreachable_retry_seconds

        self._items: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self._session_number = 0
        # A plain flag, not an Event: `stop` may run in a signal handler, where taking a lock
        # the interrupted code holds would deadlock. SimpleQueue.put is safe there.
        self._stopping = False
        self._leading = False
        now = wall_clock()
        self.state = StreamState(state=states.CONNECTING, since=now, reported_at=now, holder=self._leadership.holder)
        self._next_heartbeat = clock()
        self._next_renewal = clock()

    # Control

    def run(self) -> None:
        try:
            while self._become_leader():
                self._lead()
        finally:
            if self._leading:
                self._enter(states.NOT_RUNNING, detail="The events listener stopped.")
                self._leading = False
                self._leadership.release()

    def stop(self) -> None:
        self._stopping = True
        self._items.put((-1, Wake()))

    @contextlib.contextmanager
    def stopped_by_signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT stop the loop cleanly while the block runs (main thread only)."""
        previous = {sig: signal.signal(sig, lambda *_: self.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # Leading

    def _become_leader(self) -> bool:
        reported = False
        while not self._stopping:
            if self._leadership.acquire():
                self._leading = True
                self._next_renewal = self._clock() + self._renew_every
                return True
            if not reported:
                # Once, not as a heartbeat: the state is the deployment's, and the leader's own
                # reports are what it should show.
                holder = self._leadership.current_holder()
                self._enter(states.STANDBY, detail=f"Another listener ({holder or 'unknown'}) holds the lock.", holder=holder)
                reported = True
            self._sleep(self._standby_poll)
        return False

    def _lead(self) -> None:
        self._enter(states.CONNECTING, detail="Connecting to WapiKit's event stream.", holder=self._leadership.holder)
        self.backoff.reset()
        while True:
            session = self._session()
            if session.stopped:
                return
            if session.lost:
                self._lose_lead()
                return
            if session.idle:
                # Reopened at once and silently: the stream was fine, only quiet.
                continue
            if session.connected and (session.delivered or session.seconds >= self._stable_seconds):
                self.backoff.reset()
            self.state = msgspec.structs.replace(self.state, reconnects=self.state.reconnects + 1)
            if isinstance(session.error, errors.NotFound):
                self._enter(
                    states.UNAVAILABLE,
                    detail="This WapiKit has no live events (/events answered 404): the dashboard polls instead.",
                )
                wait = self._retry_rarely
            elif isinstance(session.error, errors.Unauthorized):
                self._enter(states.REFUSED, detail=f"{session.error.user_message} (/events answered {session.error.status}.)")
                wait = self._retry_rarely
            else:
                wait = self.backoff.next_delay()
                unreachable = isinstance(session.error, (errors.Unreachable, errors.TimedOut))
                if isinstance(session.error, errors.Unreachable):
                    wait = min(wait, self._unreachable_retry)
                self._enter(
                    states.CONNECTING,
                    detail=f"{_reason(session.error)} Reconnecting in {wait:.1f} s.",
                    failure=states.UNREACHABLE if unreachable else "",
                )
            outcome = self._pause(wait)
            if outcome is _Pause.STOPPED:
                return
            if outcome is _Pause.LOST:
                self._lose_lead()
                return

    def _lose_lead(self) -> None:
        self._leading = False
        self._enter(states.STANDBY, detail="This listener lost the lock; another may listen now.", holder="")

    def _session(self) -> Session:
        self._session_number += 1
        number = self._session_number
        reader = Reader(subscribe=self._subscribe, items=self._items, session=number)
        opened = self._clock()
        connected, delivered = False, 0

        def ended(**how: Any) -> Session:
            return Session(connected=connected, delivered=delivered, seconds=self._clock() - opened, **how)

        reader.start()
        try:
            while True:
                wait = max(0.0, min(self._next_heartbeat, self._next_renewal) - self._clock())
                try:
                    tag, item = self._items.get(timeout=wait)
                except queue.Empty:
                    tag, item = number, None
                if self._stopping:
                    return ended(stopped=True)
                if not self._keep_time():
                    return ended(lost=True)
                if tag != number or item is None:
                    continue
                if isinstance(item, Frame):
                    if item.event == "connected":
                        connected = True
                        self._enter(states.CONNECTED, detail="")
                    elif self._handle(item):
                        delivered += 1
                elif isinstance(item, Ended):
                    return ended()
                elif isinstance(item, Failed):
                    return ended(error=item.error)
        finally:
            reader.cancel()

    def _handle(self, frame: Frame) -> bool:
        """Decode and deliver one frame: True when an event was delivered."""
        try:
            event = decode_frame(frame)
        except Undecodable as exc:
            logger.warning("skipped an event frame that could not be decoded: %s", exc)
            undecodable_frames.inc()
            self.state = msgspec.structs.replace(self.state, undecodable=self.state.undecodable + 1)
            return False
        if event is None:
            return False
        try:
            self._on_event(event)
        except Exception:
            logger.exception("delivering a %s event failed", type(event).__name__)
            return False
        self.state = msgspec.structs.replace(self.state, events=self.state.events + 1, last_event_at=self._wall_clock())
        return True

    # Time

    def _keep_time(self) -> bool:
        """Renew the lead and report the state when they are due: False when the lead is lost."""
        now = self._clock()
        if now >= self._next_renewal:
            if not self._leadership.renew():
                return False
            self._next_renewal = now + self._renew_every
        if now >= self._next_heartbeat:
            self._report()
        return True

    def _pause(self, seconds: float) -> _Pause:
        """Wait between attempts, leading and reporting all the while."""
        deadline = self._clock() + seconds
        while True:
            if self._stopping:
                return _Pause.STOPPED
            if not self._keep_time():
                return _Pause.LOST
            now = self._clock()
            if now >= deadline:
                return _Pause.DONE
            self._sleep(min(deadline, self._next_heartbeat, self._next_renewal) - now)

    def _wait(self, seconds: float) -> None:
        """The real sleep: cut short by `stop`. What a given-up reader still queues is dropped."""
        deadline = time.monotonic() + seconds
        while not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self._items.get(timeout=left)
            except queue.Empty:
                return

    # Reporting

    def _enter(self, state: str, *, detail: str, **changes: Any) -> None:
        # What the last failure was says nothing once another state begins.
        changes.setdefault("failure", "")
        if state != self.state.state:
            changes["since"] = self._wall_clock()
        self.state = msgspec.structs.replace(self.state, state=state, detail=detail, **changes)
        self._report()

    def _report(self) -> None:
        self.state = msgspec.structs.replace(self.state, reported_at=self._wall_clock())
        self._next_heartbeat = self._clock() + self._heartbeat_every
        try:
            self._on_state(self.state)
        except Exception:
            logger.exception("reporting the events listener's state failed")


def _reason(error: Exception | None) -> str:
    """Why a stream ended, for an operator."""
    if error is None:
        return "WapiKit ended the event stream."
    if isinstance(error, errors.TimedOut):
        return "WapiKit did not answer the event stream request in time."
    if isinstance(error, errors.BadResponse) and error.detail:
        return f"{error.user_message} ({error.detail})"
    if isinstance(error, errors.WapiKitError):
        return error.user_message
    return f"The event stream failed ({type(error).__name__})."


def listen(*, on_event: Callable[[Event], None], on_state: Callable[[StreamState], None]) -> None:
    """Run a listener as the settings deploy it until SIGTERM or SIGINT."""
    listener = Listener(on_event=on_event, on_state=on_state)
    with listener.stopped_by_signals():
        listener.run()
