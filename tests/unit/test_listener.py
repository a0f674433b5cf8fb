"""The events listener's run loop with the stream faked: at the HTTP boundary (`responses`) for
what WapiKit answers, or as a subscription factory for timing. Time, sleep and randomness are
injected, so nothing here waits for real except the reader thread's hand-over."""

from __future__ import annotations

import base64
import contextlib
import logging
import random
import threading
import time
from collections.abc import Iterator

import msgpack
import pytest
import responses
from prometheus_client import REGISTRY

from dashboard.conversations import live_state as states
from dashboard.conversations.live_state import StreamState
from dashboard.live.connection import Backoff
from dashboard.live.leader import SoleLeader
from dashboard.live.listener import Listener
from dashboard.wapikit import errors, get_client
from dashboard.wapikit.decode import NewConversation, NewMessage
from dashboard.wapikit.events import Frame
from devtools.sandbox.events import encode_frame
from tests.conftest import API_KEY
from tests.unit.test_live_decode import CONVERSATION_ID, conversation, message

BASE_URL = "http://wapikit.test/api"
CONNECTED = b"event: connected\ndata: OK\n\n"


class FakeTime:
    """A monotonic clock, a wall clock and a sleep that only moves them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_770_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.states: list[StreamState] = []

    def on_event(self, event: object) -> None:
        self.events.append(event)

    def on_state(self, state: StreamState) -> None:
        self.states.append(state)

    @property
    def state_names(self) -> list[str]:
        """The states in the order they were entered (heartbeats left out)."""
        names: list[str] = []
        for state in self.states:
            if not names or names[-1] != state.state:
                names.append(state.state)
        return names


def make_listener(recorder: Recorder, fake: FakeTime | None = None, **options) -> Listener:
    timing = {"clock": fake.clock, "wall_clock": fake.wall, "sleep": fake.sleep} if fake else {}
    return Listener(
        on_event=recorder.on_event,
        on_state=recorder.on_state,
        leadership=options.pop("leadership", SoleLeader(holder="test-host:1")),
        **timing,
        **options,
    )


def run_to_the_end(listener: Listener, *, seconds: float = 20) -> None:
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the listener did not stop"


def wait_until(condition, *, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


class Attempts:
    """A subscription factory that plays one script per attempt and stops the listener after the
    last. A script is an exception to raise or a list of frames followed by the stream's end."""

    def __init__(self, fake: FakeTime, *scripts) -> None:
        self.fake, self.scripts, self.times = fake, list(scripts), []
        self.listener: Listener | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Iterator[Frame]]:
        self.times.append(self.fake.now)
        if len(self.times) >= len(self.scripts):
            self.listener.stop()
        script = self.scripts[min(len(self.times), len(self.scripts)) - 1]
        if isinstance(script, Exception):
            raise script
        yield iter(script() if callable(script) else script)


def new_message_frame(text: str = "Hello") -> Frame:
    data = {"conversation": conversation(), "message": message(text)}
    return Frame("NewMessage", base64.b64encode(msgpack.packb(data)).decode())


# Backoff


def test_backoff_doubles_from_its_base_up_to_its_cap():
    backoff = Backoff(base=1.0, cap=8.0, uniform=lambda low, high: high)

    assert [backoff.next_delay() for _ in range(7)] == [1, 2, 4, 8, 8, 8, 8]


def test_backoff_draws_each_wait_between_zero_and_its_ceiling():
    draws: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        draws.append((low, high))
        return random.Random(len(draws)).uniform(low, high)

    backoff = Backoff(base=0.5, cap=30.0, uniform=uniform)
    waits = [backoff.next_delay() for _ in range(12)]

    assert draws == [(0.0, min(30.0, 0.5 * 2**n)) for n in range(12)]
    assert all(0 <= wait <= high for wait, (_, high) in zip(waits, draws, strict=True))
    assert len(set(waits)) == len(waits)


def test_backoff_after_a_thousand_failures_is_still_the_cap():
    backoff = Backoff(base=1.0, cap=30.0, uniform=lambda low, high: high)
    for _ in range(1000):
        backoff.next_delay()

    assert backoff.next_delay() == 30.0


def test_reconnects_wait_longer_each_failure_up_to_the_cap():
    fake = FakeTime()
    # WapiKit reached but not answering in time (an unreachable one is asked again sooner: below).
    attempts = Attempts(fake, *[errors.TimedOut("ConnectTimeout")] * 7)
    listener = make_listener(
        Recorder(), fake, subscribe=attempts, uniform=lambda low, high: high, backoff_base_seconds=1.0, backoff_max_seconds=8.0
    )
    attempts.listener = listener

    run_to_the_end(listener)

    gaps = [later - earlier for earlier, later in zip(attempts.times, attempts.times[1:])]
    assert gaps == pytest.approx([1, 2, 4, 8, 8, 8])


def test_an_unreachable_wapikit_is_asked_again_within_seconds_and_the_state_says_it_is_unreachable():
    fake = FakeTime()
    attempts = Attempts(fake, *[errors.Unreachable("ConnectionError")] * 7)
    recorder = Recorder()
    listener = make_listener(
        recorder, fake, subscribe=attempts, uniform=lambda low, high: high, backoff_base_seconds=1.0, backoff_max_seconds=30.0
    )
    attempts.listener = listener

    run_to_the_end(listener)

    gaps = [later - earlier for earlier, later in zip(attempts.times, attempts.times[1:])]
    assert gaps == pytest.approx([1, 2, 3, 3, 3, 3])
    connecting = [s for s in recorder.states if s.state == states.CONNECTING and s.failure]
    assert connecting and connecting[-1].paused_because == "WapiKit is unreachable"


def test_reconnect_waits_are_jittered_by_the_random_draw():
    fake = FakeTime()
    rng = random.Random(42)
    attempts = Attempts(fake, *[errors.TimedOut("ConnectTimeout")] * 6)
    listener = make_listener(Recorder(), fake, subscribe=attempts, uniform=rng.uniform, backoff_max_seconds=30.0)
    attempts.listener = listener

    run_to_the_end(listener)

    gaps = [later - earlier for earlier, later in zip(attempts.times, attempts.times[1:])]
    expected = random.Random(42)
    assert gaps == pytest.approx([expected.uniform(0, 2**n) for n in range(5)])
    assert len(set(gaps)) == 5


def test_the_backoff_starts_again_after_a_connection_that_delivered_an_event():
    fake = FakeTime()
    failure = errors.TimedOut("ConnectTimeout")
    attempts = Attempts(
        fake,
        failure,
        failure,
        failure,
        [Frame("connected", "OK"), new_message_frame()],  # delivered: the next wait is short again
        [Frame("connected", "OK")],  # connected but ended at once: no reason to start again
        failure,
        failure,
    )
    recorder = Recorder()
    listener = make_listener(recorder, fake, subscribe=attempts, uniform=lambda low, high: high)
    attempts.listener = listener

    run_to_the_end(listener)

    gaps = [later - earlier for earlier, later in zip(attempts.times, attempts.times[1:])]
    assert gaps == pytest.approx([1, 2, 4, 1, 2, 4])
    assert len(recorder.events) == 1


def test_the_backoff_starts_again_after_a_connection_that_lasted():
    fake = FakeTime()
    failure = errors.Unreachable("ConnectionError")

    def quiet_for_two_minutes():
        yield Frame("connected", "OK")
        fake.now += 120

    attempts = Attempts(fake, failure, failure, quiet_for_two_minutes, failure, failure)
    listener = make_listener(Recorder(), fake, subscribe=attempts, uniform=lambda low, high: high, stable_seconds=60)
    attempts.listener = listener

    run_to_the_end(listener)

    gaps = [later - earlier for earlier, later in zip(attempts.times, attempts.times[1:])]
    assert gaps == pytest.approx([1, 2, 120 + 1, 2])


def test_a_quiet_stream_past_its_read_timeout_is_reopened_at_once_and_stays_connected():
    fake = FakeTime()

    def quiet():
        yield Frame("connected", "OK")
        raise errors.TimedOut("no event within the read timeout")

    attempts = Attempts(fake, quiet, quiet, quiet)
    recorder = Recorder()
    listener = make_listener(recorder, fake, subscribe=attempts)
    attempts.listener = listener

    run_to_the_end(listener)

    assert attempts.times == [fake.now] * 3, "no wait before reopening"
    assert recorder.state_names == [states.CONNECTING, states.CONNECTED, states.NOT_RUNNING]
    assert listener.state.reconnects == 0


# What WapiKit answers, faked at the HTTP boundary


@pytest.fixture
def wapikit_at_the_boundary(settings) -> Iterator[responses.RequestsMock]:
    settings.WAPIKIT_BASE_URL = BASE_URL
    settings.WAPIKIT_API_KEY = API_KEY
    get_client.cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    get_client.cache_clear()


def stop_on_first_sleep(listener: Listener, fake: FakeTime):
    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        listener.stop()

    listener._sleep = sleep


def test_a_broken_frame_is_counted_and_skipped_and_the_frames_after_it_still_arrive(wapikit_at_the_boundary, caplog):
    broken = b"event: NewMessage\ndata: " + base64.b64encode(b"\xc1 not msgpack, from Ada") + b"\n\n"
    body = (
        CONNECTED
        + encode_frame("NewMessage", {"conversation": conversation(), "message": message("first")}, go_field_names=False)
        + broken
        + encode_frame("NewConversation", {"conversation": conversation()}, go_field_names=True)
        + encode_frame("NewMessage", {"conversation": conversation(), "message": message("third")}, go_field_names=False)
    )
    wapikit_at_the_boundary.get(f"{BASE_URL}/events", body=body, content_type="text/event-stream")
    fake, recorder = FakeTime(), Recorder()
    listener = make_listener(recorder, fake)
    stop_on_first_sleep(listener, fake)
    counted_before = REGISTRY.get_sample_value("dashboard_events_undecodable_total") or 0.0

    with caplog.at_level(logging.WARNING, logger="dashboard.live"):
        run_to_the_end(listener)

    assert [type(e) for e in recorder.events] == [NewMessage, NewConversation, NewMessage]
    assert [e.message.message_data.text for e in recorder.events if isinstance(e, NewMessage)] == ["first", "third"]
    assert recorder.events[1].conversation.unique_id == CONVERSATION_ID
    assert listener.state.undecodable == 1
    assert listener.state.events == 3
    assert REGISTRY.get_sample_value("dashboard_events_undecodable_total") == counted_before + 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "dashboard.live" and r.levelno == logging.WARNING]
    assert warnings == ["skipped an event frame that could not be decoded: NewMessage: the data is not MessagePack"]


def test_the_stream_s_end_is_reported_and_retried(wapikit_at_the_boundary):
    wapikit_at_the_boundary.get(f"{BASE_URL}/events", body=CONNECTED, content_type="text/event-stream")
    fake, recorder = FakeTime(), Recorder()
    listener = make_listener(recorder, fake, uniform=lambda low, high: high)
    stop_on_first_sleep(listener, fake)

    run_to_the_end(listener)

    assert recorder.state_names == [states.CONNECTING, states.CONNECTED, states.CONNECTING, states.NOT_RUNNING]
    retrying = [s for s in recorder.states if s.state == states.CONNECTING][-1]
    assert retrying.detail == "WapiKit ended the event stream. Reconnecting in 1.0 s."
    assert retrying.reconnects == 1


def test_no_events_route_makes_the_stream_unavailable_and_it_is_asked_again_only_rarely(wapikit_at_the_boundary):
    fake, recorder = FakeTime(), Recorder()
    asked_at: list[float] = []

    def not_found(request):
        asked_at.append(fake.now)
        if len(asked_at) == 2:
            listener.stop()
        return 404, {}, '{"message": "Not Found"}'

    wapikit_at_the_boundary.add_callback("GET", f"{BASE_URL}/events", callback=not_found, content_type="application/json")
    listener = make_listener(recorder, fake, retry_rarely_seconds=300)

    run_to_the_end(listener)

    assert recorder.state_names == [states.CONNECTING, states.UNAVAILABLE, states.NOT_RUNNING]
    unavailable = [s for s in recorder.states if s.state == states.UNAVAILABLE]
    assert "no live events" in unavailable[0].detail and "404" in unavailable[0].detail
    assert asked_at[1] - asked_at[0] == pytest.approx(300)
    # Reported all along the wait, so the status page does not take the listener for dead.
    assert len(unavailable) >= 300 / 5
    assert max(later.reported_at - earlier.reported_at for earlier, later in zip(unavailable, unavailable[1:])) <= 5


def test_a_refused_key_makes_the_stream_refused(wapikit_at_the_boundary):
    wapikit_at_the_boundary.get(
        f"{BASE_URL}/events", body="event: error\ndata: Authorization failed\n\n", status=401, content_type="text/plain"
    )
    fake, recorder = FakeTime(), Recorder()
    listener = make_listener(recorder, fake)
    stop_on_first_sleep(listener, fake)

    run_to_the_end(listener)

    assert recorder.state_names == [states.CONNECTING, states.REFUSED, states.NOT_RUNNING]
    refused = next(s for s in recorder.states if s.state == states.REFUSED)
    assert "refused the dashboard's API key" in refused.detail
    assert "401" in refused.detail
    assert API_KEY not in refused.detail


# Heartbeats and leading


def test_the_state_is_reported_every_few_seconds_while_the_stream_is_quiet():
    released = threading.Event()

    @contextlib.contextmanager
    def quiet_stream():
        def frames():
            yield Frame("connected", "OK")
            released.wait(10)

        yield frames()

    recorder = Recorder()
    listener = make_listener(recorder, subscribe=quiet_stream, heartbeat_seconds=0.01)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: sum(s.state == states.CONNECTED for s in recorder.states) >= 4)
    finally:
        listener.stop()
        released.set()
        thread.join(10)

    connected = [s for s in recorder.states if s.state == states.CONNECTED]
    assert len({s.since for s in connected}) == 1, "heartbeats, not new states"
    assert [s.reported_at for s in connected] == sorted(s.reported_at for s in connected)
    assert connected[-1].reported_at > connected[0].reported_at
    assert recorder.events == []


def test_losing_the_lead_closes_the_subscription_and_goes_back_to_standby():
    class LosesTheLead(SoleLeader):
        def __init__(self) -> None:
            super().__init__(holder="test-host:1")
            self.acquired = 0

        def acquire(self) -> bool:
            self.acquired += 1
            return self.acquired == 1

        def renew(self) -> bool:
            return False

        def current_holder(self) -> str:
            return "other-host:2"

    closed = threading.Event()

    @contextlib.contextmanager
    def busy_stream():
        def frames():
            yield Frame("connected", "OK")
            while True:
                time.sleep(0.005)
                yield new_message_frame()

        try:
            yield frames()
        finally:
            closed.set()

    leadership, recorder = LosesTheLead(), Recorder()
    listener = make_listener(recorder, leadership=leadership, subscribe=busy_stream, lock_seconds=0.3)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: leadership.acquired >= 3)
        assert closed.wait(10), "the subscription stayed open"
    finally:
        listener.stop()
        thread.join(10)

    assert recorder.state_names[:3] == [states.CONNECTING, states.CONNECTED, states.STANDBY]
    assert states.NOT_RUNNING not in recorder.state_names, "a standby does not speak for the leader"


def test_stopping_a_leader_reports_it_stopped_and_gives_up_the_lead():
    class Releases(SoleLeader):
        released = False

        def release(self) -> None:
            self.released = True

    class StopsOnceConnected(Recorder):
        def on_state(self, state: StreamState) -> None:
            super().on_state(state)
            if state.state == states.CONNECTED:
                listener.stop()

    @contextlib.contextmanager
    def connected():
        yield iter([Frame("connected", "OK")])

    leadership, recorder = Releases(holder="test-host:1"), StopsOnceConnected()
    listener = make_listener(recorder, leadership=leadership, subscribe=connected)

    run_to_the_end(listener)

    assert recorder.state_names == [states.CONNECTING, states.CONNECTED, states.NOT_RUNNING]
    assert recorder.states[-1].detail == "The events listener stopped."
    assert leadership.released
