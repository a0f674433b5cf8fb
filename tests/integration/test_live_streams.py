"""The browsers' live streams (`/live/stream/`) as uvicorn serves them, over real sockets: what
an open stream costs the dashboard (no thread, no database connection), what happens when the
browser goes, who may hold one, and how many."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.db import connections as db_connections
from django.db.backends.signals import connection_created
from django.test import Client

from dashboard.conversations import bus
from dashboard.conversations import live_state as state
from tests.conftest import free_port

pytestmark = [pytest.mark.integration]


@pytest.fixture
def served(transactional_db, wapikit, settings) -> Iterator[int]:
    """The dashboard's ASGI application under uvicorn, in a thread of this process (so that
    `settings` changes reach it); its port."""
    import uvicorn

    from dashboard.asgi import application

    settings.LIVE_KEEPALIVE_SECONDS = 0.5
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning", log_config=None,
                       proxy_headers=False, timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, name="asgi-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        for stream in Stream.opened:
            with contextlib.suppress(RuntimeError):  # its test's event loop has closed
                stream.vanish()
        Stream.opened.clear()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def session_of(make_user):
    """session_of(kind) -> the session cookie of a new sign-in of that kind of user."""
    users = {}

    def sign_in(kind: str) -> str:
        if kind not in users:
            users[kind] = make_user(kind)
        client = Client()
        client.force_login(users[kind])
        return client.cookies[django_settings.SESSION_COOKIE_NAME].value

    return sign_in


class Stream:
    """A browser's `GET /live/stream/` on a raw socket: the frames as they come."""

    opened: list[Stream] = []  # every stream a test opened, reset when its server stops

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.text = ""
        Stream.opened.append(self)

    @classmethod
    async def open(cls, port: int, session: str | None) -> Stream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        cookie = f"Cookie: {django_settings.SESSION_COOKIE_NAME}={session}\r\n" if session else ""
        writer.write(f"GET /live/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{cookie}\r\n".encode())
        await writer.drain()
        stream = cls(reader, writer)
        await stream.until("\nevent: ")
        return stream

    async def until(self, text: str, seconds: float = 10) -> str:
        """Reads until `text` has arrived (or the server closed the stream); all read so far."""
        deadline = asyncio.get_running_loop().time() + seconds
        while text not in self.text:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"{text!r} did not arrive; got {self.text[-300:]!r}"
            chunk = await asyncio.wait_for(self.reader.read(4096), left)
            if not chunk:
                break
            self.text += chunk.decode()
        return self.text

    async def ended_by_server(self, seconds: float = 10) -> bool:
        """Reads until the server ends the response (its last, empty chunk) or closes the
        socket: False if the stream is still going after `seconds`."""
        try:
            async with asyncio.timeout(seconds):
                while not self.text.endswith("\r\n0\r\n\r\n") and (chunk := await self.reader.read(4096)):
                    self.text += chunk.decode()
        except TimeoutError:
            return False
        return True

    @property
    def body(self) -> str:
        """What the server sent after its headers, out of HTTP/1.1's chunks."""
        rest, body = self.text.partition("\r\n\r\n")[2], ""
        while rest:
            size, _, rest = rest.partition("\r\n")
            length = int(size, 16) if size else 0
            if not length:
                break
            body, rest = body + rest[:length], rest[length + 2 :]
        return body

    def vanish(self) -> None:
        """Gone without a goodbye: the socket is reset, as when a laptop lid shuts."""
        self.writer.transport.abort()


BROWSERS = "simulated-browsers"


def as_browsers(coroutine):
    """Runs the simulated browsers on an event loop of their own thread: this thread's may be
    Playwright's (its sync API keeps a loop running in the thread of an earlier browser test)."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's own thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=BROWSERS)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def off_the_loop(function, *args):
    """`function(*args)` on a thread of its own, which lets its database connection go after."""

    def run():
        try:
            return function(*args)
        finally:
            db_connections.close_all()

    return await asyncio.to_thread(run)


def server_threads() -> int:
    """This process's threads, but for the simulated browsers' own."""
    return sum(thread.name != BROWSERS for thread in threading.enumerate())


class OpenConnections:
    """Database connections the process has opened and not closed (any thread, any backend)."""

    def __init__(self) -> None:
        self._wrappers: weakref.WeakSet = weakref.WeakSet()
        connection_created.connect(self._created, weak=False)

    def _created(self, sender, connection, **kwargs) -> None:
        self._wrappers.add(connection)

    def __len__(self) -> int:
        return sum(1 for wrapper in list(self._wrappers) if wrapper.connection is not None)

    def stop(self) -> None:
        connection_created.disconnect(self._created)


def settled(condition, seconds: float = 15) -> bool:
    """Whether `condition()` holds within `seconds` (a bound on waiting, not a speed test)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_open_streams_hold_no_thread_and_no_database_connection_and_vanished_browsers_free_everything(
    served, session_of, settings
):
    session = session_of("manager")
    count = 20
    settings.LIVE_STREAMS_PER_USER = count

    async def warm_up() -> None:
        stream = await Stream.open(served, session)
        stream.vanish()

    as_browsers(warm_up())
    assert settled(lambda: bus.open_streams() == 0)
    connections = OpenConnections()
    try:
        idle_threads, idle_connections = server_threads(), len(connections)

        async def open_then_vanish() -> tuple[int, int, int]:
            streams = [await Stream.open(served, session) for _ in range(count)]
            await asyncio.sleep(1)  # two heartbeats with every stream open
            measured = bus.open_streams(), server_threads(), len(connections)
            for stream in streams:
                stream.vanish()
            return measured

        open_now, threads, held = as_browsers(open_then_vanish())

        assert open_now == count
        assert threads == idle_threads, f"{threads - idle_threads} threads added by {count} open streams"
        assert held == idle_connections, f"{held - idle_connections} database connections held by {count} open streams"
        assert settled(lambda: bus.open_streams() == 0), f"{bus.open_streams()} streams still open after their browsers went"
        assert settled(lambda: server_threads() == idle_threads and len(connections) == idle_connections)
    finally:
        connections.stop()


def test_a_user_opening_one_stream_too_many_ends_their_oldest(served, session_of, settings):
    settings.LIVE_STREAMS_PER_USER = 2
    session = session_of("manager")
    other = session_of("owner")

    async def scenario() -> tuple[Stream, list[Stream], Stream]:
        oldest = await Stream.open(served, session)
        newer = [await Stream.open(served, session), await Stream.open(served, session)]
        someone_else = await Stream.open(served, other)
        await oldest.ended_by_server()
        await asyncio.sleep(0.6)  # a heartbeat: the others keep going
        for stream in [*newer, someone_else]:
            await stream.until(": keep-alive")
        return oldest, newer, someone_else

    oldest, newer, someone_else = as_browsers(scenario())

    assert oldest.body.endswith("event: ended\ndata: replaced\n\n")
    assert all("event: ended" not in stream.text for stream in [*newer, someone_else])


@pytest.mark.parametrize(("kind", "why"), [("norole", "forbidden"), (None, "signed-out")])
def test_only_members_who_may_view_conversations_get_a_stream(served, session_of, kind, why):
    session = session_of(kind) if kind else None

    async def scenario() -> Stream:
        stream = await Stream.open(served, session)
        assert await stream.ended_by_server()
        return stream

    stream = as_browsers(scenario())

    assert stream.body.endswith(f"event: ended\ndata: {why}\n\n")
    assert "event: live" not in stream.text


def test_signing_out_ends_that_session_s_streams_at_once(served, make_user, settings):
    settings.LIVE_RECHECK_SECONDS = 3600  # the sign-out itself ends it, not a later check
    user = make_user("manager")
    leaving, staying = Client(), Client()
    leaving.force_login(user)
    staying.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME

    async def scenario() -> tuple[Stream, Stream]:
        first = await Stream.open(served, leaving.cookies[name].value)
        second = await Stream.open(served, staying.cookies[name].value)
        await off_the_loop(leaving.post, "/accounts/logout/")
        await first.ended_by_server()
        await second.until(": keep-alive")
        return first, second

    first, second = as_browsers(scenario())

    assert first.body.endswith("event: ended\ndata: signed-out\n\n")
    assert "event: ended" not in second.text


@pytest.mark.parametrize("change", ["no longer a member who may view", "password changed elsewhere"])
def test_a_stream_ends_when_its_user_may_no_longer_hold_it(served, make_user, settings, change):
    settings.LIVE_RECHECK_SECONDS = 0.5
    user = make_user("agent")
    client = Client()
    client.force_login(user)
    why = "forbidden" if change.startswith("no longer") else "signed-out"

    async def scenario() -> Stream:
        stream = await Stream.open(served, client.cookies[django_settings.SESSION_COOKIE_NAME].value)
        if why == "forbidden":
            user.email = "left-the-team@example.com"
        else:
            user.set_password("another-horse-battery-7")
        await off_the_loop(user.save)
        assert await stream.ended_by_server()
        return stream

    stream = as_browsers(scenario())

    assert stream.body.endswith(f"event: ended\ndata: {why}\n\n")


def test_a_stream_says_whether_live_updates_flow_and_passes_changes_on(served, session_of, wapikit):
    now = time.time()
    state.store(state.StreamState(state=state.CONNECTED, since=now, reported_at=now))
    session = session_of("manager")

    async def scenario() -> str:
        stream = await Stream.open(served, session)
        bus.publish({"conversation": "c0ffee00-0000-4000-8000-000000000001", "why": "message"})
        return await stream.until("c0ffee00")

    text = as_browsers(scenario())

    assert "event: live\ndata: 1\n\n" in text
    assert 'event: changed\ndata: {"id": "c0ffee00-0000-4000-8000-000000000001", "why": "message"}' in text


def test_the_stream_refuses_other_methods_and_hosts(served):
    import requests

    assert requests.post(f"http://127.0.0.1:{served}/live/stream/", timeout=5).status_code == 405
    forged = requests.get(f"http://127.0.0.1:{served}/live/stream/", headers={"Host": "evil.example"}, timeout=5)
    assert forged.status_code == 400


def test_while_wapikit_cannot_say_who_may_the_last_member_list_it_gave_decides(served, session_of, wapikit, settings):
    settings.WAPIKIT_MEMBERS_CACHE_SECONDS = 1
    session = session_of("manager")

    async def first_frames() -> str:
        stream = await Stream.open(served, session)
        await stream.until("\n\n")
        stream.vanish()
        return stream.body

    wapikit.control(fault="status_500", fault_path="/organization/members")
    never_read = as_browsers(first_frames())
    wapikit.control(reset=True)
    read_once = as_browsers(first_frames())
    time.sleep(1.2)  # that read's lifetime is over; its last copy remains
    wapikit.control(fault="status_500", fault_path="/organization/members")
    since_down = as_browsers(first_frames())

    assert never_read == "retry: 30000\nevent: ended\ndata: unavailable\n\n"
    assert read_once.startswith("retry: 2000\nevent: live\n")
    assert since_down.startswith("retry: 2000\nevent: live\n")
