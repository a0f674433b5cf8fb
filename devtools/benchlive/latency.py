"""`make bench-live`'s latency rows: from WapiKit publishing a NewMessage to its text on the open
cards of real Chromium tabs, with hundreds of bare stream clients connected, and to those
clients' `changed` frames."""

from __future__ import annotations

import asyncio
import secrets
import time

from django.conf import settings
from django.core.management.base import CommandError
from playwright.async_api import async_playwright

from devtools.benchlive import browsers, deployment
from devtools.benchlive.deployment import Served
from devtools.benchmarks import benchkit

LATENCY_TARGET_S = 2.0


async def event_latency(
    api: benchkit.SandboxApi, served: Served, cookie: str, options: dict, deployed: str
) -> list[tuple[str, str]]:
    """Event to card in `--tabs` Chromium tabs and event to `changed` frame in `--clients` bare
    stream clients, over `--events` timed NewMessage events after one untimed."""
    tabs, events = options["tabs"], options["events"]
    clients, tasks = await browsers.open_streams(served.port, cookie, options["clients"])
    try:
        async with async_playwright() as playwright:
            pages = []
            if tabs:
                browser = await playwright.chromium.launch(executable_path=str(browsers.CHROMIUM),
                                                           args=browsers.CHROMIUM_ARGS, headless=True)
                session_key = cookie.split("=", 1)[1]
                for _ in range(tabs):
                    context = await browser.new_context()
                    await context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key,
                                                "url": served.url}])
                    page = await context.new_page()
                    await page.goto(f"{served.url}/")
                    await page.wait_for_selector("#cards .card")
                    # Open once its stream is: a tab still connecting would only poll.
                    await page.wait_for_selector('body[data-live="1"]', timeout=30_000)
                    pages.append(page)
                ids = await pages[0].eval_on_selector_all("#cards .card", "cards => cards.slice(0, 5).map(c => c.id.slice(2))")
            else:
                ids = [c["uniqueId"] for c in api.conversations("Active")[:5]]
            # One untimed event: the whole path works before anything is timed.
            await one_event(api, pages, clients, ids[0], f"warm-up {secrets.token_hex(3)}", timeout=15)
            card_times: list[float] = []
            frame_times: list[float] = []
            missed_cards = missed_frames = 0
            for k in range(events):
                shown, framed, misses = await one_event(
                    api, pages, clients, ids[k % len(ids)], f"live {k} {secrets.token_hex(3)}", timeout=10
                )
                card_times += shown
                frame_times += framed
                missed_cards += len(pages) - len(shown)
                missed_frames += misses
                await asyncio.sleep(0.2)
    finally:
        await browsers.close_streams(clients, tasks)
    rows = []
    label = f"event to card latency, POST /_sandbox/events to the text on the card ({deployed})"
    if card_times:
        p95 = browsers.percentile(card_times, 0.95)
        rows.append((
            label,
            f"{browsers.spread_ms(card_times)} · {tabs} Chromium tabs × {events} events, {missed_cards} missed,"
            f" {len(clients)} stream clients open, target p95 ≤ {LATENCY_TARGET_S:.0f} s"
            f"{benchkit.met(p95 <= LATENCY_TARGET_S and missed_cards == 0)}",
        ))
    else:
        rows.append((label, "left out: no tabs (--tabs 0)"))
    rows.append((
        f"event to `changed` frame, {len(clients)} stream clients",
        f"{browsers.spread_ms(frame_times)} · {len(frame_times)} frames, {missed_frames} missed",
    ))
    return rows


async def one_event(api, pages, clients, conversation_id: str, text: str, *, timeout: float):
    """Publish one NewMessage; the seconds until each tab's card showed its text, until each
    stream client's `changed` frame, and the clients that never got it."""
    watches = [asyncio.create_task(page.evaluate(browsers.CARD_SHOWS, {"id": conversation_id, "text": text}))
               for page in pages]
    await asyncio.sleep(0.05)
    t0 = await asyncio.to_thread(deployment.publish_message, api, conversation_id, text)
    done, pending = await asyncio.wait(watches, timeout=timeout) if watches else (set(), set())
    for task in pending:
        task.cancel()
    if timeout > 10 and pending:
        raise CommandError(
            f"a pushed NewMessage did not reach the open card #c-{conversation_id} within {timeout:.0f} s"
            f" in {len(pending)} of {len(pages)} tabs"
        )
    shown = [task.result() / 1000 - t0 for task in done if not task.exception()]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(c.arrived(conversation_id, t0) is None for c in clients):
        await asyncio.sleep(0.02)
    arrivals = [c.arrived(conversation_id, t0) for c in clients]
    framed = [t - t0 for t in arrivals if t is not None]
    return shown, framed, len(arrivals) - len(framed)
