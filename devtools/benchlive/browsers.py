"""The browsers `make bench-live` drives: simulated ones (an inbox that polls and holds the live
stream as static/js/app.js does, and bare stream clients), the spread of what they timed, and
what a real Chromium tab is watched for.

The simulated browsers speak HTTP/1.1 over asyncio's own sockets, so hundreds of them cost one
thread here, as hundreds of streams should cost the dashboard none."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Simulated browsers


async def http_get(port: int, path: str, cookie: str, *, timeout: float = 30) -> tuple[int, str]:
    """One GET on its own connection; the status and the body."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                      "HX-Request: true\r\nConnection: close\r\n\r\n").encode())
        raw = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return status, body.decode(errors="replace")


def _dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)


class StreamClient:
    """A browser's `GET /live/stream/`: frames read as they come, each `changed` noted with the
    Unix time it arrived."""

    def __init__(self, port: int, cookie: str, on_changed: Callable[[str], None] | None = None,
                 on_live: Callable[[bool], None] | None = None) -> None:
        self.port, self.cookie = port, cookie
        self.on_changed, self.on_live = on_changed, on_live
        self.live: bool | None = None
        self.opened = asyncio.Event()
        self.changed: list[tuple[float, str]] = []
        self.error: str = ""
        self._writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        try:
            reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
            self._writer.write((f"GET /live/stream/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                                f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                self.error = head.split(b"\r\n", 1)[0].decode()
                self.opened.set()
                return
            chunked = b"transfer-encoding: chunked" in head.lower()
            buffer = ""
            while True:
                if chunked:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        return
                    data = (await reader.readexactly(size + 2))[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                buffer += data.decode()
                while "\n\n" in buffer:
                    frame, buffer = buffer.split("\n\n", 1)
                    self._frame(frame)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.error = self.error or type(exc).__name__
        finally:
            self.opened.set()
            self.close()

    def _frame(self, frame: str) -> None:
        event = data = ""
        for line in frame.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
        if event == "live":
            self.live = data == "1"
            self.opened.set()
            if self.on_live:
                self.on_live(self.live)
        elif event == "changed":
            conversation = json.loads(data)["id"]
            self.changed.append((time.time(), conversation))
            if self.on_changed:
                self.on_changed(conversation)

    def arrived(self, conversation_id: str, after: float) -> float | None:
        return next((t for t, c in self.changed if c == conversation_id and t >= after), None)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def vanish(self) -> None:
        """Gone without a goodbye: the socket reset, as when a laptop lid shuts mid-stream."""
        if self._writer is not None:
            self._writer.transport.abort()


CARD = re.compile(r'id="c-([0-9a-f-]{36})" data-v="([^"]*)"')


@dataclass
class SimulatedInbox:
    """An open inbox tab as static/js/app.js drives it: the page, its tabs, then (with `stream`)
    the live stream, asking `/inbox/changes/` on every `changed` (bursts within 100 ms asked for
    once) and every `live_poll` seconds while live, every `poll` seconds otherwise. The page is
    taken to have been opened at a random earlier moment: its first poll comes after a random
    part of the interval."""

    port: int
    cookie: str
    query: str
    poll: float
    live_poll: float
    stream: bool
    rng: random.Random
    versions: dict[str, str] = field(default_factory=dict)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    requests: int = 0
    failed: int = 0
    _live: bool = False
    _rescheduled: asyncio.Event = field(default_factory=asyncio.Event)
    _push: asyncio.Task | None = None
    _client: StreamClient | None = None

    async def run(self) -> None:
        status, page = await self._get("/" + (f"?{self.query}" if self.query else ""))
        self.versions = dict(CARD.findall(page))
        refresh = re.search(r'data-refresh-url="([^"]*)"', page)
        self.refresh = html.unescape(refresh.group(1)) if refresh else f"/inbox/changes/?{self.query}"
        tabs = re.search(r'<span hx-get="([^"]*inbox/tabs/[^"]*)"', page)
        if tabs:
            await self._get(html.unescape(tabs.group(1)))
        tasks = []
        if self.stream:
            self._client = StreamClient(self.port, self.cookie, on_changed=self._changed, on_live=self._set_live)
            tasks.append(asyncio.create_task(self._client.run()))
            await asyncio.wait_for(self._client.opened.wait(), 30)
        self.loaded.set()
        try:
            first = True
            while True:
                interval = self.live_poll if self._live else self.poll
                self._rescheduled.clear()
                try:
                    await asyncio.wait_for(self._rescheduled.wait(), self.rng.uniform(0, interval) if first else interval)
                    first = False
                    continue  # live changed: the page set a new interval
                except TimeoutError:
                    first = False
                await self.ask_changes()
        finally:
            if self._client:
                self._client.close()
            for task in tasks:
                task.cancel()

    def _set_live(self, flowing: bool) -> None:
        if flowing != self._live:
            self._live = flowing
            self._rescheduled.set()

    def _changed(self, conversation_id: str) -> None:
        if self._push is None or self._push.done():
            self._push = asyncio.get_running_loop().create_task(self._after_push())

    async def _after_push(self) -> None:
        await asyncio.sleep(0.1)
        await self.ask_changes()

    async def ask_changes(self) -> None:
        versions = ",".join(f"{c}:{v}" for c, v in self.versions.items())
        status, body = await self._get(f"{self.refresh}&v={versions}&busy=")
        if status == 200:
            self.versions.update(CARD.findall(body))
            for gone in re.findall(r'innerHTML:#c-([0-9a-f-]{36}) \.alert', body):
                self.versions.pop(gone, None)

    async def _get(self, path: str) -> tuple[int, str]:
        self.requests += 1
        try:
            status, body = await http_get(self.port, path, self.cookie)
        except (OSError, TimeoutError, ValueError, IndexError):
            self.failed += 1
            return 0, ""
        if status >= 400:
            self.failed += 1
        return status, body


async def open_streams(port: int, cookie: str, count: int, *, at_once: int = 50) -> tuple[list[StreamClient], list[asyncio.Task]]:
    """`count` stream clients, each past its first `live` frame."""
    clients = [StreamClient(port, cookie) for _ in range(count)]
    tasks: list[asyncio.Task] = []
    for start in range(0, count, at_once):
        batch = clients[start:start + at_once]
        tasks += [asyncio.create_task(c.run()) for c in batch]
        await asyncio.wait_for(asyncio.gather(*(c.opened.wait() for c in batch)), 60)
    failed = [c.error for c in clients if c.error or c.live is None]
    if failed:
        raise RuntimeError(f"{len(failed)} of {count} streams did not open: {failed[0]}")
    return clients, tasks


async def close_streams(clients: list[StreamClient], tasks: list[asyncio.Task]) -> None:
    for client in clients:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def spread_ms(values: list[float]) -> str:
    return (f"p50 {statistics.median(values) * 1000:.0f} ms · p95 {percentile(values, 0.95) * 1000:.0f} ms"
            f" · max {max(values) * 1000:.0f} ms")


# Chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
CARD_SHOWS = """(want) => new Promise((resolve) => {
  const shows = () => { const c = document.getElementById("c-" + want.id); return c && c.textContent.includes(want.text); };
  if (shows()) return resolve(Date.now());
  const seen = new MutationObserver(() => { if (shows()) { seen.disconnect(); resolve(Date.now()); } });
  seen.observe(document.body, { subtree: true, childList: true, characterData: true });
})"""
