"""The events listener against the sandbox's real event stream (profile "server", real HTTP):
what WapiKit's webhook publishes reaches the listener decoded, in both map-key spellings, and a
WapiKit that goes away and comes back is listened to again."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from dashboard.conversations import live_state as states
from dashboard.conversations.live_state import StreamState
from dashboard.live.leader import SoleLeader
from dashboard.live.listener import Listener
from dashboard.wapikit import get_client
from dashboard.wapikit.decode import NewConversation, NewMessage
from devtools.benchmarks.benchkit import free_port, wait_for_port
from devtools.sandbox.serve import sandbox_command
from tests.conftest import API_KEY, ROOT, Sandbox, pointed_at, running_sandbox

pytestmark = pytest.mark.integration

# A listener that was stopped closes its stream at its next frame or read timeout: this short
# one lets each test end with the sandbox's streams closed, for the tests that count them.
IDLE_STREAM_SECONDS = 4.0


class Collected:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.states: list[StreamState] = []
        self._changed = threading.Condition()

    def on_event(self, event: object) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def on_state(self, state: StreamState) -> None:
        with self._changed:
            self.states.append(state)
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], what: str, *, seconds: float = 20) -> None:
        with self._changed:
            assert self._changed.wait_for(condition, timeout=seconds), f"never {what}; states: {self.entered}"

    def times_entered(self, name: str) -> int:
        return self.entered.count(name)

    @property
    def entered(self) -> list[str]:
        names: list[str] = []
        for state in self.states:
            if not names or names[-1] != state.state:
                names.append(state.state)
        return names

    @property
    def current(self) -> str:
        return self.states[-1].state if self.states else ""


@contextlib.contextmanager
def listening(**options) -> Iterator[Collected]:
    collected = Collected()
    listener = Listener(
        on_event=collected.on_event,
        on_state=collected.on_state,
        leadership=SoleLeader(holder="integration-test:1"),
        idle_stream_seconds=IDLE_STREAM_SECONDS,
        **options,
    )
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        yield collected
    finally:
        listener.stop()
        thread.join(10)
        assert not thread.is_alive(), "the listener did not stop"


def publish(sandbox: Sandbox, **body) -> dict:
    """What WapiKit's webhook does when a contact writes (`POST /_sandbox/events`)."""
    response = requests.post(
        f"{sandbox.root_url}/_sandbox/events", json=body, headers={"x-access-token": sandbox.api_key}, timeout=5
    )
    response.raise_for_status()
    return response.json()


def open_streams(sandbox: Sandbox) -> int:
    return sandbox.control()["event_subscribers"]


def wait_for_streams(sandbox: Sandbox, count: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while open_streams(sandbox) != count:
        assert time.monotonic() < deadline, f"the sandbox never had {count} open event streams"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def events_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """A server sandbox of this module's own: these tests count the streams open on it, and a
    listener another module's test left running on the shared one would be counted too."""
    with running_sandbox(tmp_path_factory.mktemp("events-sandbox"), "server") as running:
        yield running


@pytest.fixture
def wapikit(events_sandbox, settings) -> Iterator[Sandbox]:
    """The module's server sandbox with no stream open; what the test published is seeded away after."""
    with pointed_at(events_sandbox, settings) as sandbox:
        wait_for_streams(sandbox, 0, seconds=IDLE_STREAM_SECONDS + 10)
        yield sandbox
        wait_for_streams(sandbox, 0, seconds=IDLE_STREAM_SECONDS + 10)
        sandbox.control(reset=True)
        sandbox.reseed()


def first_conversation_id(sandbox: Sandbox) -> str:
    return sandbox.get("/conversations", page=1, per_page=1)["conversations"][0]["uniqueId"]


@pytest.mark.parametrize("keys", ["json", "go"])
def test_a_message_a_contact_writes_reaches_the_listener_decoded(wapikit, keys):
    wapikit.control(event_keys=keys)
    conversation_id = first_conversation_id(wapikit)
    with listening() as collected:
        collected.wait_for(lambda: collected.current == states.CONNECTED, "connected")

        published = publish(wapikit, type="NewMessage", conversation_id=conversation_id, text="Olá <b>where</b> is it?")
        collected.wait_for(lambda: collected.events, "got an event")

    assert published["delivered"] == {"NewMessage": 1}, "one stream, the listener's"
    (event,) = collected.events
    assert isinstance(event, NewMessage)
    assert event.conversation.unique_id == conversation_id
    assert event.message.unique_id == published["message_id"]
    assert event.message.message_data.text == "Olá <b>where</b> is it?"
    assert event.message.inbound
    assert collected.states[-1].state == states.NOT_RUNNING
    assert collected.states[-1].events == 1 and collected.states[-1].undecodable == 0


@pytest.mark.parametrize("keys", ["json", "go"])
def test_a_new_conversation_arrives_and_then_its_first_message(wapikit, keys):
    wapikit.control(event_keys=keys)
    with listening() as collected:
        collected.wait_for(lambda: collected.current == states.CONNECTED, "connected")

        created = publish(wapikit, type="NewConversation", text="Hello?", name="Ada Lovelace", phone="+447700900199")
        collected.wait_for(lambda: len(collected.events) == 2, "got both events")

    first, second = collected.events
    assert isinstance(first, NewConversation) and isinstance(second, NewMessage)
    assert first.conversation.unique_id == second.conversation.unique_id == created["conversation_id"]
    assert first.conversation.contact.name == "Ada Lovelace"
    assert second.message.message_data.text == "Hello?"


# WapiKit going away and coming back


class RestartableSandbox:
    """A server-profile sandbox of its own, which can stop and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.sandbox = Sandbox(f"http://127.0.0.1:{self.port}/api", f"http://127.0.0.1:{self.port}", API_KEY, {}, "server")
        self.sandbox.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{directory / 'sandbox.sqlite3'}",
            "SANDBOX_API_KEY": API_KEY,
            "WAPIKIT_API_KEY": API_KEY,
            "SANDBOX_PROFILE": "server",
            "DJANGO_SETTINGS_MODULE": "devtools.settings",
            "PYTHONUNBUFFERED": "1",
        }
        self._log = open(directory / "sandbox.log", "a")
        self._process: subprocess.Popen | None = None
        for command in (["migrate", "-v0"], ["seed_sandbox"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=self.sandbox.env, check=True, capture_output=True)

    def start(self) -> None:
        self._process = subprocess.Popen(
            sandbox_command("127.0.0.1", self.port), cwd=ROOT, env=self.sandbox.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, self._process)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def close(self) -> None:
        self.stop()
        self._log.close()


@pytest.fixture
def restartable(tmp_path, settings) -> Iterator[RestartableSandbox]:
    running = RestartableSandbox(tmp_path)
    running.start()
    settings.WAPIKIT_BASE_URL = running.sandbox.base_url
    settings.WAPIKIT_API_KEY = API_KEY
    get_client.cache_clear()
    try:
        yield running
    finally:
        running.close()
        get_client.cache_clear()


def test_the_listener_reconnects_when_wapikit_stops_and_comes_back(restartable):
    conversation_id = first_conversation_id(restartable.sandbox)
    with listening(backoff_base_seconds=0.2, backoff_max_seconds=1.0) as collected:
        collected.wait_for(lambda: collected.current == states.CONNECTED, "connected")

        restartable.stop()
        collected.wait_for(lambda: collected.current == states.CONNECTING, "noticed WapiKit went away")
        restartable.start()
        collected.wait_for(lambda: collected.times_entered(states.CONNECTED) == 2, "connected again")

        published = publish(restartable.sandbox, type="NewMessage", conversation_id=conversation_id, text="Still there?")
        collected.wait_for(lambda: collected.events, "got the event")

    assert published["delivered"] == {"NewMessage": 1}
    (event,) = collected.events
    assert (event.conversation.unique_id, event.message.message_data.text) == (conversation_id, "Still there?")
    assert collected.entered[:4] == [states.CONNECTING, states.CONNECTED, states.CONNECTING, states.CONNECTED]
    assert collected.states[-1].reconnects >= 1
    retrying = next(s for s in collected.states if s.state == states.CONNECTING and s.detail.startswith("WapiKit"))
    assert "Reconnecting in" in retrying.detail
